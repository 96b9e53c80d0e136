"""The register map resolved against the plant: which register shows what, in which encoding.

`build_register_map` turns the `[modbus]` config (or, without `registers`, the documented
default layout) and the catalog into a `RegisterMap`; names of machines, sensors, metrics and
axes are checked here, since the config section alone does not know the plant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog import Catalog, MachineEntry
from ..errors import UsageError
from .config import WRITABLE_KINDS, ModbusConfig, RegisterEntry
from .encoding import Encoding

# The default layout, per machine in config order: registers 0-7 of the machine's block.
DEFAULT_VALUES = ("vibration_rms", "temperature", "current_rms")  # float32 each
DEFAULT_BLOCK = 8  # registers per machine: 3 floats, status, alert code
DEFAULT_CONTROL_BASE = 1000  # 41001: per machine acknowledge, mode (writable when enabled)
BITS_PER_MACHINE = 4  # coils / discrete inputs: one per status level

LABELS = {
    "vibration_rms": "Vibration RMS",
    "temperature": "Temperature",
    "current_rms": "Current RMS",
    "status": "Status",
    "alert_code": "Alert Code",
    "severity": "Alert Severity",
    "active_alerts": "Active Alerts",
    "mode": "Mode",
    "acknowledge": "Acknowledge Alerts",
}
KIND_UNITS = {
    "status": "0=OK, 1=Warning, 2=Alert, 3=Sensor fault",
    "alert_code": "alert code (docs/alerts.md), 0=none",
    "severity": "0=none, 1=info, 2=warning, 3=alert, 4=critical",
    "active_alerts": "count",
    "mode": "0=running, 1=stopped, 2=maintenance",
    "acknowledge": "write 1 to acknowledge",
}
STATUS_LEVELS = ("OK", "Warning", "Alert", "Sensor fault")


class ModbusMapError(UsageError):
    """A register map that does not fit the plant: every problem by its config path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid Modbus register map:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class MappedValue:
    address: int  # PDU address of the first register (40001 is 0)
    kind: str  # config.EntryKind
    machine_id: str | None
    sensor_id: str | None  # value entries; None for a default slot nothing measures
    metric: str | None
    axis: str | None
    unit: str
    parameter: str  # human name, as exports show it
    encoding: Encoding

    @property
    def size(self) -> int:
        return self.encoding.size

    @property
    def writable_kind(self) -> bool:
        return self.kind in WRITABLE_KINDS

    @property
    def tag(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "_", self.parameter).strip("_")


@dataclass(frozen=True)
class AlarmBit:
    address: int  # coil and discrete input address (00001 / 10001 is 0)
    machine_id: str
    level: int  # status level the bit stands for: set while the status equals it
    parameter: str


@dataclass(frozen=True)
class RegisterMap:
    entries: tuple[MappedValue, ...]  # sorted by address
    bits: tuple[AlarmBit, ...]
    machines: tuple[str, ...]  # every machine, catalog order

    @property
    def span(self) -> tuple[int, int]:
        """First register and one past the last."""
        if not self.entries:
            return (0, 0)
        return (self.entries[0].address, max(e.address + e.size for e in self.entries))


def build_register_map(config: ModbusConfig, catalog: Catalog) -> RegisterMap:
    if config.registers is None:
        entries = default_entries(config, catalog)
    else:
        entries = _configured_entries(config, catalog)
    entries.sort(key=lambda e: e.address)
    bits = tuple(
        AlarmBit(
            i * BITS_PER_MACHINE + level,
            machine.id,
            level,
            f"{machine.name} {STATUS_LEVELS[level]}",
        )
        for i, machine in enumerate(catalog.machines)
        for level in range(BITS_PER_MACHINE)
    )
    return RegisterMap(tuple(entries), bits, tuple(m.id for m in catalog.machines))


def _encoding(config: ModbusConfig, entry: RegisterEntry | None, dtype: str) -> Encoding:
    return Encoding(
        dtype=dtype,  # type: ignore[arg-type]
        scale=entry.scale if entry else 1.0,
        word_order=(entry.word_order if entry else None) or config.word_order,
        byte_order=(entry.byte_order if entry else None) or config.byte_order,
        sentinel=entry.sentinel if entry else None,
    )


def default_entries(config: ModbusConfig, catalog: Catalog) -> list[MappedValue]:
    """The documented layout: Motor 1 40001-40008, Motor 2 40009-40016, ...; then per
    machine acknowledge and mode from 41001 (writable only when writes are enabled)."""
    entries: list[MappedValue] = []
    for i, machine in enumerate(catalog.machines):
        base = i * DEFAULT_BLOCK
        for j, metric in enumerate(DEFAULT_VALUES):
            sensor = next(
                (s for s in catalog.sensors if s.id in machine.sensor_ids and metric in s.metrics),
                None,
            )
            entries.append(
                MappedValue(
                    base + 2 * j,
                    "value",
                    machine.id,
                    sensor.id if sensor else None,
                    metric,
                    None,
                    sensor.metrics[metric] if sensor else "",
                    f"{machine.name} {LABELS[metric]}",
                    _encoding(config, None, "float32"),
                )
            )
        for offset, kind in ((6, "status"), (7, "alert_code")):
            entries.append(_machine_entry(config, None, machine, kind, base + offset, "int16"))
        control = DEFAULT_CONTROL_BASE + 2 * i
        for offset, kind in ((0, "acknowledge"), (1, "mode")):
            entries.append(_machine_entry(config, None, machine, kind, control + offset, "uint16"))
    return entries


def _machine_entry(
    config: ModbusConfig,
    entry: RegisterEntry | None,
    machine: MachineEntry,
    kind: str,
    address: int,
    dtype: str,
) -> MappedValue:
    name = (entry.name if entry else None) or f"{machine.name} {LABELS[kind]}"
    return MappedValue(
        address,
        kind,
        machine.id,
        None,
        None,
        None,
        KIND_UNITS[kind],
        name,
        _encoding(config, entry, dtype),
    )


def _configured_entries(config: ModbusConfig, catalog: Catalog) -> list[MappedValue]:
    problems: list[str] = []
    entries: list[MappedValue] = []
    machine_ids = ", ".join(m.id for m in catalog.machines) or "none"
    for i, entry in enumerate(config.registers or []):
        here = f"modbus.registers[{i}]"
        if entry.kind != "value":
            machine = catalog.machine(entry.machine or "")
            if machine is None:
                problems.append(f"{here}.machine: no machine {entry.machine!r} ({machine_ids})")
                continue
            entries.append(
                _machine_entry(config, entry, machine, entry.kind, entry.address, entry.data_type)
            )
            continue
        sensor = catalog.sensor(entry.sensor or "")
        if sensor is None:
            known = ", ".join(s.id for s in catalog.sensors) or "none"
            problems.append(f"{here}.sensor: no sensor {entry.sensor!r} (sensors: {known})")
            continue
        if entry.metric not in sensor.metrics:
            problems.append(
                f"{here}.metric: {sensor.id} does not measure {entry.metric!r} "
                f"(it measures {', '.join(sensor.metrics)})"
            )
            continue
        if entry.axis is not None and entry.axis not in sensor.axes:
            axes = ", ".join(sensor.axes) or "none: omit axis"
            problems.append(f"{here}.axis: {sensor.id} has no axis {entry.axis!r} ({axes})")
            continue
        if entry.machine is not None and entry.machine != sensor.device_id:
            problems.append(
                f"{here}.machine: {sensor.id} is mounted on {sensor.device_id!r}, "
                f"not {entry.machine!r}"
            )
            continue
        machine = catalog.machine(sensor.device_id)
        label = LABELS.get(entry.metric or "", (entry.metric or "").replace("_", " ").title())
        axis = f" {entry.axis.upper()}" if entry.axis else ""
        default_name = f"{machine.name if machine else sensor.device_id} {label}{axis}"
        entries.append(
            MappedValue(
                entry.address,
                "value",
                sensor.device_id,
                sensor.id,
                entry.metric,
                entry.axis,
                sensor.metrics[entry.metric or ""],
                entry.name or default_name,
                _encoding(config, entry, entry.data_type),
            )
        )
    if problems:
        raise ModbusMapError(problems)
    return entries
