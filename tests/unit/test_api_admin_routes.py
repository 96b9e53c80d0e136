"""Admin-side API pieces in-process (no device): each app counts its own requests in its own
registry, and the simulation endpoints are 404 without a simulated plant."""

from __future__ import annotations

import asyncio
import time

import httpx
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.api.app import create_app
from runtime.api.auth import Authenticator, FailedAuthLimiter, KeyRateLimiter
from runtime.api.context import ApiContext, DeviceInfo
from runtime.api.keys import KeyStore
from runtime.api.routes import metrics
from runtime.catalog import Catalog
from runtime.live import LiveState


class _Store:
    def file_bytes(self) -> int:
        return 4096


def make_app(tmp_path, name: str):
    keys = KeyStore(tmp_path / f"{name}.db")
    auth = Authenticator(
        keys,
        FailedAuthLimiter(100, 60.0),
        KeyRateLimiter(0.0, 50),
        time.time,
        lambda *args: None,
    )
    ctx = ApiContext(
        info=DeviceInfo("ESO-TEST", "EsoCore Edge", "0", "host", "rpi4", False, time.time()),
        catalog=Catalog((), ()),
        live=LiveState(),
        store=_Store(),
        auth=auth,
        utc_now=time.time,
        log_event=lambda *args, **kwargs: None,
        health=lambda: {"sensors": {}, "deadline_misses": 0, "overflows": 0},
        plant=None,
    )
    app = create_app(ctx)
    metrics.install(app, ctx)
    _, secret = keys.create("read-write", "tests", time.time())
    return Client(app, secret)


class Client:
    """Requests straight into the ASGI app, with a read-write key."""

    def __init__(self, app: object, key: str) -> None:
        self.app, self.key = app, key

    def request(self, method: str, path: str, json: object = None) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://device") as c:
                return await c.request(method, path, json=json, headers={"X-API-Key": self.key})

        return asyncio.run(send())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str) -> httpx.Response:
        return self.request("POST", path)


@pytest.fixture
def two_apps(tmp_path):
    return make_app(tmp_path, "a"), make_app(tmp_path, "b")


def count(client: Client, route: str) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "esocore_http_requests_total" and sample.labels["route"] == route:
                return sample.value
    return 0.0


def test_each_app_counts_its_own_requests_in_its_own_registry(two_apps):
    a, b = two_apps
    for _ in range(3):
        a.get("/api/v1/device/info")
    b.get("/api/v1/device/info")
    assert count(a, "/api/v1/device/info") == 3
    assert count(b, "/api/v1/device/info") == 1
    names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("esocore_") for name in names)  # never the global one


def test_simulation_endpoints_are_404_on_real_hardware(two_apps):
    client, _ = two_apps
    for method, path, body in (
        ("GET", "/api/v1/sim/faults", None),
        ("GET", "/api/v1/sim/fault-kinds", None),
        ("POST", "/api/v1/sim/faults", {"machine": "m", "kind": "imbalance", "severity": 0.5}),
        ("DELETE", "/api/v1/sim/faults/f1", None),
    ):
        answer = client.request(method, path, json=body)
        assert answer.status_code == 404, (method, path)
        assert "real hardware" in answer.json()["error"]["message"]


def test_config_endpoints_say_so_when_the_process_cannot_manage_the_config(two_apps):
    client, _ = two_apps
    assert client.get("/api/v1/config/").status_code == 503
    assert client.post("/api/v1/config/restart").status_code == 503
