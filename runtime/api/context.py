"""What the API reads and acts on: one object handed to every route.

Routes read the catalog, the live state and the store (the read model every front end shares)
and never touch drivers or the scheduler directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog
from ..live import LiveState
from .auth import Authenticator


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
    data_dir: str = "data"
