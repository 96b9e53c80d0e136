"""Live state: the latest of everything, the one read model every front end uses.

REST, Modbus, PROFIBUS, OPC UA and the web UI all read here, so they can never disagree.
Writers are the pipeline tasks; readers may be on the loop or in other threads, so every
access takes a short lock and readers get copies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from .readings import Reading

SensorState = Literal["starting", "ok", "fault", "stale", "offline"]
ALL_AXES = "all"


@dataclass
class SensorStatus:
    sensor_id: str
    device_id: str | None
    kind: str
    chip: str
    state: SensorState = "starting"
    last_error: str | None = None
    last_data_ts: float | None = None
    blocks: int = 0
    samples: int = 0
    overflows: int = 0
    faults: int = 0
    recoveries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SpectrumSnapshot:
    sensor_id: str
    axis: str
    kind: Literal["spectrum", "envelope"]
    ts: float
    bin_width_hz: float
    amplitudes: np.ndarray  # float32, peak m/s² per bin from 0 Hz
    peaks: tuple[tuple[float, float], ...]  # (frequency Hz, amplitude)


@dataclass
class LiveState:
    readings: dict[tuple[str, str, str | None], Reading] = field(default_factory=dict)
    spectra: dict[tuple[str, str, str], SpectrumSnapshot] = field(default_factory=dict)
    sensors: dict[str, SensorStatus] = field(default_factory=dict)
    version: int = 0  # bumped on every update, for cheap change detection
    readings_version: int = 0  # bumped when readings are published (responses cache on it)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def register_sensor(self, status: SensorStatus) -> None:
        with self._lock:
            self.sensors[status.sensor_id] = status

    def update_sensor(self, sensor_id: str, **changes: Any) -> None:
        with self._lock:
            status = self.sensors[sensor_id]
            for key, value in changes.items():
                setattr(status, key, value)
            self.version += 1

    def publish(self, readings: list[Reading]) -> None:
        with self._lock:
            for r in readings:
                self.readings[(r.sensor_id, r.metric, r.axis)] = r
            self.version += 1
            self.readings_version += 1

    def publish_spectrum(self, snapshot: SpectrumSnapshot) -> None:
        with self._lock:
            self.spectra[(snapshot.sensor_id, snapshot.axis, snapshot.kind)] = snapshot
            self.version += 1

    def latest(
        self,
        sensor_id: str | None = None,
        device_id: str | None = None,
        metric: str | None = None,
        axis: str | None = None,
    ) -> list[Reading]:
        """Latest readings, filtered. axis None: overall values only; "all": every axis;
        "x"/"y"/"z": that axis only."""
        with self._lock:
            rows = list(self.readings.values())
        return [
            r
            for r in rows
            if (sensor_id is None or r.sensor_id == sensor_id)
            and (device_id is None or r.device_id == device_id)
            and (metric is None or r.metric == metric)
            and (axis == ALL_AXES or r.axis == axis)
        ]

    def value(self, sensor_id: str, metric: str, axis: str | None = None) -> Reading | None:
        with self._lock:
            return self.readings.get((sensor_id, metric, axis))

    def spectrum(
        self, sensor_id: str, axis: str, kind: str = "spectrum"
    ) -> SpectrumSnapshot | None:
        with self._lock:
            return self.spectra.get((sensor_id, axis, kind))

    def sensor_status(self, sensor_id: str) -> SensorStatus | None:
        with self._lock:
            status = self.sensors.get(sensor_id)
            return replace(status) if status else None

    def sensor_statuses(self) -> list[SensorStatus]:
        with self._lock:
            return [replace(s) for s in self.sensors.values()]
