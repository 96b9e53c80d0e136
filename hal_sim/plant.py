"""The simulated plant: the machines behind a simulated board, and the faults acting on them.

This is what the runtime and the REST API drive on a simulated board:
    fault_id = plant.inject_fault("motor-1", "bearing_outer", 0.6, ramp_s=600)
    plant.faults()            # active faults
    plant.clear_fault(fault_id)
Machine faults target a machine id; sensor faults (sensor_disconnect, wrong_identity,
fifo_stall) target a sensor id, or a machine id to hit every sensor mounted on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from drivers.hal import Clock

from .faults import (
    FAULT_DESCRIPTIONS,
    FAULT_KINDS,
    MACHINE_FAULTS,
    SENSOR_FAULTS,
    Fault,
    FaultError,
    FaultTimeline,
)
from .machine import MachineModel, MachineSpec, direction_index, unit_key
from .sources import (
    NORMAL,
    MachineAccel,
    MachineCurrent,
    MachineTemperature,
    SensorConditions,
)


class Plant:
    """Simulated machines sharing one clock, one seed and one fault timeline."""

    def __init__(self, clock: Clock, machines: Iterable[MachineSpec], seed: int = 0) -> None:
        self.clock = clock
        self.seed = int(seed)
        self.timeline = FaultTimeline()
        t0 = clock.now()
        self.machines: dict[str, MachineModel] = {}
        for spec in machines:
            if spec.id in self.machines:
                raise ValueError(f"machine id {spec.id!r} appears twice")
            self.machines[spec.id] = MachineModel(spec, self.timeline, self.seed, t0)
        self.sensors: dict[str, str | None] = {}  # sensor id -> machine id it is mounted on

    # -- wiring (board bring-up) ------------------------------------------------------------

    def add_sensor(self, sensor_id: str, machine_id: str | None) -> None:
        if machine_id is not None and machine_id not in self.machines:
            raise ValueError(f"sensor {sensor_id!r}: no machine {machine_id!r} in the plant")
        self.sensors[sensor_id] = machine_id

    def machine(self, machine_id: str) -> MachineModel:
        return self.machines[machine_id]

    def accel_source(
        self, sensor_id: str, machine_id: str, mounting: tuple[str, str, str]
    ) -> MachineAccel:
        self.add_sensor(sensor_id, machine_id)
        dirs = tuple(direction_index(m) for m in mounting)
        key = unit_key("accel", self.seed, sensor_id)
        return MachineAccel(self.machines[machine_id], key, dirs)  # type: ignore[arg-type]

    def current_source(
        self, sensor_id: str, machine_id: str, amps_per_volt: float
    ) -> MachineCurrent:
        self.add_sensor(sensor_id, machine_id)
        key = unit_key("current", self.seed, sensor_id)
        unplugged = self._flag(sensor_id, "sensor_disconnect")
        return MachineCurrent(self.machines[machine_id], key, amps_per_volt, unplugged)

    def temperature_source(self, sensor_id: str, machine_id: str) -> MachineTemperature:
        self.add_sensor(sensor_id, machine_id)
        return MachineTemperature(
            self.machines[machine_id], self._flag(sensor_id, "sensor_disconnect")
        )

    def _targets(self, sensor_id: str) -> tuple[str, ...]:
        machine = self.sensors.get(sensor_id)
        return (sensor_id,) if machine is None else (sensor_id, machine)

    def _flag(self, sensor_id: str, kind: str) -> Callable[[float], bool]:
        def active(t: float) -> bool:
            if not self.timeline.has_sensor_faults:
                return False
            return self.timeline.level(self._targets(sensor_id), kind, t) > 0.0

        return active

    def conditions(
        self, sensor_ids: Iterable[str], unplug: bool = True
    ) -> Callable[[float], SensorConditions]:
        """What sensor faults do to the chip carrying `sensor_ids` at time t.

        `unplug=False` for chips where an unplugged sensor is not an unplugged chip (an RTD
        converter whose probe is open, an ADC whose clamp hangs free).
        """
        ids = tuple(sensor_ids)

        def at(t: float) -> SensorConditions:
            if not self.timeline.has_sensor_faults:
                return NORMAL
            levels: dict[str, float] = {}
            for sid in ids:
                for kind, value in self.timeline.levels(self._targets(sid), t).items():
                    levels[kind] = max(levels.get(kind, 0.0), value)
            return SensorConditions(
                disconnected=unplug and levels.get("sensor_disconnect", 0.0) > 0.0,
                wrong_identity=levels.get("wrong_identity", 0.0) > 0.0,
                stalled=levels.get("fifo_stall", 0.0) > 0.0,
            )

        return at

    # -- run-time API -----------------------------------------------------------------------

    def inject_fault(
        self,
        machine_id: str,
        kind: str,
        severity: float,
        ramp_s: float = 0.0,
        at: float | None = None,
    ) -> str:
        """Start a fault; returns its id. `at` is a clock time (default now); a time in the
        past is taken as now, since samples already made are not made again."""
        if kind not in FAULT_KINDS:
            raise FaultError(f"kind: unknown fault {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if machine_id in self.machines:
            pass
        elif machine_id in self.sensors:
            if kind in MACHINE_FAULTS:
                owner = self.sensors[machine_id]
                hint = f" (it is on machine {owner!r})" if owner else ""
                raise FaultError(
                    f"{kind} acts on a machine, and {machine_id!r} is a sensor{hint}; "
                    f"sensor faults are {', '.join(SENSOR_FAULTS)}"
                )
        else:
            raise FaultError(
                f"no machine or sensor {machine_id!r}; machines: {', '.join(self.machines)}; "
                f"sensors: {', '.join(self.sensors)}"
            )
        now = self.clock.now()
        start = now if at is None else max(float(at), now)
        return self.timeline.add(machine_id, kind, severity, ramp_s, start).id

    def clear_fault(self, fault_id: str, at: float | None = None) -> None:
        """End a fault from now on, or from clock time `at` (a scheduled end)."""
        now = self.clock.now()
        self.timeline.clear(fault_id, now if at is None else max(float(at), now))

    def faults(self) -> list[Fault]:
        """Faults injected and not cleared (including ones scheduled to start later)."""
        return self.timeline.active()

    def fault_kinds(self) -> dict[str, str]:
        return dict(FAULT_DESCRIPTIONS)

    def describe(self) -> dict[str, Any]:
        """Machines, their defect frequencies and the sensors on them (JSON-ready)."""
        out: dict[str, Any] = {}
        for mid, model in self.machines.items():
            s = model.spec
            out[mid] = {
                "name": s.name,
                "rpm": s.rpm,
                "slip": s.slip,
                "line_hz": s.line_hz,
                "bearing": s.bearing_name,
                "defect_frequencies_hz": model.defects.as_dict(),
                "sensors": [sid for sid, m in self.sensors.items() if m == mid],
            }
        return out
