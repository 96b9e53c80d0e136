"""Notifications delivered to real receivers on loopback: the guide's payload template with
each auth type and a verified signature, a receiver that is down or overloaded for a while,
one that refuses, max age, a restart and a crash mid-send on the same database file, HTTPS
with a plant CA, and email through a real SMTP server (STARTTLS or TLS, AUTH LOGIN)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from runtime import __version__
from runtime.notify import NotificationsConfig, Notifier, UnknownTarget
from runtime.notify.notifier import sample_alert

from .notify_peers import (
    PASSWORD,
    USER,
    Certificate,
    Receiver,
    Request,
    SmtpServer,
    free_port,
    make_certificate,
)

# The integration guide's payload example (CMMS Integration, Method 1), verbatim.
GUIDE_PAYLOAD = (Path(__file__).parent / "guide" / "cmms_payload.json").read_text()
FAST = {"retry_initial_s": 0.05, "retry_max_s": 0.2, "max_age_s": 30}
SIGNING_SECRET = "whsec-test-1"


class Events:
    """The device's event log, as the notifier reports to it; waits are bounded."""

    def __init__(self) -> None:
        self.logged: list[tuple[str, str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, kind: str, message: str, **kwargs: Any) -> None:
        with self._changed:
            self.logged.append((kind, message, kwargs.get("data")))
            self._changed.notify_all()

    def wait_for(self, kind: str, timeout: float = 10.0) -> tuple[str, str, Any]:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((e for e in self.logged if e[0] == kind), None), timeout
            )
        assert found, f"no {kind} event within {timeout} s: {self.logged}"
        return found


class Device:
    """The notifier as the alert store uses it: its own connection and lock on a db file."""

    def __init__(self, path: Path, config: dict[str, Any], events: Events) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.lock = threading.Lock()
        self.notifier = Notifier(
            self.db,
            self.lock,
            NotificationsConfig.model_validate(config),
            {"device_id": "edge-1", "name": "EsoCore Edge"},
            events,
        )

    def alert(self, event: str = "raised", **changes: Any) -> list[str]:
        """Store an alert change with its notifications in one transaction, then wake."""
        alert = sample_alert(time.time())
        alert.update(changes)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            ids = self.notifier.enqueue(event, alert)
            self.db.execute("COMMIT")
        self.notifier.wake()
        return ids

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        found = self.notifier.delivery(delivery_id)
        assert found is not None
        return found

    def wait_status(self, delivery_id: str, status: str, timeout: float = 10.0) -> dict:
        return wait_until(lambda: _if(self.delivery(delivery_id), "status", status), timeout)

    def close(self) -> None:
        self.notifier.stop()
        self.db.close()


def _if(row: dict[str, Any], key: str, value: Any) -> dict[str, Any] | None:
    return row if row[key] == value else None


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Bounded wait for a database state that follows an event we already waited for."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {check}")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def devices(tmp_path: Path, events: Events) -> Iterator[Callable[..., Device]]:
    opened: list[Device] = []

    def open_device(config: dict[str, Any], start: bool = True) -> Device:
        device = Device(tmp_path / "device.db", {**FAST, **config}, events)
        opened.append(device)
        if start:
            device.notifier.start()
        return device

    yield open_device
    for device in opened:
        device.close()


def webhook(url: str, **changes: Any) -> dict[str, Any]:
    return {"id": "cmms", "url": url, "secret": SIGNING_SECRET, **changes}


def check_signature(request: Request) -> None:
    expected = hmac.new(SIGNING_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-esocore-signature"] == f"sha256={expected}"


AUTHS = [
    ({"type": "bearer", "token": "cmms-token"}, "authorization", "Bearer cmms-token"),
    ({"type": "api_key", "header": "X-Cmms-Key", "key": "k-77"}, "x-cmms-key", "k-77"),
    ({"type": "basic", "username": "edge", "password": "pw"}, "authorization",
     "Basic ZWRnZTpwdw=="),
]  # fmt: skip


@pytest.mark.parametrize(("auth", "header", "value"), AUTHS, ids=["bearer", "api_key", "basic"])
def test_the_guides_payload_arrives_signed_and_authenticated_within_latency(
    devices: Callable[..., Device], auth: dict, header: str, value: str
) -> None:
    with Receiver() as receiver:
        device = devices({"webhooks": [webhook(receiver.url, auth=auth, template=GUIDE_PAYLOAD)]})
        started = time.monotonic()
        message = 'Outer race "BPFO" at 3.1x\nsecond line, 25 °C'
        (delivery_id,) = device.alert(message=message, severity="critical")
        (request,) = receiver.wait_for(1)
        assert request.at - started < 1.5
        assert request.method == "POST" and request.path == "/api/work-orders"
        assert request.headers[header] == value
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == f"EsoCore-Edge/{__version__}"
        assert request.headers["x-esocore-event"] == "raised"
        assert request.headers["x-esocore-delivery"] == delivery_id
        check_signature(request)
        alert = sample_alert(0)
        assert json.loads(request.body) == {
            "equipment_id": "motor-1",
            "alert_type": "critical",
            "description": message,
            "priority": "1",
            "detected_at": json.loads(request.body)["detected_at"],
            "sensor_data": {"sensor": alert["sensor_name"], "value": "7.31", "threshold": "7.1"},
        }
        row = device.wait_status(delivery_id, "delivered")
        assert (row["attempts"], row["last_status_code"], row["channel"]) == (1, 200, "webhook")


def test_a_receiver_that_answers_503_for_a_while_gets_it_once_after_backoff(
    devices: Callable[..., Device],
) -> None:
    def overloaded(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        return (503, {}, b"busy") if n < 3 else (200, {}, b"{}")

    with Receiver(overloaded) as receiver:
        device = devices({"webhooks": [webhook(receiver.url)]})
        (delivery_id,) = device.alert()
        requests = receiver.wait_for(4)
        assert {r.headers["x-esocore-delivery"] for r in requests} == {delivery_id}
        assert len({r.body for r in requests}) == 1  # the same bytes every time
        row = device.wait_status(delivery_id, "delivered")
        assert (row["attempts"], row["last_status_code"], row["last_error"]) == (4, 200, None)
        # The next alert is the next request: the delivered one is not sent again.
        (second,) = device.alert(id="alert-2")
        requests = receiver.wait_for(5)
        assert [r.headers["x-esocore-delivery"] for r in requests[4:]] == [second]
        device.wait_status(second, "delivered")
        counters = device.notifier.counters()
        assert counters == {"delivered": 2, "failed": 0, "retries": 3, "pending": 0}


def test_429_with_retry_after_is_retried_when_the_receiver_said(
    devices: Callable[..., Device],
) -> None:
    def limited(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        return (429, {"Retry-After": "1"}, b"slow down") if n == 0 else (202, {}, b"")

    with Receiver(limited) as receiver:
        device = devices({"webhooks": [webhook(receiver.url)]})
        (delivery_id,) = device.alert()
        first, second = receiver.wait_for(2)
        assert 0.95 <= second.at - first.at < 3.0
        row = device.wait_status(delivery_id, "delivered")
        assert (row["attempts"], row["last_status_code"]) == (2, 202)


def test_a_400_is_failed_at_once_and_not_retried(
    devices: Callable[..., Device], events: Events
) -> None:
    def refuses(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        return 400, {}, b'{"error": "missing field equipment_id"}'

    with Receiver(refuses) as receiver:
        device = devices({"webhooks": [webhook(receiver.url)]})
        (delivery_id,) = device.alert()
        _, _, data = events.wait_for("notification_failed")
        assert data["delivery_id"] == delivery_id and data["last_status_code"] == 400
        row = device.wait_status(delivery_id, "failed")
        assert row["attempts"] == 1
        assert row["last_error"] == 'HTTP 400: {"error": "missing field equipment_id"}'
        (second,) = device.alert(id="alert-2")
        requests = receiver.wait_for(2)
        assert [r.headers["x-esocore-delivery"] for r in requests] == [delivery_id, second]


def test_a_delivery_older_than_max_age_is_failed_and_logged(
    devices: Callable[..., Device], events: Events
) -> None:
    def down(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        return 503, {}, b"maintenance"

    with Receiver(down) as receiver:
        device = devices({"webhooks": [webhook(receiver.url)], "max_age_s": 0.6})
        (delivery_id,) = device.alert()
        _, message, data = events.wait_for("notification_failed")
        assert data["delivery_id"] == delivery_id
        assert "not delivered within max_age_s (0.6 s); last error: HTTP 503" in message
        row = device.wait_status(delivery_id, "failed")
        assert row["attempts"] >= 2
        assert device.notifier.counters()["failed"] == 1


def test_a_receiver_down_across_a_restart_gets_it_once_after_the_restart(
    devices: Callable[..., Device],
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/work-orders"
    first = devices({"webhooks": [webhook(url)]})
    (delivery_id,) = first.alert()
    row = wait_until(lambda: (r := first.delivery(delivery_id))["attempts"] >= 2 and r)
    assert row["status"] == "pending"
    assert "ConnectError" in row["last_error"]
    first.close()

    with Receiver(port=port) as receiver:
        second = devices({"webhooks": [webhook(url)]})
        (request,) = receiver.wait_for(1)
        assert request.headers["x-esocore-delivery"] == delivery_id
        check_signature(request)
        row = second.wait_status(delivery_id, "delivered")
        assert row["attempts"] >= 3
        second.close()

        third = devices({"webhooks": [webhook(url)]})
        (next_id,) = third.alert(id="alert-2")
        requests = receiver.wait_for(2)
        assert [r.headers["x-esocore-delivery"] for r in requests] == [delivery_id, next_id]


def test_a_send_cut_off_by_a_crash_is_sent_again_with_the_same_id(
    devices: Callable[..., Device],
) -> None:
    answered = threading.Event()

    def slow_first(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        if n == 0:
            answered.wait(3.0)  # until the test has "crashed" the first device
        return 200, {}, b"{}"

    with Receiver(slow_first) as receiver:
        first = devices({"webhooks": [webhook(receiver.url)]})
        (delivery_id,) = first.alert()
        receiver.wait_for(1)
        first.notifier.stop(timeout=0.1)  # gives up on the send in flight, like a crash
        first.close()
        answered.set()
        second = devices({"webhooks": [webhook(receiver.url)]})
        requests = receiver.wait_for(2)
        assert [r.headers["x-esocore-delivery"] for r in requests] == [delivery_id] * 2
        assert requests[0].body == requests[1].body
        second.wait_status(delivery_id, "delivered")


def test_https_with_the_plant_ca_file_and_without_it(
    devices: Callable[..., Device], certificate: Certificate
) -> None:
    with Receiver(tls=certificate.server_context()) as receiver:
        device = devices(
            {
                "webhooks": [
                    webhook(receiver.url, ca_file=str(certificate.cert_file)),
                    webhook(receiver.url, id="no-ca"),
                ]
            }
        )
        trusted, untrusted = device.alert()
        (request,) = receiver.wait_for(1)
        assert request.headers["x-esocore-delivery"] == trusted
        device.wait_status(trusted, "delivered")
        row = wait_until(lambda: (r := device.delivery(untrusted))["attempts"] >= 1 and r)
        assert row["status"] == "pending"
        assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"]


def test_a_test_send_reports_what_the_receiver_answered(devices: Callable[..., Device]) -> None:
    long_body = b'{"id": "WO-1", "pad": "' + b"x" * 5000 + b'"}'

    def answer(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        return (201, {}, long_body) if n == 0 else (404, {}, b"no such endpoint")

    with Receiver(answer) as receiver:
        device = devices({"webhooks": [webhook(receiver.url, enabled=False)]}, start=False)
        result = device.notifier.send_test("cmms")
        (request,) = receiver.wait_for(1)
        assert request.headers["x-esocore-event"] == "test"
        assert request.headers["x-esocore-delivery"] == result["delivery_id"]
        assert json.loads(request.body)["alert"]["id"] == "test"
        assert result["ok"] is True and result["status_code"] == 201 and result["error"] is None
        assert result["body"] == long_body[:4096].decode()
        result = device.notifier.send_test("cmms")
        assert result["ok"] is False and result["status_code"] == 404
        assert result["error"] == "HTTP 404: no such endpoint"
        listed = device.notifier.deliveries(channel="webhook")
        assert [(d["event"], d["status"]) for d in listed] == [
            ("test", "failed"),
            ("test", "delivered"),
        ]
        with pytest.raises(UnknownTarget):
            device.notifier.send_test("nope")


def email_settings(port: int, security: str, certificate: Certificate, **changes: Any) -> dict:
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "username": USER,
        "password": PASSWORD,
        "ca_file": str(certificate.cert_file),
        "from_address": "EsoCore Edge <edge@plant.example>",
        "recipients": [
            {"address": "workorders@cmms.example", "severities": ["alert", "critical"]},
            {"address": "ops@plant.example", "severities": ["critical"]},
        ],
        **changes,
    }


# Implicit TLS with a required login makes aiosmtpd warn that it does not require STARTTLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_reaches_a_real_smtp_server_with_the_guides_subject(
    devices: Callable[..., Device], certificate: Certificate, security: str
) -> None:
    with SmtpServer(security, certificate) as server:
        email = email_settings(server.port, security, certificate)
        device = devices({"email": email})
        (delivery_id,) = device.alert(severity="critical")
        assert server.mailbox.arrived.wait(10)
        ((sender, recipients, raw, secure),) = server.mailbox.messages
        assert secure
        assert server.mailbox.logins == [("LOGIN", USER)]
        assert sender == "edge@plant.example"
        assert recipients == ["workorders@cmms.example", "ops@plant.example"]
        message = message_from_bytes(raw, policy=default_policy)
        assert message["Subject"] == "[EQUIPMENT:Motor 1][PRIORITY:critical] iso_zone_d"
        assert message["Message-ID"] == f"<{delivery_id}@plant.example>"
        body = message.get_content()
        assert "Location: Pump house, line 1" in body
        assert "Motor 1 vibration (DE) vibration_rms 7.31 mm/s" in body
        assert "Recommended Action:" in body
        row = device.wait_status(delivery_id, "delivered")
        assert (row["channel"], row["target_id"], row["attempts"]) == ("email", "email", 1)


def test_a_wrong_smtp_password_fails_at_once(
    devices: Callable[..., Device], certificate: Certificate, events: Events
) -> None:
    with SmtpServer("starttls", certificate) as server:
        email = email_settings(server.port, "starttls", certificate, password="wrong")
        device = devices({"email": email})
        (delivery_id,) = device.alert(severity="alert")
        events.wait_for("notification_failed")
        row = device.wait_status(delivery_id, "failed")
        assert row["last_status_code"] == 535 and row["attempts"] == 1
        assert server.mailbox.messages == []


def test_a_test_email_through_a_local_relay(
    devices: Callable[..., Device], certificate: Certificate
) -> None:
    with SmtpServer("none") as server:
        email = email_settings(server.port, "none", certificate, username=None, password=None)
        device = devices({"email": email}, start=False)
        result = device.notifier.send_test_email("tech@plant.example")
        assert result["ok"] is True and result["error"] is None
        ((_, recipients, raw, _),) = server.mailbox.messages
        assert recipients == ["tech@plant.example"]
        message = message_from_bytes(raw, policy=default_policy)
        assert message["X-EsoCore-Event"] == "test"
        assert message["Message-ID"] == f"<{result['delivery_id']}@plant.example>"


def test_an_unreadable_answer_does_not_change_a_delivered_outcome(
    devices: Callable[..., Device],
) -> None:
    def garbled(n: int, _: Request) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Encoding": "gzip"}, b"this is not gzip"

    with Receiver(garbled) as receiver:
        device = devices({"webhooks": [webhook(receiver.url)]})
        (delivery_id,) = device.alert()
        receiver.wait_for(1)
        row = device.wait_status(delivery_id, "delivered")
        assert (row["attempts"], row["last_status_code"]) == (1, 200)
