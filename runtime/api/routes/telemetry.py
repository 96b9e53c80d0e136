"""Telemetry: the latest readings (live state) and the stored history (store)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from ...live import ALL_AXES as LIVE_ALL_AXES
from ...readings import Reading
from ...store import ALL_AXES
from .. import slashes
from ..context import ApiContext
from ..deps import Ctx, Reader
from ..errors import ApiError, not_found
from ..formats import format_from_accept
from ..history import HISTORY_DESCRIPTION, HistoryParams, history_response
from ..selection import SelectionError, id_list, parse_axes
from .sensors import Sensor, find_sensor, sensor_view
from .spectrum import SpectrumSummary, spectrum_summary

router = APIRouter(tags=["telemetry"])

AXIS_ORDER = {None: 0, "x": 1, "y": 2, "z": 3}
HISTORY_TRIGGERS = {"start_time", "end_time", "limit", "cursor", "resolution", "format", "total"}


class TelemetryRow(BaseModel):
    sensor_id: str
    sensor_name: str
    device_id: str
    metric: str
    axis: str | None
    value: float
    unit: str
    timestamp: str


class HistoryRow(BaseModel):
    timestamp: str
    device_id: str
    sensor_id: str
    sensor_name: str
    metric: str
    axis: str | None
    value: float
    unit: str
    min: float | None = None  # rollups only
    max: float | None = None
    count: int | None = None


class SensorTelemetry(BaseModel):
    sensor: Sensor
    readings: list[TelemetryRow]
    spectrum: list[SpectrumSummary] | None


IdFilter = Annotated[list[str] | None, Query()]
AxisFilter = Annotated[
    list[str] | None,
    Query(description="overall (default), x, y, z or all; may repeat"),
]
Resolution = Literal["raw", "1m", "1h"]
Format = Literal["csv", "json", "parquet"]


def telemetry_rows(ctx: ApiContext, readings: list[Reading]) -> list[dict[str, Any]]:
    """Rows in a stable order: sensors as configured, metrics as the sensor lists them,
    the overall value before the axes."""
    catalog = ctx.catalog
    sensor_order = {s.id: i for i, s in enumerate(catalog.sensors)}
    names = {s.id: s.name for s in catalog.sensors}
    metric_order = {(s.id, m): i for s in catalog.sensors for i, m in enumerate(s.metrics)}
    readings.sort(
        key=lambda r: (
            sensor_order.get(r.sensor_id, len(sensor_order)),
            r.sensor_id,
            metric_order.get((r.sensor_id, r.metric), 999),
            r.metric,
            AXIS_ORDER.get(r.axis, 9),
        )
    )
    return [
        {
            "sensor_id": r.sensor_id,
            "sensor_name": names.get(r.sensor_id, r.sensor_id),
            "device_id": r.device_id,
            "metric": r.metric,
            "axis": r.axis,
            "value": r.value,
            "unit": r.unit,
            "timestamp": r.timestamp,
        }
        for r in readings
    ]


def _dumps(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def _json(content: Any) -> Response:
    return Response(_dumps(content), media_type="application/json")


def _latest(
    ctx: ApiContext,
    sensor_ids: tuple[str, ...] | None,
    device_ids: tuple[str, ...] | None,
    metrics: tuple[str, ...] | None,
    axes: Any,
) -> list[Reading]:
    catalog = ctx.catalog
    for ids, what, known in (
        (device_ids, "device", {m.id for m in catalog.machines}),
        (sensor_ids, "sensor", {s.id for s in catalog.sensors}),
    ):
        for i in ids or ():
            if i not in known:
                raise not_found(what, i)
    measured = {m for s in catalog.sensors for m in s.metrics}
    for m in metrics or ():
        if m not in measured:
            raise ApiError(
                400,
                f"metric: {m!r} is not measured by this device "
                f"(metrics: {', '.join(sorted(measured))})",
            )
    return [
        r
        for r in ctx.live.latest(axis=LIVE_ALL_AXES)
        if (sensor_ids is None or r.sensor_id in sensor_ids)
        and (device_ids is None or r.device_id in device_ids)
        and (metrics is None or r.metric in metrics)
        and (axes is ALL_AXES or r.axis in axes)
    ]


def _axes(values: list[str] | None, default: Any = None) -> Any:
    if not values and default is not None:
        return default
    try:
        return parse_axes(values)
    except SelectionError as exc:
        raise ApiError(400, str(exc)) from None


def _with_overall(axes: Any) -> Any:
    """The latest readings always hold the overall values; axes add their rows to them."""
    if axes is ALL_AXES or None in axes:
        return axes
    return (None, *axes)


@slashes.get(
    router,
    "/telemetry/",
    summary="Latest readings",
    description="The latest value of every (sensor, metric) from the live state: by default "
    "the overall value only (`axis` null), one row per sensor and metric; `axis=x|y|z|all` "
    "adds the per-axis rows of those axes (`all`: every axis). Filters may repeat or hold "
    "comma-separated lists. A plain JSON array. 404 for an unknown `sensor_id` or "
    "`device_id`; 400 for a metric the device does not measure.",
    response_model=list[TelemetryRow],
)
async def latest_readings(
    request: Request,
    ctx: Ctx,
    _: Reader,
    sensor_id: IdFilter = None,
    device_id: IdFilter = None,
    metric: IdFilter = None,
    axis: AxisFilter = None,
) -> Response:
    body = latest_body(ctx, request.scope["query_string"], sensor_id, device_id, metric, axis)
    return Response(body, media_type="application/json")


def latest_body(
    ctx: ApiContext,
    key: bytes,
    sensor_id: list[str] | None,
    device_id: list[str] | None,
    metric: list[str] | None,
    axis: list[str] | None,
) -> bytes:
    """The JSON of GET /telemetry/ for these filters, rendered once per publication of the
    live state and `key` (the query; callers other than the route prefix theirs)."""
    cache = ctx.latest_bodies
    generation = cache.generation(ctx.live, ctx.catalog)  # taken before reading the state
    body = cache.get(generation, key)
    if body is None:
        readings = _latest(
            ctx, id_list(sensor_id), id_list(device_id), id_list(metric), _with_overall(_axes(axis))
        )
        body = _dumps(telemetry_rows(ctx, readings))
        cache.put(generation, key, body)
    return body


@slashes.get(
    router,
    "/telemetry/history/",
    summary="Historical data",
    description=HISTORY_DESCRIPTION,
    response_model=list[HistoryRow],
    response_model_exclude_none=True,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
            "headers": {
                "Link": {
                    "description": 'the next page: <URL>; rel="next"',
                    "schema": {"type": "string"},
                },
                "X-Total-Count": {
                    "description": "rows in the range",
                    "schema": {"type": "integer"},
                },
            },
        }
    },
)
def history(
    request: Request,
    ctx: Ctx,
    _: Reader,
    start_time: str | None = None,
    end_time: str | None = None,
    sensor_id: IdFilter = None,
    device_id: IdFilter = None,
    metric: IdFilter = None,
    axis: AxisFilter = None,
    limit: int | None = Query(None, description="rows per page (default 1000, at most 100000)"),
    cursor: str | None = None,
    resolution: Resolution = "raw",
    format: Format | None = None,
    total: bool = Query(False, description="send X-Total-Count (a count over the range)"),
) -> Response:
    params = HistoryParams(
        start_time,
        end_time,
        sensor_id,
        device_id,
        metric,
        axis,
        limit,
        cursor,
        resolution,
        format,
        total,
    )
    return history_response(request, ctx, params)


@slashes.get(
    router,
    "/telemetry/sensor/{sensor_id}/",
    summary="Sensor-specific data",
    description="The sensor's latest readings (every axis unless `axis` says otherwise) and "
    "a summary of its latest spectra (the strongest peaks per axis; null for sensors without "
    "spectra). With any of `start_time`, `end_time`, `limit`, `cursor`, `resolution`, "
    "`format` or `total` it returns the sensor's history instead, exactly as "
    "`/telemetry/history/?sensor_id=` (a JSON array with paging headers, or a file).",
    response_model=SensorTelemetry | list[HistoryRow],
    response_model_exclude_none=True,
)
def sensor_telemetry(
    sensor_id: str,
    request: Request,
    ctx: Ctx,
    _: Reader,
    metric: IdFilter = None,
    axis: AxisFilter = None,
    peaks: int = Query(5, ge=1, le=50, description="spectrum peaks per axis and kind"),
    start_time: str | None = None,
    end_time: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    resolution: Resolution = "raw",
    format: Format | None = None,
    total: bool = False,
) -> Response:
    wants_history = HISTORY_TRIGGERS & set(request.query_params.keys()) or format_from_accept(
        request.headers.get("accept")
    )
    if "," in sensor_id:  # one sensor here; lists are for history/?sensor_id=
        raise not_found("sensor", sensor_id)
    if wants_history:  # also for a sensor no longer configured whose history is stored
        params = HistoryParams(
            start_time,
            end_time,
            [sensor_id],
            None,
            metric,
            axis,
            limit,
            cursor,
            resolution,
            format,
            total,
        )
        return history_response(request, ctx, params)
    sensor = find_sensor(ctx, sensor_id)
    readings = _latest(ctx, (sensor.id,), None, id_list(metric), _axes(axis, ALL_AXES))
    return _json(
        {
            "sensor": sensor_view(ctx, sensor),
            "readings": telemetry_rows(ctx, readings),
            "spectrum": spectrum_summary(ctx, sensor, peaks),
        }
    )
