"""What the API reads and acts on: one object handed to every route.

Routes read the catalog, the live state and the store (the read model every front end shares)
and never touch drivers or the scheduler directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..catalog import Catalog
from ..live import LiveState
from .auth import Authenticator
from .export_process import ExportRunner
from .live_stream import StreamHub
from .response_cache import LiveBodyCache


@dataclass(frozen=True)
class DeviceInfo:
    serial: str
    model: str
    firmware_version: str
    hostname: str
    board: str
    simulated: bool
    started_at: float  # UTC epoch seconds


@dataclass
class ApiContext:
    info: DeviceInfo
    catalog: Catalog
    live: LiveState
    store: Any  # runtime.store.Store
    auth: Authenticator
    utc_now: Callable[[], float]
    log_event: Callable[..., None]  # (kind, message, sensor_id=, device_id=, data=)
    health: Callable[[], dict[str, Any]]  # Device.health
    config: Any = None  # runtime.api.config_service.ConfigService (config endpoints)
    plant: Any = None  # hal_sim Plant on a simulated board, else None
    alerts: Any = None  # runtime.alerts.service.AlertService
    notifier: Any = None  # runtime.notify.notifier.Notifier
    fieldbus: Any = None  # runtime.fieldbus.frontends.Remote: running front ends (esocore run)
    data_dir: str = "data"
    tls_cert_file: str | None = None  # the certificate the listener serves; None over HTTP
    carried: CarriedCounters = field(default_factory=lambda: CarriedCounters())
    # Runs a function on the device's loop thread (the plant, the device's stages and the
    # scheduler belong to it) and returns its result; the API serves from a thread of its own.
    on_device: Callable[[Callable[[], Any]], Awaitable[Any]] = field(
        default_factory=lambda: _call_here
    )
    latest_bodies: LiveBodyCache = field(default_factory=LiveBodyCache)
    streams: StreamHub = field(default_factory=StreamHub)  # GET /stream/
    exports: ExportRunner = field(default_factory=ExportRunner)  # file downloads' children
    _device: Any = field(default=None, repr=False)

    def bind_device(self, device: Any) -> None:
        """Read from `device` (runtime.device.Device) from now on: at start, and when an
        in-process restart has replaced it. The replaced device's counters are carried over,
        so counters the API reports keep counting up."""
        old = self._device
        if old is not None and old is not device:
            self.carried.add(old.health())
        self._device = device
        self.catalog = device.catalog
        self.live = device.live
        self.health = device.health
        self.log_event = device.log_event

    def refresh_catalog(self) -> None:
        """The bound device's catalog changed in place (names and descriptions)."""
        if self._device is not None:
            self.catalog = self._device.catalog


async def _call_here(function: Callable[[], Any]) -> Any:
    """on_device when the API and the device share one loop (tests of the app alone)."""
    return function()


@dataclass
class CarriedCounters:
    """Counts of devices replaced by in-process restarts (added to the running one's)."""

    restarts: int = 0
    deadline_misses: int = 0
    overflows: dict[str, int] = field(default_factory=dict)  # per sensor

    def add(self, health: dict[str, Any]) -> None:
        self.restarts += 1
        self.deadline_misses += int(health.get("deadline_misses", 0))
        for sensor_id, status in health.get("sensors", {}).items():
            count = int(status.get("overflows", 0))
            self.overflows[sensor_id] = self.overflows.get(sensor_id, 0) + count
