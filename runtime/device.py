"""The device: wires chips, stages, scheduler, live state and store together.

Nothing here knows whether the hardware is real: the board layer hands over chip bindings
(a driver, its decoder and the sensors it carries) and the device runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from drivers.hal import Clock, RawBlock

from .catalog import Catalog, MachineEntry, SensorEntry
from .config import DeviceConfig, MachineConfig, SensorMount
from .live import LiveState, SensorStatus
from .pipeline.acquisition import AcquisitionUnit, ChipDriver, Sink
from .pipeline.slow import LevelStage, RmsStage
from .pipeline.vibration import Frame, VibrationStage
from .readings import Reading
from .scheduler import LOOP_LANE, LaneThread, Scheduler

log = logging.getLogger("esocore.device")

ACQUIRE_PRIORITY = 10  # draining FIFOs comes first: late drains lose samples
ANALYSE_PRIORITY = 5
HOUSEKEEPING_PRIORITY = 0
# FIFO drains run in their own lane: in real time `esocore run` gives it a thread of its own
# (Device.start_acquisition_thread), in virtual time it runs with the rest, deterministically.
ACQUIRE_LANE = "acquire"


LOOP_LANES = frozenset({LOOP_LANE})


class SensorMeta(Protocol):
    """What the device needs to know of a board sensor (board.SensorInfo satisfies it)."""

    id: str
    kind: str  # "accel" | "temperature" | "current" | "voltage"
    channels: tuple[str, ...]  # names of its columns ("x", "y", "z" or one channel)
    columns: tuple[int, ...]  # its columns in the chip's decoded samples
    mounting: dict[str, str]
    rate_hz: float
    unit: str


class ChipBinding(Protocol):
    """A chip, its bulk decoder and the sensors it carries (board.BoardChip satisfies it)."""

    name: str
    driver: ChipDriver
    decode: Callable[[RawBlock], np.ndarray]
    sensors: list[SensorMeta]


class StoreLike(Protocol):
    def add_readings(self, readings: list[Reading]) -> None: ...

    def add_spectrum(self, *args: Any, **kwargs: Any) -> None: ...

    def log_event(self, *args: Any, **kwargs: Any) -> None: ...

    def apply_retention(self, now: float) -> None: ...


class BindingError(ValueError):
    """The config mounts sensors the board does not have (every problem listed)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("config does not fit the board:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class AnalysisTask:
    sensor_id: str
    stage: VibrationStage | LevelStage | RmsStage
    snapshot_interval: float | None = None
    last_snapshot: float = -float("inf")
    busy: bool = False  # a frame of this sensor is being analysed in the worker thread


class Device:
    def __init__(
        self,
        config: DeviceConfig,
        chips: list[ChipBinding],
        clock: Clock,
        store: StoreLike,
        to_utc: Callable[[float], float],
    ) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.to_utc = to_utc
        self.live = LiveState()
        self.scheduler = Scheduler(clock, on_error=self._task_failed, on_watchdog=self._task_hung)
        self.units: list[AcquisitionUnit] = []
        self.analyses: list[AnalysisTask] = []
        self._executor: Executor | None = None
        # Called with every batch of readings published (the alert monitor); on the loop.
        self.reading_observers: list[Callable[[list[Reading]], None]] = []
        self._sensor_entries: list[SensorEntry] = []
        self._bind(chips)
        self.catalog = self._catalog()
        self.scheduler.add(
            "store:retention",
            config.store.retention_check_interval_s,
            lambda: store.apply_retention(self.utc_now()),
            priority=HOUSEKEEPING_PRIORITY,
        )

    def utc_now(self) -> float:
        return self.to_utc(self.clock.now())

    def log_event(
        self,
        kind: str,
        message: str,
        sensor_id: str | None = None,
        device_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        log.info("%s: %s", kind, message)
        self.store.log_event(
            kind, self.utc_now(), message, device_id=device_id, sensor_id=sensor_id, data=data
        )

    def _bind(self, chips: list[ChipBinding]) -> None:
        mounts = {
            mount.sensor: (machine, mount, f"machines[{i}].sensors[{j}]")
            for i, machine in enumerate(self.config.machines)
            for j, mount in enumerate(machine.sensors)
        }
        on_board = {s.id: s for chip in chips for s in chip.sensors}
        problems = [
            f"{path}.sensor: no sensor {sid!r} on this board (it has {', '.join(sorted(on_board))})"
            for sid, (_, _, path) in mounts.items()
            if sid not in on_board
        ]
        for sid, (_, mount, path) in mounts.items():
            sensor = on_board.get(sid)
            if sensor is None:
                continue
            for axis in mount.mounting:
                if axis not in sensor.channels:
                    problems.append(
                        f"{path}.mounting.{axis}: sensor {sid!r} has no axis {axis!r} "
                        f"(it has {', '.join(sensor.channels)})"
                    )
        if problems:
            raise BindingError(problems)

        stagger = 0
        for chip in chips:
            sinks: list[Sink] = []
            for sensor in chip.sensors:
                if sensor.id not in mounts:
                    continue  # on the board but not monitored by this config
                machine, mount, _ = mounts[sensor.id]
                task = self._stage_for(sensor, machine, mount)
                self._sensor_entries.append(
                    SensorEntry(
                        id=sensor.id,
                        name=mount.name or getattr(sensor, "name", sensor.id),
                        kind=sensor.kind,
                        chip=chip.driver.chip,
                        device_id=machine.id,
                        sample_rate_hz=sensor.rate_hz,
                        axes=tuple(sensor.channels) if sensor.kind == "accel" else (),
                        metrics=task.stage.metric_units(),
                        update_interval_s=task.stage.interval,
                    )
                )
                self.live.register_sensor(
                    SensorStatus(sensor.id, machine.id, sensor.kind, chip.driver.chip)
                )
                ring = task.stage.ring
                sinks.append(Sink(sensor.id, machine.id, sensor.columns, ring.write))
                self.analyses.append(task)
                # Spread analyses over the interval so the loop never takes them all at once.
                offset = task.stage.interval * ((stagger * 0.37) % 1.0)
                stagger += 1
                self.scheduler.add(
                    f"analyse:{sensor.id}",
                    task.stage.interval,
                    lambda task=task: self._analyse(task),
                    priority=ANALYSE_PRIORITY,
                    offset=offset,
                )
            if not sinks:
                continue
            unit = AcquisitionUnit(
                chip.name,
                chip.driver,
                chip.decode,
                sinks,
                self.live,
                self.log_event,
                self.clock.now,
            )
            self.units.append(unit)
            self.scheduler.add(
                f"acquire:{chip.name}",
                chip.driver.poll_interval,
                unit.poll,
                priority=ACQUIRE_PRIORITY,
                lane=ACQUIRE_LANE,
            )

    def _stage_for(
        self, sensor: SensorMeta, machine: MachineConfig, mount: SensorMount
    ) -> AnalysisTask:
        options = self.config.analysis_for(mount)
        if sensor.kind == "accel":
            vibration = VibrationStage(
                sensor.id,
                machine,
                sensor.channels,
                dict(mount.mounting or sensor.mounting),
                sensor.rate_hz,
                options,
                self.to_utc,
            )
            return AnalysisTask(sensor.id, vibration, options.spectrum_snapshot_interval_s)
        interval = float(options.update_interval_s or 1.0)
        measure = mount.measure or ("rms" if sensor.kind == "current" else "mean")
        default_metric = {"current": "current_rms", "temperature": "temperature"}.get(
            sensor.kind, sensor.kind
        )
        if measure == "rms":
            metric = mount.metric or default_metric
            stage: LevelStage | RmsStage = RmsStage(
                sensor.id, machine.id, metric, sensor.unit, sensor.rate_hz, interval, self.to_utc
            )
        else:
            metric = mount.metric or ("current" if sensor.kind == "current" else default_metric)
            stage = LevelStage(
                sensor.id, machine.id, metric, sensor.unit, sensor.rate_hz, interval, self.to_utc
            )
        return AnalysisTask(sensor.id, stage)

    def _catalog(self) -> Catalog:
        by_machine: dict[str, list[str]] = {}
        for entry in self._sensor_entries:
            by_machine.setdefault(entry.device_id, []).append(entry.id)
        machines = tuple(
            MachineEntry(
                id=m.id,
                name=m.name,
                equipment_id=m.equipment_id,
                location=m.location,
                device_type=m.type,
                running_speed_rpm=m.running_speed_rpm,
                bearing=(m.bearing.designation or "custom") if m.bearing else None,
                iso_group=m.iso_group,
                foundation=m.foundation,
                sensor_ids=tuple(by_machine.get(m.id, [])),
            )
            for m in self.config.machines
        )
        # The config's order (machine by machine), which is how people read the plant.
        order = {
            mount.sensor: i
            for i, mount in enumerate(
                mount for machine in self.config.machines for mount in machine.sensors
            )
        }
        sensors = tuple(sorted(self._sensor_entries, key=lambda s: order[s.id]))
        return Catalog(machines, sensors)

    def start(self) -> None:
        """Bring every chip up, then release the tasks from now (chip start-up, with its
        self-tests, takes tens of milliseconds and is not acquisition lateness)."""
        for unit in self.units:
            unit.start()
        for unit in self.units:
            unit.discard_backlog()
        self.scheduler.restart()

    def start_acquisition_thread(self) -> LaneThread:
        """Real time: drain the FIFOs on a thread of their own from now on, so no task on the
        loop and no request of a front end holds a drain up (an ADC with a two-conversion
        buffer needs one every few ms); then run the rest with `run_realtime(stop,
        LOOP_LANES)`. Stop it before stopping the device."""
        return self.scheduler.start_lane_thread(
            ACQUIRE_LANE, self.config.device.acquisition_rt_priority
        )

    def use_worker_thread(self, executor: Executor) -> None:
        """Real time: run the vibration kernel off the loop, so FIFO drains (an ADC with a
        two-frame buffer needs one every few ms) are never held up by a frame's analysis.
        Virtual time keeps everything on one thread, which keeps it deterministic."""
        self._executor = executor

    def _analyse(self, task: AnalysisTask) -> None:
        stage = task.stage
        if not isinstance(stage, VibrationStage):
            self._publish(stage.analyse())
            return
        if task.busy:
            return  # the previous frame is still being analysed: this release is skipped
        taken = stage.take_frame()
        if taken is None:
            return
        if self._executor is None:
            self._finish(task, stage.compute(*taken))
            return
        task.busy = True
        future = self._executor.submit(stage.compute, *taken)
        future.add_done_callback(lambda f, task=task: self._finished_in_worker(task, f))

    def _finished_in_worker(self, task: AnalysisTask, future: Future[Frame]) -> None:
        task.busy = False
        try:
            frame = future.result()
        except Exception as exc:  # same accounting as a failing task on the loop
            self._task_failed(f"analyse:{task.sensor_id}", exc)
            return
        self._finish(task, frame)

    def _finish(self, task: AnalysisTask, frame: Frame) -> None:
        for snapshot in frame.spectra:
            self.live.publish_spectrum(snapshot)
        now = self.clock.now()
        if task.snapshot_interval and now - task.last_snapshot >= task.snapshot_interval:
            task.last_snapshot = now
            for s in frame.spectra:
                self.store.add_spectrum(
                    s.sensor_id,
                    s.axis,
                    s.ts,
                    s.kind,
                    s.bin_width_hz,
                    s.amplitudes,
                    list(s.peaks),
                )
        self._publish(frame.readings)

    def _publish(self, readings: list[Reading]) -> None:
        if readings:
            self.live.publish(readings)
            self.store.add_readings(readings)
            for observe in self.reading_observers:
                try:
                    observe(readings)
                except Exception as exc:  # an observer must not stop the pipeline
                    self._task_failed(f"observer {getattr(observe, '__qualname__', observe)}", exc)

    def _task_failed(self, name: str, exc: BaseException) -> None:
        log.exception("task %s failed", name, exc_info=exc)
        self.log_event("task_error", f"{name}: {type(exc).__name__}: {exc}")

    def _task_hung(self, name: str, elapsed: float) -> None:
        self.log_event("watchdog", f"task {name} has not yielded for {elapsed:.1f} s")

    def stop(self) -> None:
        for unit in self.units:
            unit.stop()

    def health(self) -> dict[str, Any]:
        return {
            "sensors": {s.sensor_id: s.as_dict() for s in self.live.sensor_statuses()},
            "deadline_misses": self.scheduler.total_deadline_misses(),
            "overflows": sum(s.overflows for s in self.live.sensor_statuses()),
        }
