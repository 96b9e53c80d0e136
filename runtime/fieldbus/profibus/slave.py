"""The device as a DP slave: its modules, process data and diagnosis over the live state, and
the station that joins the layers (phy -> fdl -> dp) on one asyncio loop.

Input data (to the master) per module, big-endian as S7 reads it, the same values as the
Modbus default map (one read model, runtime.fieldbus.datamodel):

    health  16 bytes: vibration_rms, temperature, current_rms (float32), status, alert code
            (int16); config 0xD7 0x20 (8 words in, consistent; 1 byte out)
    status   4 bytes: status, alert code (int16); config 0xD1 0x20

Output data (from the master): one byte per module, applied only with writes_enabled:
bit 0 acknowledges the machine's active alerts on its rising edge; with bit 7 set, bits 1-2
set the machine's mode (0 running, 1 stopped, 2 maintenance) whenever they change. All zeros
(Global_Control Clear, a tripped watchdog) does nothing: the fail-safe state.

Extended diagnosis (after the 6 standard bytes): a device-related block (header, then per
module status and alert code, 3 bytes) and an identifier-related block (one bit per module
that is not OK). Ext_Diag is set while a module shows an alert or a sensor fault (or a warning,
with user parameter bit 0); Stat_Diag while no module has valid data.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...catalog import Catalog
from ...errors import UsageError
from ...live import LiveState
from ..config import ModbusConfig
from ..datamodel import DataModel, OnDevice
from ..registermap import DEFAULT_BLOCK, build_register_map
from ..source import (
    MODES,
    STATUS_ALERT,
    STATUS_FAULT,
    STATUS_OK,
    STATUS_WARNING,
    MachineStateSource,
    SensorStatusSource,
)
from .config import ProfibusConfig, station_address
from .dp import DpSetup, DpSlave, State
from .fdl import FdlReceiver, FdlResponder
from .phy import SerialPhy, bit_time_s, idle_s

log = logging.getLogger("esocore.profibus")

MODULE_LAYOUT = {  # kind -> (first register in the machine's block, registers, config bytes)
    "health": (0, 8, bytes((0xD7, 0x20))),
    "status": (6, 2, bytes((0xD1, 0x20))),
}
OUTPUT_BYTES = 1  # per module
# User_Prm_Data: byte 0 flags (bit 0: a warning also sets Ext_Diag), byte 1 the age in s after
# which a value counts as stale (0: the config's max_age_s).
USER_PRM_DEFAULT = bytes((0x00, 0x00))
PRM_WARNINGS_EXT_DIAG = 0x01
ACK_BIT, MODE_VALID = 0x01, 0x80
REFRESH_S = 0.02  # process image and diagnosis rebuilt this often (and on every publication)
TICK_S = 0.005  # watchdog resolution


class ProfibusModuleError(UsageError):
    """A module list that does not fit the plant: every problem by its config path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid PROFIBUS module list:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Module:
    slot: int
    machine_id: str
    machine_name: str
    kind: str
    machine_index: int  # the machine's place in the catalog: its Modbus block

    @property
    def input_size(self) -> int:
        return 2 * MODULE_LAYOUT[self.kind][1]

    @property
    def config(self) -> bytes:
        return MODULE_LAYOUT[self.kind][2]

    @property
    def name(self) -> str:
        """The module's name in the GSD (at most 32 characters, as the GSD allows)."""
        label = "Health" if self.kind == "health" else "Status"
        return f"{self.machine_name[: 31 - len(label)]} {label}"


def build_modules(config: ProfibusConfig, catalog: Catalog) -> tuple[Module, ...]:
    machines = list(catalog.machines)
    index = {m.id: i for i, m in enumerate(machines)}
    if config.modules is None:
        return tuple(Module(i, m.id, m.name, "health", i) for i, m in enumerate(machines))
    problems: list[str] = []
    modules: list[Module] = []
    known = ", ".join(index) or "none"
    for slot, entry in enumerate(config.modules):
        if entry.machine not in index:
            problems.append(
                f"profibus.modules[{slot}].machine: no machine {entry.machine!r} ({known})"
            )
            continue
        machine = machines[index[entry.machine]]
        modules.append(Module(slot, machine.id, machine.name, entry.kind, index[entry.machine]))
    if problems:
        raise ProfibusModuleError(problems)
    return tuple(modules)


def dp_setup(config: ProfibusConfig, modules: tuple[Module, ...]) -> DpSetup:
    return DpSetup(
        ident_number=config.ident_number,
        config=b"".join(m.config for m in modules),
        output_size=OUTPUT_BYTES * len(modules),
        user_prm_size=len(USER_PRM_DEFAULT),
        require_watchdog=config.require_watchdog,
        set_slave_address=config.set_slave_address,
    )


def extended_diagnosis(statuses: list[tuple[int, int]]) -> bytes:
    """Device-related block (status, alert code per module) + identifier-related block."""
    device = bytearray((0,))
    for status, code in statuses:
        device += struct.pack(">BH", status & 0xFF, code & 0xFFFF)
    device[0] = len(device)  # bits 7-6 = 00: device related
    bits = bytearray((len(statuses) + 7) // 8)
    for slot, (status, _) in enumerate(statuses):
        if status != STATUS_OK:
            bits[slot // 8] |= 1 << (slot % 8)
    return bytes(device) + bytes((0x40 | (1 + len(bits)),)) + bytes(bits)


class ProcessImage:
    """Inputs and diagnosis for the DP layer, from a Modbus default-layout data model."""

    def __init__(
        self,
        modules: tuple[Module, ...],
        live: LiveState,
        catalog: Catalog,
        source: MachineStateSource,
        max_age_s: float,
        utc_now: Callable[[], float],
    ) -> None:
        self.modules = modules
        self.max_age_s = max_age_s
        self.warnings_ext_diag = False
        self.model = DataModel(
            build_register_map(ModbusConfig(), catalog),
            live,
            source,
            max_age_s=max_age_s,
            utc_now=utc_now,
            refresh_s=REFRESH_S,
        )

    def apply_parameters(self, user: bytes) -> str | None:
        """User_Prm_Data from Set_Prm; a problem (-> Prm_Fault) or None."""
        flags, age = user[0], user[1]
        if flags & ~PRM_WARNINGS_EXT_DIAG:
            return f"unknown flags 0x{flags:02X} in byte 0"
        self.warnings_ext_diag = bool(flags & PRM_WARNINGS_EXT_DIAG)
        self.model.max_age_s = float(age) if age else self.max_age_s
        self.model.rebuild()
        return None

    def build(self) -> tuple[bytes, bytes, bool, bool]:
        """(inputs, extended diagnosis, Ext_Diag, Stat_Diag) as of now."""
        inputs = bytearray()
        statuses: list[tuple[int, int]] = []
        for module in self.modules:
            first, count, _ = MODULE_LAYOUT[module.kind]
            base = module.machine_index * DEFAULT_BLOCK
            registers = self.model.read_registers(base + first, count)
            inputs += struct.pack(f">{count}H", *registers)
            status, code = struct.unpack(
                ">hh", struct.pack(">HH", *self.model.read_registers(base + 6, 2))
            )
            statuses.append((status, code))
        flagged = {STATUS_ALERT, STATUS_FAULT}
        if self.warnings_ext_diag:
            flagged.add(STATUS_WARNING)
        ext_flag = any(status in flagged for status, _ in statuses)
        static = bool(statuses) and all(status == STATUS_FAULT for status, _ in statuses)
        return bytes(inputs), extended_diagnosis(statuses), ext_flag, static


class Outputs:
    """The master's output bytes -> acknowledge / mode on the machine state source."""

    def __init__(
        self,
        modules: tuple[Module, ...],
        source: MachineStateSource,
        writes_enabled: bool,
        on_device: OnDevice,
        log_event: Callable[..., None] | None,
    ) -> None:
        self.modules, self.source, self.writes_enabled = modules, source, writes_enabled
        self.on_device, self.log_event = on_device, log_event
        self.last = bytearray(len(modules))
        self.master: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def received(self, data: bytes) -> None:
        for slot, module in enumerate(self.modules):
            byte, before = data[slot], self.last[slot]
            if byte == before:
                continue
            self.last[slot] = byte
            if not self.writes_enabled:
                continue
            if byte & ACK_BIT and not before & ACK_BIT:
                self._spawn(self._acknowledge(module))
            mode = (byte >> 1) & 0x03
            changed = not before & MODE_VALID or mode != (before >> 1) & 0x03
            if byte & MODE_VALID and changed and mode < len(MODES):
                self._spawn(self._set_mode(module, MODES[mode]))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _by(self) -> str:
        return f"profibus master {self.master}"

    async def _acknowledge(self, module: Module) -> None:
        by = self._by()
        try:
            count = await self.on_device(
                lambda: self.source.acknowledge_machine(module.machine_id, by)
            )
        except Exception as exc:  # the source refused: keep serving
            log.warning("PROFIBUS acknowledge of %s failed: %s", module.machine_id, exc)
            return
        self._log(f"{count} alerts of {module.machine_id} acknowledged by {by}", module)

    async def _set_mode(self, module: Module, mode: str) -> None:
        by = self._by()
        try:
            await self.on_device(lambda: self.source.set_machine_mode(module.machine_id, mode, by))
        except Exception as exc:
            log.warning("PROFIBUS mode of %s failed: %s", module.machine_id, exc)
            return
        self._log(f"{module.machine_id} set to {mode} by {by}", module)

    def _log(self, message: str, module: Module) -> None:
        if self.log_event is not None:
            self.log_event(
                "profibus_write", message, device_id=module.machine_id, data={"slot": module.slot}
            )


async def _call_here(function: Callable[[], Any]) -> Any:
    return function()


class ProfibusStation:
    """phy -> fdl -> dp on the running loop: `await start()`, `await stop()`."""

    def __init__(
        self,
        config: ProfibusConfig,
        modules: tuple[Module, ...],
        live: LiveState,
        catalog: Catalog,
        source: MachineStateSource,
        *,
        on_device: OnDevice | None = None,
        log_event: Callable[..., None] | None = None,
        utc_now: Callable[[], float] = time.time,
        phy: SerialPhy | None = None,
    ) -> None:
        self.config, self.modules, self.log_event = config, modules, log_event
        self.image = ProcessImage(modules, live, catalog, source, config.max_age_s, utc_now)
        self.outputs = Outputs(
            modules, source, config.writes_enabled, on_device or _call_here, log_event
        )
        address = station_address(config)
        self.dp = DpSlave(
            dp_setup(config, modules),
            address,
            on_outputs=self._outputs,
            on_parameters=self.image.apply_parameters,
            on_event=self._event,
        )
        self.responder = FdlResponder(address, self.dp.service)
        self.receiver = FdlReceiver(idle_s(config.baud))
        self.phy = phy or SerialPhy(config.port or "", config.baud, config.rts_direction)
        self.bit_s = bit_time_s(config.baud)
        self.answered = 0
        self._timers: list[asyncio.Task[None]] = []
        self._open = False

    @property
    def input_size(self) -> int:
        return sum(m.input_size for m in self.modules)

    def bind(self, live: LiveState, catalog: Catalog, config: ProfibusConfig | None = None) -> None:
        """Serve another device's state (an in-process restart) and, if given, its modules. A
        module list that does not fit keeps the old one; a changed configuration sends the
        slave back to Wait_Prm, so the master parameterises it again (and sees Cfg_Fault
        until its configuration follows; a new ident number, Prm_Fault until its GSD does).
        Line settings (port, baud, address) need a new station: runtime.fieldbus.frontends
        stops this one and starts one."""
        config = config or self.config
        try:
            modules = build_modules(config, catalog)
        except ProfibusModuleError as exc:
            self._event("profibus_modules_refused", f"{exc}; the previous modules stay")
            modules = self.modules
        source = self.outputs.source
        if isinstance(source, SensorStatusSource):
            source.bind(live, catalog)
        setup = dp_setup(config.model_copy(update={"address": self.dp.address}), modules)
        changed = (setup.config, setup.ident_number) != (
            self.dp.setup.config,
            self.dp.setup.ident_number,
        )
        self.modules = modules
        self.image = ProcessImage(modules, live, catalog, source, config.max_age_s, time.time)
        self.dp.on_parameters = self.image.apply_parameters
        self.outputs = Outputs(
            modules, source, config.writes_enabled, self.outputs.on_device, self.log_event
        )
        self.dp.setup = setup
        if changed and self.dp.state is not State.WAIT_PRM:
            self.dp.to_wait_prm()
            self._event(
                "profibus_modules_changed",
                "new modules or ident number: waiting for parameterisation",
            )
        self.refresh()

    def _outputs(self, data: bytes) -> None:
        self.outputs.master = self.dp.master
        self.outputs.received(data)

    def _event(self, kind: str, message: str) -> None:
        log.info("PROFIBUS: %s", message)
        if self.log_event is not None:
            self.log_event(kind, message, data={"address": self.dp.address})

    def refresh(self) -> None:
        inputs, extended, ext_flag, static = self.image.build()
        self.dp.set_inputs(inputs)
        self.dp.set_diagnosis(extended, ext_flag, static)

    async def start(self) -> None:
        self.refresh()
        self.phy.open()
        self._open = True
        loop = asyncio.get_running_loop()
        loop.add_reader(self.phy.fileno(), self._readable)
        self._timers = [
            loop.create_task(self._every(REFRESH_S, self.refresh)),
            loop.create_task(self._every(TICK_S, self.dp.tick)),
        ]

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._open:
            asyncio.get_running_loop().remove_reader(self.phy.fileno())
            self.phy.close()
            self._open = False

    async def _every(self, interval: float, function: Callable[[], None]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                function()
            except Exception:  # a bug must not stop the slave answering
                log.exception("PROFIBUS periodic task failed")

    def _readable(self) -> None:
        try:
            data = self.phy.read()
        except Exception as exc:  # the adapter went away: keep the device running
            log.warning("PROFIBUS on %s: read failed (%s)", self.config.port, exc)
            return
        if data:
            self.received(data, time.monotonic())

    def received(self, data: bytes, now: float) -> None:
        """Bytes from the line at `now` (monotonic): answer what is for this station."""
        for telegram in self.receiver.feed(data, now):
            answer = self.responder.handle(telegram)
            if self.dp.address != self.responder.address:  # Set_Slave_Add
                self.responder.address = self.dp.address
                self.responder.reset()
            if answer is None:
                continue
            try:
                self.phy.write_after(answer, now + self.dp.min_tsdr * self.bit_s)
                self.answered += 1
            except Exception as exc:
                log.warning("PROFIBUS on %s: write failed (%s)", self.config.port, exc)
