"""Starting the DP slave beside the device: its own thread and asyncio loop.

Unlike the Modbus thread, this one keeps the device's scheduling priority: a DP master waits
only its slot time for an answer, so the answer's latency is a bus-timing requirement, and the
work per telegram is a few tens of microseconds, too little to delay a FIFO drain. Writes
(acknowledge, mode) reach the device's loop through `on_device`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ...catalog import Catalog
from ...live import LiveState
from ..datamodel import OnDevice
from ..source import MachineStateSource, SensorStatusSource
from .config import ProfibusConfig
from .slave import ProfibusModuleError, ProfibusStation, build_modules


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


class ProfibusThread:
    """The station on a thread and loop of its own: `await start(factory)` from the device's
    loop (errors are raised there), `await stop()` ends it."""

    def __init__(self) -> None:
        self.station: ProfibusStation | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started: concurrent.futures.Future[ProfibusStation] = concurrent.futures.Future()
        self._thread: threading.Thread | None = None

    async def start(self, factory: Callable[[], Awaitable[ProfibusStation]]) -> ProfibusStation:
        self._thread = threading.Thread(
            target=self._run, args=(factory,), name="esocore-profibus", daemon=True
        )
        self._thread.start()
        self.station = await asyncio.wrap_future(self._started)
        return self.station

    def bind(self, *args: Any) -> None:
        """`ProfibusStation.bind` on the station's loop (callable from any thread)."""
        if self.station is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: self.station and self.station.bind(*args))

    async def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30.0)

    def _run(self, factory: Callable[[], Awaitable[ProfibusStation]]) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop, factory))
        finally:
            loop.close()

    async def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        factory: Callable[[], Awaitable[ProfibusStation]],
    ) -> None:
        self._loop, self._stop = loop, asyncio.Event()
        try:
            station = await factory()
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(station)
        await self._stop.wait()
        await station.stop()


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


async def serve_beside_device(
    device: Any,
    config: ProfibusConfig,
    on_device: OnDevice,
    source: MachineStateSource | None = None,
) -> ProfibusThread | None:
    """For `esocore run`: the slave on its own thread over `device` (runtime.device.Device).
    A port that cannot be opened or modules that do not fit are reported, and the device runs
    on without PROFIBUS."""
    if not config.enabled or not config.port:
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
    except (OSError, ProfibusModuleError, ValueError) as exc:  # SerialException is an OSError
        await thread.stop()
        message = f"PROFIBUS DP slave not started: {exc}"
        print(f"esocore: {message}", flush=True)
        device.log_event("profibus_unavailable", message)
        return None
    print(
        f"esocore: PROFIBUS DP slave on {config.port} at {config.baud} baud 8-E-1, "
        f"station {config.address}, ident 0x{config.ident_number:04X}, "
        f"{len(station.modules)} modules ({station.input_size} bytes in, "
        f"{len(station.modules)} out)",
        flush=True,
    )
    return thread
