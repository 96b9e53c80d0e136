"""History requests: one page of JSON, or the whole range streamed as a CSV, JSON or Parquet
file. Used by /telemetry/history/ and /telemetry/sensor/{id}/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

from fastapi import Request, Response

from ..export_child import ExportJob
from ..priority import export_nice
from ..readings import iso_utc
from ..store import InvalidCursorError
from .context import ApiContext
from .errors import ApiError
from .export_process import ExportResponse
from .formats import FORMATS, RowFormatter, chunk_from_rows, format_from_accept
from .paging import paging_headers
from .selection import (
    Selection,
    SelectionError,
    UnknownIdError,
    check_known,
    id_list,
    parse_axes,
)
from .timeparse import TimeParseError, compact, parse_range, zone

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
# Rows read and formatted per step in the export's child process; also a Parquet file's
# row-group size, so changing it changes the bytes of every Parquet download.
EXPORT_CHUNK_ROWS = 10_000

HISTORY_DESCRIPTION = f"""\
Stored readings in `[start_time, end_time)`, ordered by time (ties by series).

**Times**: ISO 8601 with `Z` or an offset; a naive time (`datetime.now().isoformat()`) or a
bare date is in the device's time zone (config `device.timezone`, UTC unless set); a space
may replace the `T`. `end_time` defaults to now, `start_time` to 24 h before `end_time`.

**Filters** (`sensor_id`, `device_id`, `metric`, `axis`) may repeat or hold comma-separated
lists. `axis`: `overall` (default: the metric's overall value, `axis` null), `x`, `y`, `z`,
or `all` (every axis and the overall value).

**Paging**: `limit` rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); when more
rows follow, the `Link: <...>; rel="next"` header holds the next page's URL (and
`X-Next-Cursor` its opaque cursor). `X-Total-Count` is sent when the page holds the whole
result, or on request with `total=true` (it costs a count over the range).

**Resolution**: `raw`, or `1m` / `1h` rollups: `timestamp` is the bucket start, `value` the
mean, plus `min`, `max`, `count`.

**Files**: `format=csv|json|parquet` (or `Accept: text/csv` /
`application/vnd.apache.parquet`) streams the *whole* range as a download (no paging;
`limit` then caps the rows if given). Files are made by a separate process, at most
two at a time: a third request gets 503 with `Retry-After`. A file that cannot be finished
ends without its last chunk (an incomplete transfer), never as a complete-looking file.

**Errors**: 400 for an unparseable time, `start_time` after `end_time`, `limit` over
{MAX_LIMIT}, a bad axis or resolution, a metric the device does not measure, or a cursor
from another query; 404 for a `sensor_id` or `device_id` that is neither configured nor in
the stored history.
"""


@dataclass(frozen=True)
class HistoryParams:
    start_time: str | None = None
    end_time: str | None = None
    sensor_id: list[str] | None = None
    device_id: list[str] | None = None
    metric: list[str] | None = None
    axis: list[str] | None = None
    limit: int | None = None
    cursor: str | None = None
    resolution: str = "raw"
    format: str | None = None
    total: bool = False


def device_timezone(ctx: ApiContext) -> tzinfo:
    """The zone naive times are read in: the running config's `device.timezone` (it may
    change through PUT /config/), UTC when there is no config service (tests, tools)."""
    config = getattr(ctx.config, "current", None) if ctx.config is not None else None
    name = getattr(getattr(config, "device", None), "timezone", None)
    try:
        return zone(name) if isinstance(name, str) else UTC
    except TimeParseError:
        return UTC


def selection_for(ctx: ApiContext, params: HistoryParams) -> Selection:
    """The rows a request selects, or an ApiError saying what is wrong with it."""
    try:
        span = parse_range(params.start_time, params.end_time, device_timezone(ctx), ctx.utc_now())
        selection = Selection(
            span.start,
            span.end,
            device_ids=id_list(params.device_id),
            sensor_ids=id_list(params.sensor_id),
            metrics=id_list(params.metric),
            axes=parse_axes(params.axis),
            resolution=params.resolution,
        )
        catalog = ctx.catalog
        check_known(
            selection,
            ctx.store,
            known_sensors=(s.id for s in catalog.sensors),
            known_devices=(m.id for m in catalog.machines),
            known_metrics={metric for s in catalog.sensors for metric in s.metrics},
        )
    except (TimeParseError, SelectionError) as exc:
        raise ApiError(400, str(exc)) from None
    except UnknownIdError as exc:
        raise ApiError(404, str(exc), details={exc.what: exc.ids}) from None
    return selection


def sensor_names(ctx: ApiContext) -> dict[str, str]:
    return {s.id: s.name for s in ctx.catalog.sensors}


def history_response(request: Request, ctx: ApiContext, params: HistoryParams) -> Response:
    selection = selection_for(ctx, params)
    fmt = params.format or format_from_accept(request.headers.get("accept"))
    if fmt is not None:
        return _file_response(ctx, selection, fmt, params)
    limit = DEFAULT_LIMIT if params.limit is None else params.limit
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(
            400,
            f"limit: {limit} is out of range: 1 to {MAX_LIMIT} rows per page; follow the "
            "Link header for more, or ask for a file with format=csv|json|parquet",
        )
    try:
        page = ctx.store.query_readings(
            selection.start,
            selection.end,
            limit=limit,
            cursor=params.cursor,
            **selection.store_filters(),
        )
    except InvalidCursorError as exc:
        raise ApiError(400, f"cursor: {exc}") from None
    formatter = RowFormatter(sensor_names(ctx), selection.resolution)
    body = "[" + ",".join(formatter.json_rows(chunk_from_rows(page.rows))) + "]"
    total = None
    if params.total:
        total = ctx.store.count_readings(
            selection.start, selection.end, **selection.store_filters()
        )
    elif params.cursor is None and page.next_cursor is None:
        total = len(page.rows)
    headers = paging_headers(
        request.url,
        list(request.query_params.multi_items()),
        page.next_cursor,
        {"start_time": iso_utc(selection.start), "end_time": iso_utc(selection.end)},
        total,
    )
    return Response(body.encode(), media_type="application/json", headers=headers)


def _file_response(
    ctx: ApiContext, selection: Selection, fmt: str, params: HistoryParams
) -> ExportResponse:
    """The whole range as a file, formatted by a child process (runtime.api.export_process):
    everything a request can get wrong is refused here, before anything is started. The
    child reads what the store has committed, as the in-process export did: readings still
    queued in the writer (at most `flush_interval_s`) were never part of an export."""
    if params.cursor is not None:
        raise ApiError(400, "cursor: pages are for JSON; a file holds the whole range already")
    if params.limit is not None and params.limit < 1:
        raise ApiError(400, f"limit: {params.limit} is not a positive number of rows")
    export = FORMATS[fmt]
    job = ExportJob(
        data_dir=str(ctx.store.data_dir.resolve()),
        fmt=fmt,
        selection=selection,
        sensor_names=sensor_names(ctx),
        chunk_rows=EXPORT_CHUNK_ROWS,
        limit=params.limit,
        nice=export_nice(),
    )
    name = export_filename(selection, export.extension)
    return ExportResponse(ctx.exports, job, export.media_type, name, ctx.log_event)


def export_filename(selection: Selection, extension: str) -> str:
    scope = "-".join(selection.sensor_ids or selection.device_ids or ("all",))
    if len(scope) > 60:
        scope = "selection"
    suffix = "" if selection.resolution == "raw" else f"_{selection.resolution}"
    return (
        f"esocore_{scope}_{compact(selection.start)}_{compact(selection.end)}{suffix}.{extension}"
    )
