"""Starting and stopping the Modbus server (TCP and/or RTU) over one data model.

`start_modbus` runs on whatever asyncio loop awaits it. `esocore run` starts it inside a
`ModbusThread` (a thread and loop of its own, at a lower priority), so no request ever delays
a FIFO drain on the device's loop; writes reach the device's loop through `on_device`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from ..catalog import Catalog
from ..live import LiveState
from ..ports import standard_or_fallback
from .config import ModbusConfig
from .datamodel import DataModel, OnDevice
from .registermap import ModbusMapError, RegisterMap, build_register_map
from .rtu import ModbusRtuServer
from .service_thread import FrontEndUnavailable, ServiceThread
from .source import MachineStateSource, SensorStatusSource
from .tcp import ModbusTcpServer, TcpSettings

log = logging.getLogger("esocore.modbus")

PRIVILEGED_PORT = 502
FALLBACK_PORT = 5020


def choose_port(host: str, port: int | None) -> int:
    """The configured port, else 502 when this process may bind it, else 5020."""
    if port is not None:
        return port
    return standard_or_fallback(host, PRIVILEGED_PORT, FALLBACK_PORT)


class ModbusService:
    """The running server: `await stop()`; `bind()` after an in-process restart."""

    def __init__(
        self,
        config: ModbusConfig,
        regmap: RegisterMap,
        live: LiveState,
        source: MachineStateSource,
        log_event: Callable[..., None] | None,
        on_device: OnDevice | None,
        utc_now: Callable[[], float],
    ) -> None:
        self.config, self.source, self.log_event = config, source, log_event
        self.on_device, self.utc_now = on_device, utc_now
        self.model = self._model(config, regmap, live)
        self.tcp: ModbusTcpServer | None = None
        self.rtu: ModbusRtuServer | None = None

    def _model(self, config: ModbusConfig, regmap: RegisterMap, live: LiveState) -> DataModel:
        return DataModel(
            regmap,
            live,
            self.source,
            writes_enabled=config.writes_enabled,
            gaps=config.gaps,
            max_age_s=config.max_age_s,
            utc_now=self.utc_now,
            on_device=self.on_device,
            log_event=self.log_event,
        )

    @property
    def tcp_port(self) -> int | None:
        return self.tcp.port if self.tcp is not None else None

    def bind(self, live: LiveState, catalog: Catalog, config: ModbusConfig | None = None) -> None:
        """Serve another device's state (an in-process restart) and, if given, a new map,
        writes, gaps, ages, orders and unit id. A map that does not fit the new plant keeps
        the old one (and says why in the event log). Listener settings (host, port, serial
        line) need a new service: runtime.fieldbus.frontends stops this one and starts one."""
        config = config or self.config
        if isinstance(self.source, SensorStatusSource):
            self.source.bind(live, catalog)
        try:
            regmap = build_register_map(config, catalog)
        except ModbusMapError as exc:
            if self.log_event is not None:
                self.log_event("modbus_map_refused", f"{exc}; the previous map stays")
            regmap = self.model.map
        self.config = config
        self.model = self._model(config, regmap, live)
        unit = None if config.unit_id == "any" else int(config.unit_id)
        if self.tcp is not None:
            self.tcp.settings.unit_id = unit
        if self.rtu is not None:
            self.rtu.unit_id = unit

    async def stop(self) -> None:
        if self.tcp is not None:
            await self.tcp.stop()
        if self.rtu is not None:
            await self.rtu.stop()


async def start_modbus(
    config: ModbusConfig,
    live: LiveState,
    catalog: Catalog,
    state_source: MachineStateSource,
    log_event: Callable[..., None] | None = None,
    *,
    on_device: OnDevice | None = None,
    utc_now: Callable[[], float] = time.time,
) -> ModbusService:
    """Start TCP and/or RTU as configured; ModbusMapError for a map that does not fit,
    OSError when the port or serial line cannot be opened (nothing is left running)."""
    regmap = build_register_map(config, catalog)
    service = ModbusService(config, regmap, live, state_source, log_event, on_device, utc_now)
    unit = None if config.unit_id == "any" else int(config.unit_id)
    try:
        if config.tcp.enabled:
            settings = TcpSettings(
                unit_id=unit,
                max_clients=config.tcp.max_clients,
                idle_timeout_s=config.tcp.idle_timeout_s,
                allowed=[ipaddress.ip_network(a, strict=False) for a in config.tcp.allowed_clients],
            )
            tcp = ModbusTcpServer(lambda: service.model, settings, log_event)
            await tcp.start(config.tcp.host, choose_port(config.tcp.host, config.tcp.port))
            service.tcp = tcp
        if config.rtu.enabled and config.rtu.device:
            rtu = ModbusRtuServer(
                lambda: service.model,
                config.rtu.device,
                config.rtu.baud,
                config.rtu.parity,
                config.rtu.stop_bits,
                unit,
            )
            await rtu.start()
            service.rtu = rtu
    except BaseException:
        await service.stop()
        raise
    return service


class ModbusThread(ServiceThread[ModbusService]):
    """The Modbus service on a thread of its own (see service_thread)."""

    def __init__(self) -> None:
        super().__init__("esocore-modbus")


def with_overrides(
    config: ModbusConfig,
    port: int | None,
    rtu_device: str | None,
    rtu_baud: int | None,
    host: str | None = None,
) -> ModbusConfig:
    """`esocore run --modbus-port/--modbus-host/--modbus-rtu/--modbus-rtu-baud` over the
    config."""
    tcp, rtu = config.tcp, config.rtu
    if host is not None:
        tcp = tcp.model_copy(update={"host": host})
    if port is not None:
        tcp = tcp.model_copy(update={"port": port, "enabled": True})
    if rtu_device is not None:
        rtu = rtu.model_copy(update={"device": rtu_device, "enabled": True})
    if rtu_baud is not None:
        rtu = rtu.model_copy(update={"baud": rtu_baud})
    if port is None and rtu_device is None:
        return config.model_copy(update={"tcp": tcp, "rtu": rtu})
    return config.model_copy(update={"tcp": tcp, "rtu": rtu, "enabled": True})


def wanted(config: ModbusConfig) -> bool:
    """Whether `config` asks for a server at all (enabled, and TCP or RTU on)."""
    return config.enabled and (
        config.tcp.enabled or (config.rtu.enabled and bool(config.rtu.device))
    )


async def serve_beside_device(
    device: Any,
    config: ModbusConfig,
    on_device: OnDevice,
    source: MachineStateSource | None = None,
) -> ModbusThread | None:
    """For `esocore run`: the service on its own thread over `device` (runtime.device.Device)
    with `source` (the alert service; by default status from the sensors alone). A port or
    serial line that cannot be opened, or a map that does not fit, is reported and the device
    runs on without Modbus: FrontEndUnavailable says why. None when the config serves
    nothing."""
    if not wanted(config):
        return None
    if source is None:
        source = SensorStatusSource(device.live, device.catalog)
    thread = ModbusThread()
    try:
        service = await thread.start(
            lambda: start_modbus(
                config, device.live, device.catalog, source, device.log_event, on_device=on_device
            )
        )
    # OSError, ModbusMapError, and termios.error from a serial line that opens but
    # cannot be set up: whatever it is, the device runs on without Modbus.
    except Exception as exc:
        await thread.stop()
        message = f"Modbus server not started: {exc}"
        print(f"esocore: {message}", flush=True)
        device.log_event("modbus_unavailable", message)
        raise FrontEndUnavailable(message) from exc
    unit = config.unit_id
    if service.tcp is not None:
        print(
            f"esocore: Modbus TCP at {config.tcp.host}:{service.tcp_port} (unit {unit})", flush=True
        )
    if service.rtu is not None:
        rtu = config.rtu
        line = f"{rtu.baud} 8-{rtu.parity}-{rtu.stop_bits}"
        print(f"esocore: Modbus RTU on {rtu.device} at {line} (unit {unit})", flush=True)
    return thread
