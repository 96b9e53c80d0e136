"""Building the API around a running session: key store, authenticator, context, app."""

from __future__ import annotations

import asyncio
import hashlib
import platform
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..config import DeviceConfig, HttpConfig
from .app import create_app
from .auth import Authenticator, FailedAuthLimiter, KeyRateLimiter
from .config_service import ConfigService
from .context import ApiContext, DeviceInfo
from .fast_path import LatestReadingsFastPath
from .keys import KeyStore
from .routes import metrics
from .tls import served_certificate_file

KEYS_FILE = "keys.db"
MODEL = "EsoCore Edge"


def key_store(data_dir: str | Path) -> KeyStore:
    return KeyStore(Path(data_dir) / KEYS_FILE)


def device_serial(data_dir: str | Path) -> str:
    """A stable serial: the machine id where there is one, else one made for this data dir."""
    for candidate in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            text = Path(candidate).read_text().strip()
        except OSError:
            continue
        if text:
            return "ESO-" + hashlib.sha256(text.encode()).hexdigest()[:12].upper()
    path = Path(data_dir) / "serial"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("ESO-" + secrets.token_hex(6).upper())
    return path.read_text().strip()


def build_api(
    session: object,
    data_dir: str,
    http: HttpConfig,
    restart: Callable[[DeviceConfig], asyncio.Future[None]] | None = None,
):
    """The app and its context for a running session (runtime.session.Session). `restart`
    restarts the device's services in-process with a config (the config endpoints need it
    for changes that touch acquisition or analysis); after it, call ctx.bind_device()."""
    device = session.device  # type: ignore[attr-defined]
    hardware = session.hardware  # type: ignore[attr-defined]
    keys = key_store(data_dir)

    def auth_failed(client: str, reason: str, key_id: str | None) -> None:
        ctx.log_event(
            "auth_failure", f"{reason} from {client}", data={"client": client, "key_id": key_id}
        )

    auth = Authenticator(
        keys,
        FailedAuthLimiter(http.failed_auth_limit, http.failed_auth_window_s),
        KeyRateLimiter(http.key_rate_limit_per_s, http.key_rate_burst),
        device.utc_now,
        auth_failed,
    )
    info = DeviceInfo(
        serial=device_serial(data_dir),
        model=MODEL,
        firmware_version=__version__,
        hostname=socket.gethostname(),
        board=hardware.spec.name,
        simulated=hardware.plant is not None,
        started_at=device.utc_now(),
    )
    ctx = ApiContext(
        info=info,
        catalog=device.catalog,
        live=device.live,
        store=session.store,  # type: ignore[attr-defined]
        auth=auth,
        utc_now=device.utc_now,
        log_event=device.log_event,
        health=device.health,
        plant=hardware.plant,
        data_dir=str(data_dir),
        alerts=getattr(session, "alerts", None),
        notifier=getattr(session, "notifier", None),
    )
    served = served_certificate_file(http.tls, http.cert_file, data_dir)
    ctx.tls_cert_file = str(served) if served is not None else None
    ctx.bind_device(device)
    ctx.config = ConfigService(session, ctx, restart)
    app = create_app(ctx)
    app.add_middleware(LatestReadingsFastPath, ctx=ctx)  # inside the metrics: counted
    metrics.install(app, ctx)
    from ..ui import install as install_ui

    install_ui(app, ctx, data_dir)  # web UI at /; sessions as the alternative to API keys
    return app, ctx


def platform_summary() -> str:
    return f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
