"""The fieldbus front ends of `esocore run` (Modbus TCP/RTU, PROFIBUS DP), kept in step with
the config while the device runs, and what each is really doing (`status`).

A change to `[modbus]` or `[profibus]` made through the API reaches the running front end
without touching acquisition: what a running server can take (register map, writes, unit id,
gaps, ages, word and byte order; PROFIBUS modules, ident number, writes) is bound into it;
listener settings (enabled, TCP host and port, serial line, station address, baud) stop its
thread and start a new one. A front end that cannot start (a port taken, a serial line that
cannot be opened) is reported in the event log and by `status`; the device runs on without it.

Command-line overrides (`--modbus-port`, `--profibus-address`, ...) apply from the start; once
a section is changed through the API, the config's section is what runs, and an event says the
overrides were replaced (docs/modbus.md, docs/profibus.md).

Everything here runs on the device's loop; `Remote` lets the API's thread call in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..readings import iso_utc
from .alert_source import AlertStateSource
from .config import ModbusConfig
from .datamodel import OnDevice
from .profibus import service as profibus_service
from .profibus.config import FROM_SWITCH, ProfibusConfig
from .service import serve_beside_device, wanted
from .service_thread import FrontEndUnavailable, ServiceThread

T = TypeVar("T")


class FrontEnd:
    """One front end: the settings it runs (overrides included), its thread, its last problem.
    Subclasses say which settings need a new listener and how to start and describe it."""

    name = ""  # the config section
    listener_keys: tuple[str, ...] = ()

    def __init__(self, config: Any, overrides: list[str]) -> None:
        self.config = config
        self.overrides = overrides  # command-line flags in effect, e.g. ["--modbus-port"]
        self.thread: ServiceThread[Any] | None = None
        self.error: str | None = None
        self.since: float | None = None  # UTC epoch seconds of the last start

    # -- per protocol --------------------------------------------------------------------

    def wanted(self) -> bool:
        raise NotImplementedError

    async def serve(self, device: Any, on_device: OnDevice, source: Any) -> Any:
        raise NotImplementedError

    def details(self) -> dict[str, Any]:
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------------

    def listener(self, config: Any) -> dict[str, Any]:
        return config.model_dump(include=set(self.listener_keys))

    async def start(self, device: Any, on_device: OnDevice, source: Any) -> None:
        """Start when the settings ask for it; a failure is kept in `error` (and already in
        the event log), never raised: the device runs on without this front end."""
        self.error = None
        if not self.wanted():
            return
        try:
            self.thread = await self.serve(device, on_device, source)
        except FrontEndUnavailable as exc:
            self.thread, self.error = None, str(exc)
        self.since = device.utc_now()

    async def stop(self) -> None:
        thread, self.thread = self.thread, None
        if thread is not None:
            await thread.stop()

    def rebind(self, device: Any) -> None:
        """Serve a rebuilt device's live state and catalog (an in-process restart)."""
        if self.thread is not None:
            self.thread.bind(device.live, device.catalog, self.config)

    async def follow(
        self, config: Any, device: Any, on_device: OnDevice, source: Any
    ) -> dict[str, Any]:
        """Run `config` (the section as the API changed it) from now on: bind what a
        running server takes, restart the listener for the rest. Says what was done."""
        if self.overrides:
            flags = ", ".join(self.overrides)
            device.log_event(
                "fieldbus_overrides_replaced",
                f"[{self.name}] changed through the API: the command-line overrides {flags} "
                f"no longer apply; the config's [{self.name}] section runs",
                data={"section": self.name, "overrides": self.overrides},
            )
            self.overrides = []
        new_listener = self.listener(config) != self.listener(self.config)
        self.config = config
        if not self.wanted():
            action = "stopped" if self.thread is not None else "off"
            await self.stop()
            self.error = None
        elif self.thread is None or new_listener:
            action = "restarted" if self.thread is not None else "started"
            await self.stop()
            await self.start(device, on_device, source)
            if self.error is not None:
                action = "failed"
        else:
            await self.thread.bind_now(device.live, device.catalog, config)
            action = "updated"
        return {"action": action, "running": self.thread is not None, "error": self.error}

    def status(self) -> dict[str, Any]:
        return {
            "enabled": bool(self.config.enabled),
            "running": self.thread is not None,
            "error": self.error,
            "since": iso_utc(self.since) if self.since is not None else None,
            "settings_from": "command_line" if self.overrides else "config",
            "overrides": list(self.overrides),
            **self.details(),
        }


class ModbusFrontEnd(FrontEnd):
    name = "modbus"
    listener_keys = ("enabled", "tcp", "rtu")

    def wanted(self) -> bool:
        return wanted(self.config)

    async def serve(self, device: Any, on_device: OnDevice, source: Any) -> Any:
        return await serve_beside_device(device, self.config, on_device, source)

    def details(self) -> dict[str, Any]:
        config: ModbusConfig = self.config
        service = self.thread.service if self.thread is not None else None
        tcp, rtu = config.tcp, config.rtu
        return {
            "unit_id": config.unit_id,
            "writes_enabled": config.writes_enabled,
            "register_map": "custom" if config.registers is not None else "default",
            "tcp": {
                "enabled": tcp.enabled,
                "host": tcp.host,
                "port": tcp.port,  # as set; None: 502 when allowed, else 5020
                "listening": service is not None and service.tcp is not None,
                "bound_port": service.tcp_port if service is not None else None,
            },
            "rtu": {
                "enabled": rtu.enabled,
                "device": rtu.device,
                "baud": rtu.baud,
                "parity": rtu.parity,
                "stop_bits": rtu.stop_bits,
                "open": service is not None and service.rtu is not None,
            },
        }


class ProfibusFrontEnd(FrontEnd):
    """The DP slave. With `address = "switch"` the board's address switch (`read_switch`,
    board.AddressSwitch.read) is read at every start, so a restart takes a new setting."""

    name = "profibus"
    listener_keys = ("enabled", "port", "baud", "address", "rts_direction")

    def __init__(
        self,
        config: Any,
        overrides: list[str],
        read_switch: profibus_service.ReadSwitch | None = None,
    ) -> None:
        super().__init__(config, overrides)
        self.read_switch = read_switch
        self.switch: profibus_service.SwitchReading | None = None  # the last reading

    def wanted(self) -> bool:
        return profibus_service.wanted(self.config)

    async def serve(self, device: Any, on_device: OnDevice, source: Any) -> Any:
        config: ProfibusConfig = self.config
        self.switch = None
        if config.address != FROM_SWITCH:
            return await profibus_service.serve_beside_device(device, config, on_device, source)
        try:
            self.switch = profibus_service.address_from_switch(self.read_switch)
        except profibus_service.SwitchAddressError as exc:
            self.switch = exc.reading
            raise profibus_service.not_started(device, str(exc)) from exc
        config = config.model_copy(update={"address": self.switch.value})
        return await profibus_service.serve_beside_device(
            device, config, on_device, source, address_from="address switch"
        )

    def address_from(self) -> str:
        """Where the station address comes from: the switch, the command line or the config."""
        if self.config.address == FROM_SWITCH:
            return "switch"
        return "command_line" if "--profibus-address" in self.overrides else "config"

    def details(self) -> dict[str, Any]:
        config: ProfibusConfig = self.config
        station = self.thread.service if self.thread is not None else None
        dp = station.dp if station is not None else None
        configured = config.address if isinstance(config.address, int) else None
        switch = self.switch if config.address == FROM_SWITCH else None
        return {
            "port": config.port,
            "address": dp.address if dp is not None else configured,
            "address_from": self.address_from(),
            # The switch's raw reading (its number and each line's level, bit 0 first).
            "address_switch": (
                {"value": switch.value, "levels": [int(level) for level in switch.levels]}
                if switch is not None
                else None
            ),
            "baud": config.baud,
            "ident_number": config.ident_number,
            "ident_hex": f"0x{config.ident_number:04X}",
            "writes_enabled": config.writes_enabled,
            "modules": len(station.modules) if station is not None else None,
            "input_bytes": station.input_size if station is not None else None,
            "dp_state": dp.state.value if dp is not None else None,
            "master": dp.master if dp is not None else None,
        }


class FieldbusFrontEnds:
    """Both front ends over whatever device the session runs now (`device()`)."""

    def __init__(
        self,
        modbus: ModbusFrontEnd,
        profibus: ProfibusFrontEnd,
        device: Callable[[], Any],
        alerts: Any,
        on_device: OnDevice,
    ) -> None:
        self.modbus, self.profibus = modbus, profibus
        self.device, self.alerts, self.on_device = device, alerts, on_device

    @property
    def all(self) -> tuple[FrontEnd, ...]:
        return (self.modbus, self.profibus)

    def _source(self) -> Any:
        return AlertStateSource(self.alerts) if self.alerts is not None else None

    async def start(self) -> None:
        for front in self.all:
            await front.start(self.device(), self.on_device, self._source())

    async def stop(self) -> None:
        for front in reversed(self.all):
            await front.stop()

    def rebind(self) -> None:
        device = self.device()
        for front in self.all:
            front.rebind(device)

    async def follow(self, config: Any, sections: list[str]) -> dict[str, Any]:
        """Apply the changed `sections` ("modbus", "profibus") of `config` (the new device
        config, runtime.config.DeviceConfig); per section what was done."""
        done: dict[str, Any] = {}
        for front in self.all:
            if front.name in sections:
                section = getattr(config, front.name)
                done[front.name] = await front.follow(
                    section, self.device(), self.on_device, self._source()
                )
        return done

    def status(self) -> dict[str, Any]:
        return {front.name: front.status() for front in self.all}

    def remote(self, loop: asyncio.AbstractEventLoop) -> Remote:
        return Remote(self, loop)


class Remote:
    """`FieldbusFrontEnds` for a caller on another thread's loop (the API's): every call runs
    on the device's loop, one at a time with the restarts there."""

    def __init__(self, frontends: FieldbusFrontEnds, loop: asyncio.AbstractEventLoop) -> None:
        self.frontends, self.loop = frontends, loop

    async def follow(self, config: Any, sections: list[str]) -> dict[str, Any]:
        return await self._on_loop(self.frontends.follow(config, sections))

    async def status(self) -> dict[str, Any]:
        async def status() -> dict[str, Any]:
            return self.frontends.status()

        return await self._on_loop(status())

    async def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        if asyncio.get_running_loop() is self.loop:
            return await work
        running = asyncio.run_coroutine_threadsafe(work, self.loop)
        return await asyncio.wrap_future(running)


def modbus_overrides(
    port: int | None, rtu: str | None, baud: int | None, host: str | None
) -> list[str]:
    """The `esocore run` flags among the Modbus overrides that were given."""
    given = {"--modbus-port": port, "--modbus-rtu": rtu, "--modbus-rtu-baud": baud}
    given["--modbus-host"] = host
    return [flag for flag, value in given.items() if value is not None]


def profibus_overrides(port: str | None, address: int | None, baud: int | None) -> list[str]:
    """The `esocore run` flags among the PROFIBUS overrides that were given."""
    given = {"--profibus-port": port, "--profibus-address": address, "--profibus-baud": baud}
    return [flag for flag, value in given.items() if value is not None]
