"""GET /api/v1/stream/: live updates as server-sent events (runtime/api/live_stream.py)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from .. import slashes
from ..context import ApiContext
from ..deps import Ctx, Reader
from ..errors import ApiError
from ..live_stream import TOPICS, event_stream
from ..selection import id_list
from .alerts import _filters as alert_filters
from .devices import machine_view
from .telemetry import AxisFilter, IdFilter, latest_body

router = APIRouter(tags=["telemetry"])

STREAM_DESCRIPTION = """\
Server-sent events (`text/event-stream`) for dashboards: instead of polling, keep this one
request open and receive

- `telemetry`: the body of `GET /telemetry/` with the same filters (`sensor_id`, `device_id`,
  `metric`, `axis`), each time the latest readings change (about once a second);
- `devices`: the body of `GET /devices/` (health, ISO zone, mode, active alerts; only the
  machines in `device_id` if given), when it changes;
- `alerts`: the body of `GET /alerts/` (the active alerts; of the machines in `device_id` if
  given), when it changes;
- `end`: the key or session stopped working (revoked, expired, logged out); the stream ends.

`topics` chooses (default all three). Every topic is sent once on connecting, then on
change; an idle stream gets a comment line every 15 s. Browsers reconnect by themselves
(`EventSource`), after 2 s. At most 32 streams are open at once (503 beyond).
"""


def _dumps(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def _topics(values: list[str] | None) -> tuple[str, ...]:
    chosen = id_list(values) or TOPICS
    unknown = [t for t in chosen if t not in TOPICS]
    if unknown:
        raise ApiError(400, f"topics: {', '.join(unknown)} unknown (topics: {', '.join(TOPICS)})")
    return tuple(dict.fromkeys(chosen))


@slashes.get(
    router,
    "/stream/",
    summary="Live updates (server-sent events)",
    description=STREAM_DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def live_stream(
    request: Request,
    ctx: Ctx,
    _: Reader,
    topics: Annotated[list[str] | None, Query(description="telemetry, devices, alerts")] = None,
    sensor_id: IdFilter = None,
    device_id: IdFilter = None,
    metric: IdFilter = None,
    axis: AxisFilter = None,
) -> StreamingResponse:
    hub = ctx.streams
    hub.admit()
    chosen = _topics(topics)
    machines = id_list(device_id)
    renderers = {}
    if "telemetry" in chosen:
        key = b"stream:" + request.scope["query_string"]

        def telemetry() -> bytes:
            return latest_body(ctx, key, sensor_id, device_id, metric, axis)

        telemetry()  # a bad filter is a 400/404 now, before the stream starts
        renderers["telemetry"] = telemetry
    if "devices" in chosen:
        alert_filters(ctx, None, list(machines or ()), None, None)  # 404 for unknown machines
        renderers["devices"] = lambda: hub.bodies.get(
            ("devices", machines), lambda: _devices_body(ctx, machines)
        )
    if "alerts" in chosen:
        if ctx.alerts is None:
            raise ApiError(503, "alerts are not evaluated in this process")
        filters = alert_filters(ctx, None, list(machines or ()), None, None)
        renderers["alerts"] = lambda: hub.bodies.get(
            ("alerts", machines),
            lambda: _dumps(ctx.alerts.select(status="active", limit=10_000, **filters)),
        )
    return StreamingResponse(
        event_stream(hub, request, ctx.auth.authenticate, renderers),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _devices_body(ctx: ApiContext, machines: tuple[str, ...] | None) -> bytes:
    return _dumps(
        [machine_view(ctx, m) for m in ctx.catalog.machines if machines is None or m.id in machines]
    )
