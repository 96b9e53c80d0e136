"""GET /api/v1/stream/ against a running device with a plain HTTP client reading the
server-sent events as they arrive: every topic on connecting, telemetry again as readings
change, the same JSON as the matching GETs, an alert pushed when a rule fires, errors
before the stream starts, the end of a stream whose key is revoked, and a device that stops
promptly with streams open."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from .device_server import RunningDevice, esocore, start_device
from .waiting import wait_until

MACHINE = "motor-2"


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("stream"))
    try:
        yield running
    finally:
        running.stop()


class Events:
    """The events of one open stream, read on a thread so the test can wait on them."""

    def __init__(self, device: RunningDevice, role: str = "read-only", **params: str) -> None:
        self.session = device.session(role)
        self.response = self.session.get(
            device.base_url + "/stream/", params=params, stream=True, timeout=(10, 30)
        )
        self.received: list[tuple[str, object]] = []
        self.ended = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        if self.response.status_code == 200:
            self._thread.start()

    def _read(self) -> None:
        try:
            for topic, data in parse_events(self.response.iter_lines(decode_unicode=True)):
                with self._changed:
                    self.received.append((topic, json.loads(data)))
                    self._changed.notify_all()
        except (requests.RequestException, AttributeError, OSError):
            pass  # the test closed the response under the reader (AttributeError in urllib3)
        finally:
            self.ended.set()
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, check, timeout: float = 30) -> list[tuple[str, object]]:
        """The events so far, once `check(events)` holds (bounded)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(self.received):
                left = deadline - time.monotonic()
                if left <= 0 or (self.ended.is_set() and not check(self.received)):
                    raise AssertionError(f"not within {timeout} s: {self.topics()}")
                self._changed.wait(min(left, 1.0))
            return list(self.received)

    def topics(self) -> list[str]:
        return [t for t, _ in self.received]

    def close(self) -> None:
        self.response.close()
        self.session.close()


def parse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream; comments and `retry` skipped."""
    topic, data = None, None
    for line in lines:
        if line == "":
            if topic is not None and data is not None:
                yield topic, data
            topic, data = None, None
        elif line.startswith("event: "):
            topic = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]


def of(events: list[tuple[str, object]], topic: str) -> list:
    return [body for t, body in events if t == topic]


def test_every_topic_on_connecting_then_telemetry_as_it_changes(device: RunningDevice):
    stream = Events(device, device_id=MACHINE, axis="all")
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        first = stream.wait_for(lambda e: {"telemetry", "devices", "alerts"} <= {t for t, _ in e})
        telemetry = of(first, "telemetry")[0]
        # The same rows as the GET with the same filters (values move on between the two).
        polled = device.get("/telemetry/", params={"device_id": MACHINE, "axis": "all"}).json()
        key = lambda r: (r["sensor_id"], r["metric"], r["axis"])  # noqa: E731
        assert [key(r) for r in telemetry] == [key(r) for r in polled]
        assert {r["device_id"] for r in telemetry} == {MACHINE}
        assert {None, "x", "y", "z"} <= {r["axis"] for r in telemetry}
        machines = of(first, "devices")[0]
        assert [m["id"] for m in machines] == [MACHINE]
        assert machines[0]["health"]["status"] in ("ok", "warning", "alert", "critical")
        assert isinstance(of(first, "alerts")[0], list)
        # Newer readings arrive without asking.
        stamp = max(r["timestamp"] for r in telemetry)
        stream.wait_for(
            lambda e: any(max(r["timestamp"] for r in b) > stamp for b in of(e, "telemetry"))
        )
    finally:
        stream.close()


def test_a_new_alert_is_pushed_with_the_machines_health_and_its_resolution(device: RunningDevice):
    stream = Events(device, topics="alerts,devices", device_id=MACHINE)
    try:
        stream.wait_for(lambda e: {"alerts", "devices"} <= {t for t, _ in e})
        rule = {
            "id": "stream-test-temperature",
            "type": "threshold",
            "machine": MACHINE,
            "metric": "temperature",
            "direction": "above",
            "alert": -50.0,
            "debounce_s": 0,
        }
        with device.session("read-write") as s:
            made = s.post(device.base_url + "/alerts/rules/", json=rule, timeout=30)
            assert made.status_code == 201, made.text
        try:
            pushed = stream.wait_for(
                lambda e: any(a["rule_id"] == rule["id"] for body in of(e, "alerts") for a in body),
                timeout=60,
            )
            alert = next(a for body in of(pushed, "alerts") for a in body if a["rule_id"])
            assert alert["device_id"] == MACHINE and alert["severity"] == "alert"
            stream.wait_for(
                lambda e: any(
                    m["health"]["active_alerts"] >= 1 for body in of(e, "devices") for m in body
                )
            )
        finally:
            with device.session("read-write") as s:
                gone = s.delete(device.base_url + f"/alerts/rules/{rule['id']}", timeout=30)
                assert gone.status_code in (200, 204), gone.text
        # Resolved: the pushed active list no longer holds it.
        stream.wait_for(
            lambda e: not any(a["rule_id"] == rule["id"] for a in of(e, "alerts")[-1]),
            timeout=180,
        )
    finally:
        stream.close()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"topics": "weather"}, 400),
        ({"device_id": "no-such-machine"}, 404),
        ({"metric": "no_such_metric"}, 400),
        ({"axis": "w"}, 400),
    ],
)
def test_bad_queries_are_refused_before_the_stream_starts(
    device: RunningDevice, params: dict, status: int
):
    answer = device.get("/stream/", params=params)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]


def test_without_a_key_401(device: RunningDevice):
    answer = device.get("/stream/", role=None)
    assert answer.status_code == 401


def test_a_revoked_key_ends_its_stream(device: RunningDevice):
    secret = device.new_key("read-only", "stream revocation test")
    key_id = secret.split("_")[1]
    session = device.session(None)
    session.headers["X-API-Key"] = secret
    response = session.get(device.base_url + "/stream/", stream=True, timeout=(10, 30))
    assert response.status_code == 200
    lines = response.iter_lines(decode_unicode=True)
    try:
        events = parse_events(lines)
        assert next(events)[0] in ("telemetry", "devices", "alerts")
        esocore(
            "keys", "revoke", key_id, "--data-dir", str(device.data_dir), cwd=device.data_dir.parent
        )
        ending = next(e for e in events if e[0] == "end")  # bounded by the read timeout
        assert json.loads(ending[1])["status"] == 401
        assert next(events, None) is None  # and the server closes the stream
    finally:
        response.close()
        session.close()


def test_device_stops_promptly_with_streams_open(tmp_path):
    running = start_device(tmp_path)
    streams = [Events(running, topics="telemetry") for _ in range(3)]
    try:
        for stream in streams:
            stream.wait_for(lambda e: bool(e))
        started = time.monotonic()
        assert running.stop() == 0
        assert time.monotonic() - started < 10  # an open stream would hold uvicorn ~30 s
        assert all(wait_until(s.ended.is_set, timeout=10) for s in streams)
    finally:
        for stream in streams:
            stream.close()
