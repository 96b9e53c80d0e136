"""Figures of slowly sampled sensors: temperature (mean over the interval) and current (RMS)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..readings import Reading
from .ring import RingBuffer


class _SingleInputStage:
    """One input, one metric, one reading per update interval."""

    def __init__(
        self,
        sensor_id: str,
        device_id: str,
        metric: str,
        unit: str,
        interval_s: float,
        to_utc: Callable[[float], float],
        capacity: int,
    ) -> None:
        self.sensor_id, self.device_id, self.metric, self.unit = sensor_id, device_id, metric, unit
        self.interval = interval_s
        self.to_utc = to_utc
        self.ring = RingBuffer(1, capacity)
        self._seen = 0

    def metric_units(self) -> dict[str, str]:
        return {self.metric: self.unit}

    def _reading(self, value: float, last_sample_time: float) -> list[Reading]:
        ts = self.to_utc(last_sample_time)
        return [Reading(self.device_id, self.sensor_id, self.metric, None, value, self.unit, ts)]


class LevelStage(_SingleInputStage):
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
        capacity = max(16, int(rate_hz * interval_s * 4) + 16)
        super().__init__(sensor_id, device_id, metric, unit, interval_s, to_utc, capacity)

    def analyse(self) -> list[Reading]:
        ring = self.ring
        with ring.lock:
            new = min(ring.total_written - self._seen, ring.capacity)
            last = ring.last_sample_time
            if new <= 0 or last is None:
                return []
            self._seen = ring.total_written
            value = float(ring.latest(new).mean())
        return self._reading(value, last)


class RmsStage(_SingleInputStage):
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
        self.window = max(16, int(rate_hz * window_s))
        capacity = self.window + int(rate_hz * interval_s) + 16
        super().__init__(sensor_id, device_id, metric, unit, interval_s, to_utc, capacity)

    def analyse(self) -> list[Reading]:
        ring = self.ring
        with ring.lock:
            available = min(ring.total_written, ring.capacity)
            last = ring.last_sample_time
            if ring.total_written == self._seen or available < 16 or last is None:
                return []
            self._seen = ring.total_written
            x = ring.latest(min(self.window, available))[0].astype(np.float64)
        return self._reading(float(np.sqrt(np.mean((x - x.mean()) ** 2))), last)
