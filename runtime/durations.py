"""Durations as people type them: 90s, 10m, 1h, 2h30m, 1d (a bare number is seconds)."""

from __future__ import annotations

import re

from .errors import UsageError

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def parse_duration(text: str, what: str = "duration") -> float:
    text = text.strip().lower()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if value < 0:
            raise UsageError(f"{what}: {text!r} is negative")
        return value
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"{what}: {text!r} is not a duration (examples: 90s, 10m, 1h, 2h30m, 1d)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
