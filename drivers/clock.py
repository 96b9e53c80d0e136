"""Clocks: real time on a device, virtual time in simulation.

Both satisfy `drivers.hal.Clock`. Nothing else in the product reads the time of day for
sampling, so swapping the clock is all it takes to run an hour of machine life in seconds.
"""

from __future__ import annotations

import math
import time


class RealClock:
    """Monotonic seconds (`time.monotonic`): never jumps when the wall clock is set."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` (used by real-hardware drivers for datasheet settling times)."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that moves only when told to: deterministic simulation and tests without sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = _check_time(start, "start")

    def now(self) -> float:
        return self._t

    def advance(self, dt: float) -> float:
        """Move time forward by `dt` seconds (>= 0) and return the new time."""
        if not isinstance(dt, int | float) or math.isnan(dt) or dt < 0 or math.isinf(dt):
            raise ValueError(f"dt: must be a finite number of seconds >= 0, got {dt!r}")
        self._t += float(dt)
        return self._t

    def set(self, t: float) -> None:
        """Jump to time `t`; time never runs backwards, so `t` must be >= now()."""
        t = _check_time(t, "t")
        if t < self._t:
            raise ValueError(f"t: {t!r} is before now ({self._t!r}); virtual time only moves on")
        self._t = t

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._t!r})"


def _check_time(value: float, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number of seconds, got {value!r}")
    return float(value)
