"""GET /api/v1/telemetry/ straight from the rendered-body cache.

SCADA, dashboards and scripts poll the latest readings many times a second, and readings
change about once a second: most polls find their exact answer already rendered
(LiveBodyCache, filled by the route). For those this middleware checks the key and sends the
bytes without FastAPI's routing and dependency resolution, which cost several times the
answer itself. Everything else (a first poll, another query, a key that fails) goes to the
route, which answers and fills the cache; authentication still runs exactly once per request,
its result or error handed on in the request state.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .errors import ApiError

PATHS = frozenset({"/api/v1/telemetry/", "/api/v1/telemetry"})
PRINCIPAL = "principal"  # request.state keys the dependencies read (deps._principal)
AUTH_ERROR = "auth_error"


class _Route:
    """What the metrics middleware reads to label the request by its route template."""

    path = "/api/v1/telemetry/"


class LatestReadingsFastPath:
    def __init__(self, app: Any, ctx: Any) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        ctx = self.ctx
        cache = ctx.latest_bodies
        body = cache.get(cache.generation(ctx.live, ctx.catalog), scope["query_string"])
        if body is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            state[PRINCIPAL] = ctx.auth.authenticate(Request(scope))
        except ApiError as exc:
            state[AUTH_ERROR] = exc  # the route's dependency raises it: one error format
            await self.app(scope, receive, send)
            return
        scope["route"] = _Route
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
