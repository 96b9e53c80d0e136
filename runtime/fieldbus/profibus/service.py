"""Starting the DP slave beside the device: its own thread and asyncio loop.

Unlike the Modbus thread, this one keeps the device's scheduling priority: a DP master waits
only its slot time for an answer, so the answer's latency is a bus-timing requirement, and the
work per telegram is a few tens of microseconds, too little to delay a FIFO drain. Writes
(acknowledge, mode) reach the device's loop through `on_device`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ...catalog import Catalog
from ...live import LiveState
from ..datamodel import OnDevice
from ..service_thread import FrontEndUnavailable, ServiceThread
from ..source import MachineStateSource, SensorStatusSource
from .config import MAX_STATION, ProfibusConfig
from .slave import ProfibusStation, build_modules


class SwitchReading(Protocol):
    """What the board's address switch showed (board.SwitchReading satisfies it)."""

    value: int
    levels: tuple[bool, ...]


ReadSwitch = Callable[[], SwitchReading]


class SwitchAddressError(Exception):
    """No usable station address on the switch; `reading` is what it showed (None: unread)."""

    def __init__(self, message: str, reading: SwitchReading | None = None) -> None:
        super().__init__(message)
        self.reading = reading


def address_from_switch(read_switch: ReadSwitch | None) -> SwitchReading:
    """Read the station address from the board's switch, or say why the slave cannot start:
    a reading of 126 or 127 is refused rather than answered at (126 is where an unset slave
    waits for Set_Slave_Add, 127 the broadcast address), and so is a switch that cannot be
    read: a slave at a wrong address would answer for another station."""
    if read_switch is None:
        raise SwitchAddressError(
            'address = "switch", but this board has no address switch ([board.address_switch]); '
            f"give the station address 0..{MAX_STATION}"
        )
    try:
        reading = read_switch()
    except Exception as exc:  # a GPIO line that cannot be requested or read
        raise SwitchAddressError(f"cannot read the board's address switch: {exc}") from exc
    if not 0 <= reading.value <= MAX_STATION:
        meaning = "the default address of an unset slave" if reading.value == 126 else "broadcast"
        raise SwitchAddressError(
            f"the board's address switch reads {reading.value}, which is not a station "
            f"address (0..{MAX_STATION}; {reading.value} is {meaning}): set the switch to "
            "the station's address, then restart the device or save the [profibus] section "
            "again",
            reading,
        )
    return reading


def not_started(device: Any, reason: str) -> FrontEndUnavailable:
    """Report a slave that is not started (`esocore run` output and the event log) and give
    the exception that tells the front ends; the device runs on without PROFIBUS."""
    message = f"PROFIBUS DP slave not started: {reason}"
    print(f"esocore: {message}", flush=True)
    device.log_event("profibus_unavailable", message)
    return FrontEndUnavailable(message)


async def start_profibus(
    config: ProfibusConfig,
    live: LiveState,
    catalog: Catalog,
    source: MachineStateSource,
    log_event: Callable[..., None] | None = None,
    *,
    on_device: OnDevice | None = None,
    utc_now: Callable[[], float] = time.time,
) -> ProfibusStation:
    """The station, answering on the running loop. ProfibusModuleError for a module list that
    does not fit the plant, OSError (or serial.SerialException) when the port cannot be
    opened; nothing is left running then."""
    modules = build_modules(config, catalog)
    station = ProfibusStation(
        config,
        modules,
        live,
        catalog,
        source,
        on_device=on_device,
        log_event=log_event,
        utc_now=utc_now,
    )
    try:
        await station.start()
    except BaseException:
        await station.stop()
        raise
    return station


class ProfibusThread(ServiceThread[ProfibusStation]):
    """The DP station on a thread of its own (see runtime.fieldbus.service_thread)."""

    def __init__(self) -> None:
        super().__init__("esocore-profibus")


def with_overrides(
    config: ProfibusConfig, port: str | None, address: int | None, baud: int | None
) -> ProfibusConfig:
    """`esocore run --profibus-port/--profibus-address/--profibus-baud` over the config (a
    port given enables the slave); the result is validated like the config itself."""
    data = config.model_dump()
    if port is not None:
        data.update(port=port, enabled=True)
    if address is not None:
        data["address"] = address
    if baud is not None:
        data["baud"] = baud
    return ProfibusConfig.model_validate(data)


def wanted(config: ProfibusConfig) -> bool:
    """Whether `config` asks for the slave (enabled, on a port)."""
    return config.enabled and bool(config.port)


async def serve_beside_device(
    device: Any,
    config: ProfibusConfig,
    on_device: OnDevice,
    source: MachineStateSource | None = None,
    address_from: str = "",
) -> ProfibusThread | None:
    """For `esocore run`: the slave on its own thread over `device` (runtime.device.Device).
    A port that cannot be opened or modules that do not fit are reported, and the device runs
    on without PROFIBUS: FrontEndUnavailable says why. None when the slave is off.
    `address_from` says in the start line where the address came from ("address switch")."""
    if not wanted(config):
        return None
    if source is None:
        source = SensorStatusSource(device.live, device.catalog)
    thread = ProfibusThread()
    try:
        station = await thread.start(
            lambda: start_profibus(
                config, device.live, device.catalog, source, device.log_event, on_device=on_device
            )
        )
    # OSError (SerialException is one), ProfibusModuleError, ValueError, and termios.error
    # from a line that opens but cannot be set up: whatever it is, the device runs on.
    except Exception as exc:
        await thread.stop()
        raise not_started(device, str(exc)) from exc
    where = f" (from the {address_from})" if address_from else ""
    print(
        f"esocore: PROFIBUS DP slave on {config.port} at {config.baud} baud 8-E-1, "
        f"station {config.address}{where}, ident 0x{config.ident_number:04X}, "
        f"{len(station.modules)} modules ({station.input_size} bytes in, "
        f"{len(station.modules)} out)",
        flush=True,
    )
    return thread
