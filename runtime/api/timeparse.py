"""Times as integrators really send them, for the history API and `esocore export` alike.

Accepted: ISO 8601 with ``Z`` or an offset (``2026-03-01T12:00:00Z``,
``2026-03-01T13:00:00+01:00``, ``+0100``); naive times, which mean the device's configured time
zone (``datetime.now().isoformat()`` on a machine set to plant time, microseconds and all); a
space instead of the ``T``; a bare date (midnight in the device's time zone); the basic form
(``20260301T120000Z``). An offset whose ``+`` arrived as a space (an unencoded query string:
``...12:00:00 01:00``) is read as the ``+`` it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..readings import iso_utc

DEFAULT_SPAN_S = 24 * 3600.0  # start_time left out: this long before end_time
EXAMPLES = (
    "2026-03-01T12:00:00Z, 2026-03-01T13:00:00+01:00, "
    "2026-03-01 12:00:00 (device time zone), 2026-03-01"
)

# "<date>T<time> HH:MM" at the end: a "+HH:MM" offset whose "+" became a space.
_LOST_PLUS = re.compile(r"^(.*\d[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?) (\d{2}(?::?\d{2})?)$")


class TimeParseError(ValueError):
    """A time or time range a user gave that cannot be used; the message says why."""


def zone(name: str | None) -> tzinfo:
    """The IANA zone ``name``; UTC for None or an empty name."""
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeParseError(f"unknown time zone {name!r}") from None


def parse_time(text: str, tz: tzinfo = UTC, name: str = "time") -> float:
    """UTC epoch seconds of ``text``; naive times and bare dates are in ``tz``."""
    cleaned = text.strip()
    repaired = _LOST_PLUS.match(cleaned)
    if repaired:
        cleaned = f"{repaired.group(1)}+{repaired.group(2)}"
    if cleaned.endswith("z"):
        cleaned = cleaned[:-1] + "Z"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise TimeParseError(
            f"{name}: {text!r} is not an ISO 8601 time (examples: {EXAMPLES})"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    try:
        return value.timestamp()
    except (OverflowError, ValueError):  # pragma: no cover - year 1 or 9999 with an offset
        raise TimeParseError(f"{name}: {text!r} is out of range") from None


@dataclass(frozen=True)
class TimeRange:
    """[start, end) in UTC epoch seconds."""

    start: float
    end: float


def parse_range(
    start: str | None,
    end: str | None,
    tz: tzinfo,
    now: float,
    names: tuple[str, str] = ("start_time", "end_time"),
) -> TimeRange:
    """The range the user asked for: end defaults to now, start to 24 h before end."""
    end_ts = now if end is None else parse_time(end, tz, names[1])
    start_ts = end_ts - DEFAULT_SPAN_S if start is None else parse_time(start, tz, names[0])
    if start_ts > end_ts:
        raise TimeParseError(
            f"{names[0]} ({iso_utc(start_ts)}) is after {names[1]} ({iso_utc(end_ts)}); "
            "swap them or widen the range"
        )
    return TimeRange(start_ts, end_ts)


def compact(ts: float) -> str:
    """A time for file names: 20260301T120000Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")
