"""Figures of slowly sampled sensors: temperature (mean over the interval) and current (RMS)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..readings import Reading
from .ring import RingBuffer


class LevelStage:
    """Mean of the samples that arrived since the last update (temperature, 4-20 mA levels)."""

    def __init__(
        self,
        sensor_id: str,
        device_id: str,
        metric: str,
        unit: str,
        rate_hz: float,
        interval_s: float,
        to_utc: Callable[[float], float],
    ) -> None:
        self.sensor_id, self.device_id, self.metric, self.unit = sensor_id, device_id, metric, unit
        self.interval = interval_s
        self.to_utc = to_utc
        self.ring = RingBuffer(1, max(16, int(rate_hz * interval_s * 4) + 16))
        self._seen = 0

    def metric_units(self) -> dict[str, str]:
        return {self.metric: self.unit}

    def analyse(self) -> list[Reading]:
        new = min(self.ring.total_written - self._seen, self.ring.capacity)
        if new <= 0 or self.ring.last_sample_time is None:
            return []
        self._seen = self.ring.total_written
        value = float(self.ring.latest(new).mean())
        ts = self.to_utc(self.ring.last_sample_time)
        return [Reading(self.device_id, self.sensor_id, self.metric, None, value, self.unit, ts)]


class RmsStage:
    """True RMS (offset removed) of an AC signal over the last `window_s` (motor current)."""

    def __init__(
        self,
        sensor_id: str,
        device_id: str,
        metric: str,
        unit: str,
        rate_hz: float,
        interval_s: float,
        to_utc: Callable[[float], float],
        window_s: float = 1.0,
    ) -> None:
        self.sensor_id, self.device_id, self.metric, self.unit = sensor_id, device_id, metric, unit
        self.interval = interval_s
        self.to_utc = to_utc
        self.window = max(16, int(rate_hz * window_s))
        self.ring = RingBuffer(1, self.window + int(rate_hz * interval_s) + 16)
        self._seen = 0

    def metric_units(self) -> dict[str, str]:
        return {self.metric: self.unit}

    def analyse(self) -> list[Reading]:
        available = min(self.ring.total_written, self.ring.capacity)
        if self.ring.total_written == self._seen or available < 16:
            return []
        if self.ring.last_sample_time is None:
            return []
        self._seen = self.ring.total_written
        x = self.ring.latest(min(self.window, available))[0].astype(np.float64)
        value = float(np.sqrt(np.mean((x - x.mean()) ** 2)))
        ts = self.to_utc(self.ring.last_sample_time)
        return [Reading(self.device_id, self.sensor_id, self.metric, None, value, self.unit, ts)]
