"""The `[modbus]` config section: server settings and the register map.

Checked here is everything that needs no knowledge of the plant (address ranges, overlaps,
types); which sensors and machines an entry names is checked against the catalog when the map
is built (`registermap.build_register_map`). Imports only pydantic and config.base so the
device config can include this section without an import cycle.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..config.base import Strict

DataType = Literal["float32", "int16", "uint16", "int32", "uint32"]
Order = Literal["big", "little"]  # word order: big = AB CD (high word first); little = CD AB
EntryKind = Literal[
    "value",  # a sensor's metric (and axis)
    "status",  # machine status: 0 OK, 1 Warning, 2 Alert, 3 sensor fault / no data
    "alert_code",  # most severe active alert's code, 0 when none
    "severity",  # most severe active alert's severity: 0 none .. 4 critical
    "active_alerts",  # number of active alerts
    "mode",  # machine mode, writable: 0 running, 1 stopped, 2 maintenance
    "acknowledge",  # writable: 1 acknowledges the machine's active alerts; reads 0
]
MACHINE_KINDS = ("status", "alert_code", "severity", "active_alerts", "mode", "acknowledge")
WRITABLE_KINDS = ("mode", "acknowledge")
REGISTERS = {"float32": 2, "int32": 2, "uint32": 2, "int16": 1, "uint16": 1}
INT_RANGE = {
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
}
# What an integer register reads when its value is stale or missing (the float types read NaN).
DEFAULT_SENTINEL = {"int16": -(1 << 15), "uint16": (1 << 16) - 1, "int32": -(1 << 31)}
DEFAULT_SENTINEL["uint32"] = (1 << 32) - 1


class RegisterEntry(Strict):
    """One value in the register map. `address` is the PDU address: 40001 is 0."""

    address: int = Field(ge=0, le=65535)
    kind: EntryKind = "value"
    machine: str | None = None  # machine kinds (and optionally value, to name it)
    sensor: str | None = None  # value: the sensor ...
    metric: str | None = None  # ... its metric ...
    axis: Literal["x", "y", "z"] | None = None  # ... and axis (None: the overall value)
    type: DataType | None = None  # default: float32 for values, int16 for machine kinds
    scale: float = 1.0  # register = round(value * scale) for integers, value * scale floats
    word_order: Order | None = None  # default: the map's
    byte_order: Order | None = None  # default: the map's
    sentinel: int | None = None  # integers: what a stale value reads (default per type)
    name: str | None = None  # the parameter's name in exports (default: made from the entry)

    @model_validator(mode="after")
    def _complete(self) -> RegisterEntry:
        if self.kind == "value":
            if self.sensor is None or self.metric is None:
                raise ValueError("a value entry needs sensor and metric")
        else:
            if self.machine is None:
                raise ValueError(f"a {self.kind} entry needs machine")
            if self.sensor is not None or self.metric is not None or self.axis is not None:
                raise ValueError(f"a {self.kind} entry takes machine only (no sensor/metric)")
            if self.type in ("float32", "int32", "uint32"):
                raise ValueError(f"a {self.kind} entry is int16 or uint16")
        if self.scale == 0 or self.scale != self.scale:
            raise ValueError("scale must be a non-zero number")
        dtype = self.data_type
        if self.address + REGISTERS[dtype] > 65536:
            raise ValueError(
                f"{dtype} at address {self.address} ends past the last register (65535)"
            )
        if self.sentinel is not None:
            if dtype == "float32":
                raise ValueError("sentinel is for integer types (float32 reads NaN)")
            low, high = INT_RANGE[dtype]
            if not low <= self.sentinel <= high:
                raise ValueError(f"sentinel {self.sentinel} does not fit {dtype} ({low}..{high})")
        return self

    @property
    def data_type(self) -> DataType:
        if self.type is not None:
            return self.type
        return "float32" if self.kind == "value" else "int16"

    @property
    def size(self) -> int:
        return REGISTERS[self.data_type]


class ModbusTcpConfig(Strict):
    enabled: bool = True
    host: str = "0.0.0.0"
    # None: 502 when the process may bind it (a board service), otherwise 5020.
    port: int | None = Field(None, ge=1, le=65535)
    max_clients: int = Field(16, ge=1, le=1024)
    idle_timeout_s: float = Field(120.0, ge=0)  # 0: never close an idle connection
    # Client addresses or networks allowed to connect ("10.0.0.0/24"); empty: everyone.
    allowed_clients: list[str] = Field(default_factory=list)

    @field_validator("allowed_clients")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an address or network (like 192.168.1.20 or 10.0.0.0/24)"
                ) from None
        return values


class ModbusRtuConfig(Strict):
    enabled: bool = False
    device: str | None = None  # the serial port of the RS-485 adapter, e.g. /dev/ttyUSB0
    baud: int = Field(19200, ge=300, le=921600)
    parity: Literal["E", "O", "N"] = "E"
    stop_bits: Literal[1, 2] = 1

    @model_validator(mode="after")
    def _device_given(self) -> ModbusRtuConfig:
        if self.enabled and not self.device:
            raise ValueError("give device (the serial port, e.g. /dev/ttyUSB0) to enable RTU")
        return self


class ModbusConfig(Strict):
    """Modbus server: the same register map over TCP and RTU."""

    enabled: bool = True
    unit_id: int | Literal["any"] = 1  # the unit id answered (RTU: the station address)
    writes_enabled: bool = False  # function codes 06/16 on the map's writable registers
    gaps: Literal["zero", "exception"] = "zero"  # unmapped registers inside the map's span
    max_age_s: float = Field(10.0, gt=0)  # older values read NaN / the sentinel
    word_order: Order = "big"  # AB CD: the high word first
    byte_order: Order = "big"  # within a register: the high byte first
    # The register map; left out (the default), the documented layout: per machine from
    # 40001 on, vibration_rms, temperature, current_rms (float32), status, alert code (int16).
    registers: list[RegisterEntry] | None = None
    tcp: ModbusTcpConfig = Field(default_factory=ModbusTcpConfig)
    rtu: ModbusRtuConfig = Field(default_factory=ModbusRtuConfig)

    @field_validator("unit_id")
    @classmethod
    def _unit(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 247:
            raise ValueError('a unit id is 1..247 (or "any")')
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> ModbusConfig:
        problems = overlap_problems(self.registers or [])
        if problems:
            raise ValueError("; ".join(problems))
        return self


def overlap_problems(entries: list[RegisterEntry]) -> list[str]:
    """Entries that share a register, each named by its index and address range."""
    spans = sorted((e.address, e.address + e.size - 1, i) for i, e in enumerate(entries))
    problems: list[str] = []
    reach: tuple[int, int, int] | None = None  # the span reaching furthest so far
    for start, end, index in spans:
        if reach is not None and start <= reach[1]:
            first, second = sorted((reach[2], index))
            problems.append(
                f"registers[{second}] (address {start}..{end}) overlaps "
                f"registers[{first}] (address {reach[0]}..{reach[1]})"
            )
        if reach is None or end > reach[1]:
            reach = (start, end, index)
    return problems
