"""Acquisition: drive one chip, drain what it has, decode it in bulk and feed the stages.

A chip can carry several sensors (the four channels of an ADC), so an acquisition unit has one
sink per sensor, each taking its columns of the decoded block. Sensor faults are counted,
logged as events and shown in the live state; the unit keeps retrying the chip (it may have
been unplugged) and the other chips carry on regardless.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from drivers.hal import RawBlock, SensorError

from ..live import LiveState, SensorStatus

EventLogger = Callable[..., None]  # (kind, message, sensor_id=..., device_id=..., data=...)


class ChipDriver(Protocol):
    chip: str
    odr_hz: float
    poll_interval: float

    def start(self) -> None: ...

    def read_block(self) -> RawBlock | None: ...

    def stop(self) -> None: ...


@dataclass
class Sink:
    """One sensor fed by a chip: its columns of the decoded samples and where they go."""

    sensor_id: str
    device_id: str | None
    columns: Sequence[int]
    write: Callable[[np.ndarray, float, float], None]  # (samples (n, c), t_first, rate)


class AcquisitionUnit:
    def __init__(
        self,
        name: str,
        driver: ChipDriver,
        decode: Callable[[RawBlock], np.ndarray],
        sinks: list[Sink],
        live: LiveState,
        log_event: EventLogger,
        now: Callable[[], float],
        retry_interval_s: float = 5.0,
        stale_after_s: float = 5.0,
    ) -> None:
        self.name = name
        self.driver = driver
        self.decode = decode
        self.sinks = sinks
        self.live = live
        self.log_event = log_event
        self.now = now
        self.retry_interval = retry_interval_s
        self.stale_after = stale_after_s
        self.started = False
        self.faulted = False
        self._next_retry = -float("inf")
        self._last_data: float | None = None
        self._stale_reported = False
        self._status_cache: list[SensorStatus] | None = None

    def start(self) -> bool:
        """Bring the chip up (identity, reset, configuration, self-test); False on a fault,
        which is logged and retried by later polls."""
        now = self.now()
        try:
            self.driver.start()
        except SensorError as exc:
            self._fault(exc, now)
            return False
        self.started = True
        self._last_data = now
        if self.faulted:
            self.faulted = False
            self._set(state="ok", last_error=None)
            self._count(recoveries=1)
            self._event("sensor_recovered", f"{self.name}: answering again")
        else:
            self._set(state="ok")
        return True

    def discard_backlog(self) -> None:
        """Empty the chip's buffer once every chip is up: what piled up while the others were
        being brought up is not data anyone waits for, and its overflow flag is not a fault of
        acquisition (the first real drain follows at once)."""
        if self.started:
            with contextlib.suppress(SensorError):
                self.driver.read_block()

    def poll(self) -> None:
        """One scheduler run: restart the chip if it is down (every retry interval), then
        drain it."""
        now = self.now()
        if not self.started and (now < self._next_retry or not self.start()):
            return
        try:
            block = self.driver.read_block()
        except SensorError as exc:
            self._fault(exc, now)
            return
        if block is None or block.count == 0:
            silent = self._last_data is not None and now - self._last_data > self.stale_after
            if silent and not self._stale_reported:
                self._stale_reported = True
                self._set(state="stale", last_error="no data from the chip")
                self._event("sensor_stale", f"{self.name}: no data for {self.stale_after:g} s")
            return
        samples = self.decode(block)
        self._last_data = now
        if self._stale_reported:
            self._stale_reported = False
            self._set(state="ok", last_error=None)
        for sink in self.sinks:
            columns = samples[:, sink.columns] if samples.shape[1] != len(sink.columns) else samples
            sink.write(columns, block.timestamp, block.odr_hz)
        for status in self._statuses():
            status.blocks += 1
            status.samples += samples.shape[0]
            status.last_data_ts = block.timestamp
        if block.overflow:
            self._count(overflows=1)
            self._event("fifo_overflow", f"{self.name}: FIFO overflowed, samples were lost")

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(SensorError):
                self.driver.stop()
            self.started = False

    def _fault(self, exc: SensorError, now: float) -> None:
        first = not self.faulted
        self.faulted = True
        self.started = False
        self._next_retry = now + self.retry_interval
        if first:  # one event per fault, not one per retry
            self._set(state="fault", last_error=str(exc))
            self._count(faults=1)
            self._event("sensor_fault", str(exc), error=type(exc).__name__)

    def _set(self, **values: object) -> None:
        for sink in self.sinks:
            if sink.sensor_id in self.live.sensors:
                self.live.update_sensor(sink.sensor_id, **values)

    def _count(self, **increments: int) -> None:
        # Runs on every drain: plain attribute updates on the status objects, no lock (the
        # counters are ints a reader may see one drain late, never torn).
        for status in self._statuses():
            for key, n in increments.items():
                setattr(status, key, getattr(status, key) + n)

    def _statuses(self) -> list[SensorStatus]:
        if self._status_cache is None:
            found = [self.live.sensors.get(sink.sensor_id) for sink in self.sinks]
            self._status_cache = [s for s in found if s is not None]
        return self._status_cache

    def _event(self, kind: str, message: str, **data: object) -> None:
        for sink in self.sinks:
            self.log_event(
                kind, message, sensor_id=sink.sensor_id, device_id=sink.device_id, data=data or None
            )
