"""Alerts: the active ones, their history, acknowledgement (with a CMMS work order id)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field

from ...alerts.service import AckError
from ...alerts.types import SEVERITIES
from ...readings import iso_utc
from .. import slashes
from ..context import ApiContext
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, not_found
from ..history import device_timezone
from ..paging import paging_headers
from ..timeparse import TimeParseError, parse_range, parse_time
from ._both import route

router = APIRouter(tags=["alerts"])

Status = Literal["new", "active", "acknowledged", "resolved"]
Severity = Literal["info", "warning", "alert", "critical"]
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


class Alert(BaseModel):
    id: int
    device_id: str
    device_name: str
    device_type: str | None
    equipment_id: str | None
    location: str | None
    sensor_id: str | None
    sensor_name: str | None
    metric: str | None
    axis: str | None
    rule_id: str
    alert_type: str
    alert_code: int
    severity: Severity
    peak_severity: Severity
    status: Literal["new", "acknowledged", "resolved"]
    acknowledged: bool
    message: str
    recommended_action: str
    current_value: float | None
    threshold_value: float | None
    unit: str
    created_at: str
    updated_at: str
    last_seen_at: str
    resolved_at: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    work_order_id: str | int | float | None
    note: str | None
    forecast_threshold_at: str | None
    forecast_earliest: str | None
    forecast_latest: str | None


class Acknowledgement(BaseModel):
    work_order_id: str | int | float | None = Field(
        None, description="the CMMS work order, stored as given (string or number)"
    )
    note: str | None = Field(None, max_length=2000)


ListFilter = Annotated[list[str] | None, Query()]


def _service(ctx: ApiContext) -> Any:
    if ctx.alerts is None:
        raise ApiError(503, "alerts are not available in this process")
    return ctx.alerts


def _filters(
    ctx: ApiContext,
    severity: list[str] | None,
    device_id: list[str] | None,
    sensor_id: list[str] | None,
    alert_type: list[str] | None,
) -> dict[str, Any]:
    for value in severity or ():
        if value not in SEVERITIES:
            raise ApiError(
                400, f"severity: {value!r} is not one of {', '.join(SEVERITIES)}", [value]
            )
    for values, what, known in (
        (device_id, "device", {m.id for m in ctx.catalog.machines}),
        (sensor_id, "sensor", {s.id for s in ctx.catalog.sensors}),
    ):
        for value in values or ():
            if value not in known:
                raise not_found(what, value)
    return {
        "severities": severity or (),
        "device_ids": device_id or (),
        "sensor_ids": sensor_id or (),
        "alert_types": alert_type or (),
    }


def _json(content: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json", headers=headers)


@slashes.get(
    router,
    "/alerts/",
    summary="Active alerts",
    description="Without `status`: every active alert (new or acknowledged, not yet resolved), "
    "whether acknowledged or not. `status=new` those nobody acknowledged yet, "
    "`status=acknowledged` acknowledged and still active, `status=resolved` cleared ones "
    "(newest first is /alerts/history/). `acknowledged=true|false` in any case. Filters may "
    "repeat. A plain JSON array ordered by creation time.",
    response_model=list[Alert],
)
async def list_alerts(
    ctx: Ctx,
    _: Reader,
    status: Status = "active",
    acknowledged: bool | None = None,
    severity: ListFilter = None,
    device_id: ListFilter = None,
    sensor_id: ListFilter = None,
    alert_type: ListFilter = None,
    since: str | None = Query(None, description="only alerts raised at or after this time"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Response:
    service = _service(ctx)
    filters = _filters(ctx, severity, device_id, sensor_id, alert_type)
    since_ts = None
    if since is not None:
        try:
            since_ts = parse_time(since, device_timezone(ctx), "since")
        except TimeParseError as exc:
            raise ApiError(400, str(exc)) from None
    alerts = service.select(
        status=status, acknowledged=acknowledged, start=since_ts, limit=limit, **filters
    )
    return _json(alerts)


@slashes.get(
    router,
    "/alerts/history/",
    summary="Alert history",
    description="Every alert (active and resolved) raised in `[start_time, end_time)` (default: "
    "the last 24 h), ordered by creation time, paged like telemetry history: `limit` "
    f'(default {DEFAULT_LIMIT}, max {MAX_LIMIT}) and the `Link: <...>; rel="next"` header.',
    response_model=list[Alert],
)
async def alert_history(
    request: Request,
    ctx: Ctx,
    _: Reader,
    start_time: str | None = None,
    end_time: str | None = None,
    status: Status | None = None,
    acknowledged: bool | None = None,
    severity: ListFilter = None,
    device_id: ListFilter = None,
    sensor_id: ListFilter = None,
    alert_type: ListFilter = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> Response:
    service = _service(ctx)
    filters = _filters(ctx, severity, device_id, sensor_id, alert_type)
    try:
        span = parse_range(start_time, end_time, device_timezone(ctx), ctx.utc_now())
    except TimeParseError as exc:
        raise ApiError(400, str(exc)) from None
    after = _decode_cursor(cursor) if cursor else None
    rows = service.select(
        status=status,
        acknowledged=acknowledged,
        start=span.start,
        end=span.end,
        after=after,
        limit=limit + 1,
        **filters,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor(last["created_at"], last["id"])
    headers = paging_headers(
        request.url,
        list(request.query_params.multi_items()),
        next_cursor,
        {"start_time": iso_utc(span.start), "end_time": iso_utc(span.end)},
        len(rows) if cursor is None and next_cursor is None else None,
    )
    return _json(rows, headers)


def _encode_cursor(created_at: str, alert_id: int) -> str:
    raw = json.dumps([created_at, alert_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, alert_id = json.loads(base64.urlsafe_b64decode(padded))
        return parse_time(created_at), int(alert_id)
    except (ValueError, TypeError, TimeParseError):
        raise ApiError(
            400, "cursor: not a cursor this device gave out (take it from the Link header)"
        ) from None


@slashes.get(router, "/alerts/{alert_id}/", summary="One alert", response_model=Alert)
async def get_alert(alert_id: int, ctx: Ctx, _: Reader) -> Response:
    alert = _service(ctx).get(alert_id)
    if alert is None:
        raise not_found("alert", str(alert_id))
    return _json(alert)


@route(
    router,
    "POST",
    "/alerts/{alert_id}/ack",
    summary="Acknowledge an alert",
    description="Records who (the key), when, and optionally the CMMS work order id (a string "
    "or a number, stored as given) and a note. Acknowledging again changes nothing and "
    "answers the alert as it is. The alert stays active until its condition clears.",
    response_model=Alert,
)
async def acknowledge(
    alert_id: int,
    ctx: Ctx,
    principal: Writer,
    body: Annotated[Acknowledgement | None, Body()] = None,
) -> Response:
    service = _service(ctx)
    body = body or Acknowledgement()
    try:
        alert = service.acknowledge(
            alert_id, f"key:{principal.key_id}", body.work_order_id, body.note
        )
    except AckError:
        raise not_found("alert", str(alert_id)) from None
    return _json(alert)
