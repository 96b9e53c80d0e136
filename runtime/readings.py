"""The unit of data that flows from analysis to every consumer (live state, store, alerts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """One figure of one sensor at one time.

    axis is "x", "y" or "z" for a per-axis value and None for the overall value of the metric
    (for vibration_rms: the largest radial axis, ISO 20816 practice).
    """

    device_id: str  # the monitored machine (e.g. "motor-1")
    sensor_id: str  # e.g. "motor-1-accel"
    metric: str  # stable snake_case name, e.g. "vibration_rms"
    axis: str | None
    value: float
    unit: str  # e.g. "mm/s", "°C", "A"
    ts: float  # UTC, seconds since the epoch

    @property
    def timestamp(self) -> str:
        """ISO 8601 UTC with a Z, as on the wire."""
        return iso_utc(self.ts)


def iso_utc(ts: float) -> str:
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
