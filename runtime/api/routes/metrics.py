"""GET /metrics for Prometheus, and the request counting that feeds it.

Each app has its own registry (never prometheus_client's global one), so several devices in
one process, or tests, do not mix their figures. Request counts and latencies are labelled by
route template (`/api/v1/sensors/{sensor_id}/`), method and status: bounded label sets, whatever
the paths asked for. Device figures are read from the live state at scrape time.

A scraper authenticates with the API key as `X-API-Key` or `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ... import __version__
from ..errors import ApiError

router = APIRouter(tags=["metrics"])

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
UNMATCHED = "unmatched"  # any path no route matched (404s of scanners stay one series)


class ApiMetrics:
    def __init__(self, ctx: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        labels = ("route", "method", "status")
        self.requests = Counter(
            "esocore_http_requests", "HTTP requests served", labels, registry=self.registry
        )
        self.latency = Histogram(
            "esocore_http_request_duration_seconds",
            "Time from request to the end of the response",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.registry.register(DeviceCollector(ctx))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = self.requests.labels(*labels), self.latency.labels(*labels)
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class MetricsMiddleware:
    """Pure ASGI (no per-request objects beyond a closure): a clock read, a status capture
    and two cached counter updates per request."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(
                route_template(scope), scope["method"], status, time.perf_counter() - start
            )


_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def route_template(scope: Any) -> str:
    """The template of the route that served the request, with the prefix it was included
    under (`/api/v1/sensors/{sensor_id}/`); the route object only knows its own part."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return UNMATCHED
    params = scope.get("path_params")
    rendered = (
        _PARAM.sub(lambda m: str(params.get(m.group(1), m.group(0))), template)
        if params
        else template
    )
    path = scope.get("path", "")
    if path.endswith(rendered):
        return path[: len(path) - len(rendered)] + template
    return template


class DeviceCollector(Collector):
    """The device's figures, read when scraped."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def collect(self) -> Any:
        ctx = self.ctx
        now = ctx.utc_now()
        info = GaugeMetricFamily(
            "esocore_build_info", "Firmware version and board", labels=["version", "board"]
        )
        info.add_metric([__version__, ctx.info.board], 1)
        yield info

        newest: dict[str, float] = {}
        for reading in ctx.live.latest(axis="all"):
            if reading.ts > newest.get(reading.sensor_id, float("-inf")):
                newest[reading.sensor_id] = reading.ts
        age = GaugeMetricFamily(
            "esocore_sensor_reading_age_seconds",
            "Seconds since the sensor's latest reading (data freshness); absent before the "
            "first reading",
            labels=["sensor", "device"],
        )
        up = GaugeMetricFamily(
            "esocore_sensor_up", "1 while the sensor delivers data (status ok)", labels=["sensor"]
        )
        overflows = CounterMetricFamily(
            "esocore_fifo_overflows",
            "Sensor FIFO overflows (samples lost before they were read)",
            labels=["sensor"],
        )
        carried = ctx.carried
        for status in ctx.live.sensor_statuses():
            sid = status.sensor_id
            if sid in newest:
                age.add_metric([sid, status.device_id or ""], max(0.0, now - newest[sid]))
            up.add_metric([sid], 1.0 if status.state == "ok" else 0.0)
            overflows.add_metric([sid], status.overflows + carried.overflows.get(sid, 0))
        yield age
        yield up
        yield overflows

        health = ctx.health()
        misses = CounterMetricFamily(
            "esocore_scheduler_deadline_misses",
            "Scheduler task runs that ended after their deadline (or releases skipped)",
        )
        misses.add_metric([], health["deadline_misses"] + carried.deadline_misses)
        yield misses
        restarts = CounterMetricFamily(
            "esocore_service_restarts", "In-process restarts of the device's services"
        )
        restarts.add_metric([], carried.restarts)
        yield restarts
        store = GaugeMetricFamily("esocore_store_bytes", "Database size on disk (with its WAL)")
        store.add_metric([], ctx.store.file_bytes())
        yield store
        yield from _alert_metrics(ctx)


def _alert_metrics(ctx: Any) -> Any:
    if ctx.alerts is not None:
        active = GaugeMetricFamily(
            "esocore_alerts_active", "Active alerts (new or acknowledged)", labels=["severity"]
        )
        counts = {s: 0 for s in ("info", "warning", "alert", "critical")}
        for row in ctx.alerts.active_rows():
            counts[row.severity] = counts.get(row.severity, 0) + 1
        for severity, count in counts.items():
            active.add_metric([severity], count)
        yield active
    if ctx.notifier is not None:
        counters = ctx.notifier.counters()
        deliveries = CounterMetricFamily(
            "esocore_notification_deliveries",
            "Notifications by outcome (delivered, failed for good) and retries made",
            labels=["outcome"],
        )
        for outcome in ("delivered", "failed", "retries"):
            deliveries.add_metric([outcome], counters.get(outcome, 0))
        yield deliveries
        pending = GaugeMetricFamily(
            "esocore_notifications_pending", "Notifications waiting in the outbox"
        )
        pending.add_metric([], counters.get("pending", 0))
        yield pending


def install(app: FastAPI, ctx: Any) -> ApiMetrics:
    """Count this app's requests and serve its /metrics."""
    metrics = ApiMetrics(ctx)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return metrics


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text format 0.0.4"}},
)
def metrics(request: Request) -> Response:
    """Requests and latency by route and status, data freshness per sensor, scheduler
    deadline misses, FIFO overflows, store size. Send the key as `X-API-Key` or
    `Authorization: Bearer`."""
    ctx = request.app.state.ctx
    ctx.auth.authenticate(request, allow_bearer=True)
    collected: ApiMetrics | None = getattr(request.app.state, "metrics", None)
    if collected is None:
        raise ApiError(503, "metrics are not collected in this app")
    return Response(generate_latest(collected.registry), media_type=CONTENT_TYPE_LATEST)
