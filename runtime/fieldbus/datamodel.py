"""The Modbus data model: registers and alarm bits answered from the live state.

Reads are served from a register image: every mapped value encoded once, rebuilt when the
live state changes (`LiveState.version`), after a write, and at least every `refresh_s` (so
ageing values turn stale and alert states show without a new reading). A poll between
publications therefore costs a slice of a list; bench/bench_modbus.py measures both ways.
Writes go to the machine state source, on the device's loop when `on_device` is given.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any

from ..live import LiveState
from .registermap import BITS_PER_MACHINE, MappedValue, RegisterMap
from .source import MODES, STATUS_FAULT, MachineStateSource, MachineStatus

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, DEVICE_FAILURE = 1, 2, 3, 4
REFRESH_S = 0.1


class ModbusError(Exception):
    """A request the model refuses, with the Modbus exception code to answer."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason or f"exception code {code}")
        self.code = code


OnDevice = Callable[[Callable[[], Any]], Awaitable[Any]]


async def _call_here(function: Callable[[], Any]) -> Any:
    return function()


class DataModel:
    def __init__(
        self,
        regmap: RegisterMap,
        live: LiveState,
        source: MachineStateSource,
        *,
        writes_enabled: bool = False,
        gaps: str = "zero",
        max_age_s: float = 10.0,
        utc_now: Callable[[], float] = time.time,
        refresh_s: float = REFRESH_S,
        on_device: OnDevice | None = None,
        log_event: Callable[..., None] | None = None,
    ) -> None:
        self.map, self.live, self.source = regmap, live, source
        self.writes_enabled, self.gaps_raise = writes_enabled, gaps == "exception"
        self.max_age_s, self.utc_now, self.refresh_s = max_age_s, utc_now, refresh_s
        self.on_device = on_device or _call_here
        self.log_event = log_event
        self.start, self.end = regmap.span
        size = self.end - self.start
        mapped = bytearray(size)
        for e in regmap.entries:
            mapped[e.address - self.start : e.address - self.start + e.size] = b"\x01" * e.size
        # unmapped[i]: unmapped registers before offset i, so a gap check is two lookups.
        self._unmapped = [0, *accumulate(1 - m for m in mapped)]
        self._encoders = [(e, e.encoding.encoder()) for e in regmap.entries]
        self._writable = {e.address: e for e in regmap.entries if e.writable_kind}
        self._image: list[int] = [0] * size
        self._bits: list[bool] = [False] * len(regmap.bits)
        self._version = -1
        self._built = -1e9
        self.rebuilds = 0

    # -- reads ------------------------------------------------------------------------------

    def read_registers(self, address: int, count: int) -> list[int]:
        offset = address - self.start
        if offset < 0 or address + count > self.end:
            raise ModbusError(ILLEGAL_ADDRESS, f"registers {address}..{address + count - 1}")
        if self.gaps_raise and self._unmapped[offset + count] != self._unmapped[offset]:
            raise ModbusError(ILLEGAL_ADDRESS, "the range spans unmapped registers")
        self._refresh()
        return self._image[offset : offset + count]

    def read_bits(self, address: int, count: int) -> list[bool]:
        if address < 0 or address + count > len(self._bits):
            raise ModbusError(ILLEGAL_ADDRESS, f"bits {address}..{address + count - 1}")
        self._refresh()
        return self._bits[address : address + count]

    def _refresh(self) -> None:
        now = time.monotonic()
        version = self.live.version
        if version != self._version or now - self._built >= self.refresh_s:
            self._version, self._built = version, now
            self.rebuild()

    def rebuild(self) -> None:
        """Encode every entry into the image from the current state."""
        utc = self.utc_now()
        stale_machines: set[str] = set()
        values: dict[int, float | None] = {}
        for entry, _ in self._encoders:
            if entry.kind != "value" or entry.sensor_id is None:
                continue
            reading = self.live.value(entry.sensor_id, entry.metric or "", entry.axis)
            if reading is None or utc - reading.ts > self.max_age_s:
                values[entry.address] = None
                stale_machines.add(entry.machine_id or "")
            else:
                values[entry.address] = reading.value
        statuses: dict[str, MachineStatus] = {}
        for machine_id in self.map.machines:
            status = self.source.machine_status(machine_id)
            if machine_id in stale_machines and status.status_code != STATUS_FAULT:
                status = MachineStatus(
                    STATUS_FAULT, status.severity_rank, status.alert_code, status.active_alerts
                )
            statuses[machine_id] = status
        image, start = self._image, self.start
        for entry, encode in self._encoders:
            registers = encode(self._value_of(entry, values, statuses))
            offset = entry.address - start
            image[offset : offset + len(registers)] = registers
        for i, machine_id in enumerate(self.map.machines):
            code = statuses[machine_id].status_code
            for level in range(BITS_PER_MACHINE):
                self._bits[i * BITS_PER_MACHINE + level] = code == level
        self.rebuilds += 1

    def _value_of(
        self,
        entry: MappedValue,
        values: dict[int, float | None],
        statuses: dict[str, MachineStatus],
    ) -> float | None:
        kind = entry.kind
        if kind == "value":
            return values.get(entry.address)
        status = statuses.get(entry.machine_id or "")
        if status is None:
            return None
        if kind == "status":
            return status.status_code
        if kind == "alert_code":
            return status.alert_code
        if kind == "severity":
            return status.severity_rank
        if kind == "active_alerts":
            return status.active_alerts
        if kind == "mode":
            mode = self.source.machine_mode(entry.machine_id or "")
            return MODES.index(mode) if mode in MODES else None
        return 0  # acknowledge reads 0

    # -- writes -----------------------------------------------------------------------------

    def check_write(self, address: int, values: list[int]) -> list[tuple[MappedValue, int]]:
        """The writes a request stands for, or the exception it gets (nothing applied)."""
        if not self.writes_enabled:
            raise ModbusError(ILLEGAL_FUNCTION, "writes are disabled in the config")
        planned: list[tuple[MappedValue, int]] = []
        for i, raw in enumerate(values):
            entry = self._writable.get(address + i)
            if entry is None:
                raise ModbusError(ILLEGAL_ADDRESS, f"register {address + i} is not writable")
            value = entry.encoding.decode((raw,))
            legal = (0, 1) if entry.kind == "acknowledge" else range(len(MODES))
            if value not in legal:
                raise ModbusError(ILLEGAL_VALUE, f"{value} is not a value of {entry.parameter}")
            planned.append((entry, int(value)))
        return planned

    async def write_registers(self, address: int, values: list[int], by: str) -> None:
        planned = self.check_write(address, values)
        for entry, value in planned:
            machine_id = entry.machine_id or ""
            try:
                if entry.kind == "acknowledge":
                    if value == 1:
                        count = await self.on_device(
                            lambda m=machine_id: self.source.acknowledge_machine(m, by)
                        )
                        self._log(f"{count} alerts of {machine_id} acknowledged by {by}", entry)
                else:
                    mode = MODES[value]
                    await self.on_device(
                        lambda m=machine_id, v=mode: self.source.set_machine_mode(m, v, by)
                    )
                    self._log(f"{machine_id} set to {mode} by {by}", entry)
            except Exception as exc:  # the source refused: tell the master, keep serving
                raise ModbusError(DEVICE_FAILURE, f"{type(exc).__name__}: {exc}") from None
        self._built = -1e9  # the next read shows the change

    def _log(self, message: str, entry: MappedValue) -> None:
        if self.log_event is not None:
            self.log_event(
                "modbus_write",
                message,
                device_id=entry.machine_id,
                data={"address": entry.address, "kind": entry.kind},
            )
