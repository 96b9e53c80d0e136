"""GET /metrics against a running device, read the way Prometheus reads it."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .device_server import RunningDevice, start_device


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("metrics"))
    yield running
    assert running.stop() == 0


def metrics_url(device: RunningDevice) -> str:
    return device.base_url.removesuffix("/api/v1") + "/metrics"


def scrape(device: RunningDevice) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}}, scraped with a Bearer token as a
    Prometheus server configured with `authorization: {credentials: KEY}` does."""
    with device.session(None) as s:
        s.headers["Authorization"] = f"Bearer {device.key('read-only')}"
        response = s.get(metrics_url(device), timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_scrape_needs_a_key_as_x_api_key_or_bearer(device):
    with device.session(None) as s:
        assert s.get(metrics_url(device), timeout=30).status_code == 401
        bad = s.get(metrics_url(device), headers={"Authorization": "Bearer esk_x_y"}, timeout=30)
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    with device.session("read-only") as s:
        assert s.get(metrics_url(device), timeout=30).status_code == 200
    assert scrape(device)


def test_every_documented_family_is_there(device):
    samples = scrape(device)
    for name in (
        "esocore_http_requests_total",
        "esocore_http_request_duration_seconds_bucket",
        "esocore_sensor_reading_age_seconds",
        "esocore_sensor_up",
        "esocore_fifo_overflows_total",
        "esocore_scheduler_deadline_misses_total",
        "esocore_service_restarts_total",
        "esocore_store_bytes",
        "esocore_build_info",
    ):
        assert name in samples, name
    assert value(samples, "esocore_store_bytes") > 0
    assert value(samples, "esocore_build_info", version="0.1.0", board="sim") == 1


def test_requests_are_counted_by_route_template_method_and_status(device):
    template = "/api/v1/sensors/{sensor_id}/"
    before = scrape(device)
    for sensor in ("motor-1-accel", "motor-1-accel", "motor-2-temp"):
        assert device.get(f"/sensors/{sensor}/").status_code == 200
    assert device.get("/sensors/no-such-sensor/").status_code == 404
    assert device.get("/no/such/endpoint").status_code == 404
    after = scrape(device)
    counted = "esocore_http_requests_total"
    ok = {"route": template, "method": "GET", "status": "200"}
    missing = {"route": template, "method": "GET", "status": "404"}
    assert value(after, counted, **ok) - value(before, counted, **ok) == 3
    assert value(after, counted, **missing) - value(before, counted, **missing) == 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, counted, **unmatched) - value(before, counted, **unmatched) >= 1
    latency = "esocore_http_request_duration_seconds_count"
    assert value(after, latency, **ok) - value(before, latency, **ok) == 3
    # Label values are templates, never the ids asked for: bounded series.
    routes = {dict(labels)["route"] for labels in after[counted]}
    assert not any("motor-1" in route for route in routes)
    assert {template, "/metrics", "unmatched"} <= routes


def test_data_freshness_per_sensor(device):
    sensors = {
        s["sensor_id"]: s["device_id"] for s in device.get("/device/health").json()["sensors"]
    }
    deadline = time.monotonic() + 20
    while True:
        ages = scrape(device)["esocore_sensor_reading_age_seconds"]
        if len(ages) == len(sensors) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {dict(labels)["sensor"]: dict(labels)["device"] for labels in ages} == sensors
    # Readings come every second or so; a loaded test machine may delay a few.
    assert all(0 <= age < 10 for age in ages.values()), ages


def test_counters_keep_counting_across_an_in_process_restart(device):
    before = scrape(device)
    with device.session("read-write") as s:
        assert s.post(device.base_url + "/config/restart", timeout=30).status_code == 202
    deadline = time.monotonic() + 20
    while True:
        after = scrape(device)
        restarts = value(after, "esocore_service_restarts_total")
        if restarts > value(before, "esocore_service_restarts_total"):
            break
        assert time.monotonic() < deadline, "no restart counted"
        time.sleep(0.2)
    name = "esocore_scheduler_deadline_misses_total"
    assert value(after, name) >= value(before, name)
    for labels, count in before["esocore_fifo_overflows_total"].items():
        assert after["esocore_fifo_overflows_total"][labels] >= count
