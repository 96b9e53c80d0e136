"""What the device monitors: machines and sensors with their metrics, for every front end.

Built once from the config and the board when the device starts; together with the live state
(latest values, sensor status) and the store (history) it is the read model that REST,
Modbus, PROFIBUS and the web UI share.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SensorEntry:
    id: str
    name: str
    kind: str  # accel | temperature | current | voltage
    chip: str
    device_id: str  # the machine it is mounted on
    sample_rate_hz: float
    axes: tuple[str, ...]  # ("x", "y", "z") for accelerometers, () for single inputs
    metrics: dict[str, str]  # metric -> unit
    update_interval_s: float


@dataclass(frozen=True)
class MachineEntry:
    id: str
    name: str
    equipment_id: str
    location: str
    device_type: str
    running_speed_rpm: float | None
    bearing: str | None
    iso_group: int
    foundation: str
    sensor_ids: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    machines: tuple[MachineEntry, ...]
    sensors: tuple[SensorEntry, ...]

    def machine(self, machine_id: str) -> MachineEntry | None:
        return next((m for m in self.machines if m.id == machine_id), None)

    def sensor(self, sensor_id: str) -> SensorEntry | None:
        return next((s for s in self.sensors if s.id == sensor_id), None)

    def machine_by_equipment_id(self, equipment_id: str) -> MachineEntry | None:
        return next((m for m in self.machines if m.equipment_id == equipment_id), None)
