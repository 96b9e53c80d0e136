"""The web UI's pages: server-rendered shells (Jinja2) whose scripts read and change
everything through the REST API with the session, exactly as an integrator's client would.

A page checks the session itself: no session goes to /login, a user who must change the
initial password goes to /password, a role below the page's gets a 403 page.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..alerts.iso20816 import boundaries
from ..notify.config import EVENTS
from ..notify.templates import PLACEHOLDERS
from .sessions import session_of
from .users import UI_ROLES, Session

HERE = Path(__file__).parent
RANK = {role: i for i, role in enumerate(UI_ROLES)}
SEVERITIES = ("info", "warning", "alert", "critical")

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def load_assets(folder: Path = HERE / "static") -> dict[str, Asset]:
    assets = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media.startswith("text/") or media.endswith("javascript"):
            media += "; charset=utf-8"
        etag = hashlib.sha256(body).hexdigest()[:16]
        assets[path.name] = Asset(body, gzip.compress(body, 9, mtime=0), media, etag)
    return assets


ASSETS = load_assets()
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["static"] = lambda name: f"/static/{name}?v={ASSETS[name].etag}"


@router.get("/static/{name}")
def static(name: str, request: Request) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        return Response("not found", 404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=604800, immutable", "ETag": f'"{asset.etag}"'}
    if request.headers.get("if-none-match") == f'"{asset.etag}"':
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _render(
    request: Request, template: str, page: str, title: str, session: Session | None, **extra: Any
) -> HTMLResponse:
    ctx = request.app.state.ctx
    html = _env.get_template(template).render(
        page=page,
        title=title,
        device_name=_device_name(ctx),
        user=session.user if session else None,
        role=session.role if session else None,
        csrf=session.csrf if session else None,
        must_change=session.must_change if session else False,
        **extra,
    )
    status = extra.get("status", 200)
    return HTMLResponse(
        html,
        status,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'",
            "Referrer-Policy": "same-origin",
        },
    )


def _device_name(ctx: Any) -> str:
    config = getattr(ctx.config, "current", None)
    return config.device.name if config is not None else ctx.info.hostname


def _gate(request: Request, role: str = "viewer") -> Session | Response:
    """The session for a page that needs `role`, or the answer that replaces the page."""
    ctx = request.app.state.ctx
    session = session_of(request, request.app.state.users, ctx.utc_now())
    if session is None:
        return RedirectResponse("/login", 303)
    if session.must_change:
        return RedirectResponse("/password", 303)
    if RANK[session.role] < RANK[role]:
        return _render(
            request,
            "error.html",
            "error",
            "Not allowed",
            session,
            heading="Not allowed",
            message=f"This page needs the {role} role; you are logged in as {session.role}.",
            status=403,
        )
    return session


def _not_found(request: Request, session: Session, heading: str, message: str) -> Response:
    return _render(
        request,
        "error.html",
        "error",
        "Not found",
        session,
        heading=heading,
        message=message,
        status=404,
    )


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)  # none: browsers ask for it on every first visit


@router.get("/login")
def login_page(request: Request) -> Response:
    ctx = request.app.state.ctx
    session = session_of(request, request.app.state.users, ctx.utc_now())
    if session is not None:
        return RedirectResponse("/password" if session.must_change else "/", 303)
    return _render(request, "login.html", "login", "Log in", None)


@router.get("/password")
def password_page(request: Request) -> Response:
    ctx = request.app.state.ctx
    session = session_of(request, request.app.state.users, ctx.utc_now())
    if session is None:
        return RedirectResponse("/login", 303)
    return _render(request, "password.html", "password", "Change password", session)


@router.get("/")
def dashboard(request: Request) -> Response:
    return _plant_page(request, "dashboard", "Dashboard")


@router.get("/machines/{machine_id}")
def machine_page(machine_id: str, request: Request) -> Response:
    session = _gate(request)
    if isinstance(session, Response):
        return session
    ctx = request.app.state.ctx
    machine = ctx.catalog.machine(machine_id)
    if machine is None:
        return _not_found(
            request, session, "No such machine", f"This device watches no machine {machine_id!r}."
        )
    sensors = [ctx.catalog.sensor(s) for s in machine.sensor_ids]
    sensors = [s for s in sensors if s is not None]
    metrics = sorted({m for s in sensors for m in s.metrics})
    accel = [s for s in sensors if s.axes]
    data = {
        "id": machine.id,
        "sensors": {s.id: {"name": s.name, "axes": list(s.axes)} for s in sensors},
        "markers": _markers(ctx, machine),
        "thresholds": _thresholds(machine),
    }
    return _render(
        request,
        "machine.html",
        "machine",
        machine.name,
        session,
        machine=machine,
        metrics=metrics,
        accel_sensors=accel,
        machine_data=data,
    )


def _markers(ctx: Any, machine: Any) -> dict[str, float]:
    """Frequencies (Hz) to mark on the spectra: 1x-3x running speed and the configured
    bearing's defect frequencies."""
    if not machine.running_speed_rpm:
        return {}
    shaft = machine.running_speed_rpm / 60.0
    marks = {"1x": shaft, "2x": 2 * shaft, "3x": 3 * shaft}
    config = getattr(ctx.config, "current", None)
    spec = (
        next((m.bearing for m in config.machines if m.id == machine.id), None) if config else None
    )
    if spec is not None:
        from dsp_ext.bearing import bearing_frequencies

        try:
            freqs = bearing_frequencies(spec.geometry(), shaft)
        except ValueError:
            return marks
        marks.update({"BPFO": freqs.bpfo, "BPFI": freqs.bpfi, "BSF": freqs.bsf, "FTF": freqs.ftf})
    return marks


def _thresholds(machine: Any) -> dict[str, list[dict[str, Any]]]:
    """Levels drawn on the trend: the ISO 20816 zone boundaries for vibration_rms (B/C is
    where the built-in rules warn, C/D where they alert)."""
    try:
        ab, bc, cd = boundaries(machine.iso_group, machine.foundation)
    except ValueError:
        return {}
    return {
        "vibration_rms": [
            {"label": "A/B", "value": ab, "kind": "info"},
            {"label": "B/C warning", "value": bc, "kind": "warning"},
            {"label": "C/D alert", "value": cd, "kind": "alert"},
        ]
    }


@router.get("/alerts")
def alerts_page(request: Request) -> Response:
    return _plant_page(request, "alerts", "Alerts")


def _plant_page(request: Request, page: str, title: str) -> Response:
    """A page over all machines (template `<page>.html`), for every role."""
    session = _gate(request)
    if isinstance(session, Response):
        return session
    machines = request.app.state.ctx.catalog.machines
    return _render(request, f"{page}.html", page, title, session, machines=machines)


@router.get("/export")
def export_page(request: Request) -> Response:
    session = _gate(request)
    if isinstance(session, Response):
        return session
    ctx = request.app.state.ctx
    return _render(request, "export.html", "export", "Export data", session, **export_context(ctx))


def export_context(ctx: Any) -> dict[str, Any]:
    """What the export form offers: machines with their sensors, and every metric measured
    (the history API's filters take exactly these ids)."""
    catalog = ctx.catalog
    sensors = {s.id: s for s in catalog.sensors}
    machines = [
        {
            "id": m.id,
            "name": m.name,
            "sensors": [
                {"id": s.id, "name": s.name, "metrics": list(s.metrics)}
                for s in (sensors.get(i) for i in m.sensor_ids)
                if s is not None
            ],
        }
        for m in catalog.machines
    ]
    metrics = sorted({metric for s in catalog.sensors for metric in s.metrics})
    return {"machines": machines, "metrics": metrics}


# -- settings: one entry per page, the nav is drawn from this table --------------------------


@dataclass(frozen=True)
class SettingsPage:
    slug: str  # /settings/<slug>, template settings_<slug>.html, page id settings-<slug>
    title: str
    role: str  # the least role that may open it


SETTINGS_PAGES = (
    SettingsPage("webhooks", "Webhooks", "operator"),
    SettingsPage("email", "Email", "operator"),
    SettingsPage("fieldbus", "Fieldbus", "operator"),
    SettingsPage("machines", "Machines and sensors", "operator"),
    SettingsPage("device", "Device", "operator"),
    SettingsPage("keys", "API keys", "admin"),
    SettingsPage("users", "Users", "admin"),
)
_SETTINGS = {p.slug: p for p in SETTINGS_PAGES}

# Extra template values per settings page, from the request's app context.
SettingsContext = Callable[[Any], dict[str, Any]]
_CONTEXTS: dict[str, SettingsContext] = {}


def settings_context(slug: str) -> Callable[[SettingsContext], SettingsContext]:
    def register(fn: SettingsContext) -> SettingsContext:
        _CONTEXTS[slug] = fn
        return fn

    return register


_env.globals["settings_pages"] = lambda role: [
    p for p in SETTINGS_PAGES if role in RANK and RANK[role] >= RANK[p.role]
]


@router.get("/settings")
def settings_page(request: Request) -> Response:
    session = _gate(request, "operator")
    if isinstance(session, Response):
        return session
    return RedirectResponse("/settings/webhooks", 303)


@router.get("/settings/{slug}")
def settings_subpage(slug: str, request: Request) -> Response:
    page = _SETTINGS.get(slug)
    session = _gate(request, page.role if page else "operator")
    if isinstance(session, Response):
        return session
    if page is None:
        return _not_found(
            request, session, "No such settings page", f"There is no settings page {slug!r}."
        )
    extra = _CONTEXTS[slug](request.app.state.ctx) if slug in _CONTEXTS else {}
    return _render(
        request, f"settings_{slug}.html", f"settings-{slug}", page.title, session, **extra
    )


@settings_context("webhooks")
def _webhooks(ctx: Any) -> dict[str, Any]:
    return {"placeholders": PLACEHOLDERS, "severities": SEVERITIES, "events": EVENTS}


@settings_context("fieldbus")
def _fieldbus(ctx: Any) -> dict[str, Any]:
    """The choices the Fieldbus page's forms offer, from the config models (so the page and
    the API never disagree); the values themselves come from the API."""
    from typing import get_args

    from ..fieldbus.config import REGISTERS, EntryKind
    from ..fieldbus.profibus.config import BAUD_RATES, ModuleKind

    return {
        "entry_kinds": get_args(EntryKind),
        "data_types": tuple(REGISTERS),
        "baud_rates": BAUD_RATES,
        "module_kinds": get_args(ModuleKind),
    }


@settings_context("device")
def _device(ctx: Any) -> dict[str, Any]:
    """The time zones the config accepts, offered as suggestions for the zone field."""
    return {"timezones": sorted(available_timezones())}


@settings_context("machines")
def _machines(ctx: Any) -> dict[str, Any]:
    """The rule editor's fields per rule type, the bearings the device knows by designation
    and the ISO 20816 zone table (to say where the built-in rules' levels come from)."""
    from dsp_ext import COMMON_BEARINGS

    from .rule_forms import rule_forms

    iso = {
        f"{group}-{foundation}": boundaries(group, foundation)
        for group in (1, 2, 3, 4)
        for foundation in ("rigid", "flexible")
    }
    page_data = {"rule_forms": rule_forms(), "bearings": sorted(COMMON_BEARINGS), "iso": iso}
    return {"page_data": page_data}
