"""The API's timestamps (ISO 8601 UTC with a Z) to and from epoch seconds, for the tests."""

from __future__ import annotations

from datetime import UTC, datetime


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def iso(epoch_s: float) -> str:
    """Milliseconds, as the device writes them."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
