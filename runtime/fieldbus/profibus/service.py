"""Starting the DP slave beside the device: its own thread and asyncio loop.

Unlike the Modbus thread, this one keeps the device's scheduling priority: a DP master waits
only its slot time for an answer, so the answer's latency is a bus-timing requirement, and the
work per telegram is a few tens of microseconds, too little to delay a FIFO drain. Writes
(acknowledge, mode) reach the device's loop through `on_device`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...catalog import Catalog
from ...live import LiveState
from ..datamodel import OnDevice
from ..service_thread import FrontEndUnavailable, ServiceThread
from ..source import MachineStateSource, SensorStatusSource
from .config import ProfibusConfig
from .slave import ProfibusStation, build_modules


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
) -> ProfibusThread | None:
    """For `esocore run`: the slave on its own thread over `device` (runtime.device.Device).
    A port that cannot be opened or modules that do not fit are reported, and the device runs
    on without PROFIBUS: FrontEndUnavailable says why. None when the slave is off."""
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
        message = f"PROFIBUS DP slave not started: {exc}"
        print(f"esocore: {message}", flush=True)
        device.log_event("profibus_unavailable", message)
        raise FrontEndUnavailable(message) from exc
    print(
        f"esocore: PROFIBUS DP slave on {config.port} at {config.baud} baud 8-E-1, "
        f"station {config.address}, ident 0x{config.ident_number:04X}, "
        f"{len(station.modules)} modules ({station.input_size} bytes in, "
        f"{len(station.modules)} out)",
        flush=True,
    )
    return thread
