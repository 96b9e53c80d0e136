"""What goes on the wire, built without sending: webhook headers (auth, signature, delivery
id), the default payload, Retry-After, which answers are retried, and the email message."""

from __future__ import annotations

import hashlib
import hmac
import json
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from runtime import __version__
from runtime.notify.config import EmailConfig, WebhookConfig
from runtime.notify.email import recipients_for, render_message
from runtime.notify.notifier import sample_alert
from runtime.notify.webhook import parse_retry_after, render_body, request_headers, verdict_for

T0 = 1_700_000_000.0
PRIORITIES = {"info": "4", "warning": "3", "alert": "2", "critical": "1"}


def webhook(**changes: object) -> WebhookConfig:
    return WebhookConfig.model_validate({"id": "cmms", "url": "https://cmms.example/wo", **changes})


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        ({"type": "bearer", "token": "t0k"}, "Authorization", "Bearer t0k"),
        ({"type": "api_key", "key": "k3y", "header": "X-Cmms-Key"}, "X-Cmms-Key", "k3y"),
        ({"type": "api_key", "key": "k3y"}, "X-API-Key", "k3y"),
        ({"type": "basic", "username": "edge", "password": "pw"}, "Authorization",
         "Basic ZWRnZTpwdw=="),
    ],
)  # fmt: skip
def test_each_auth_type_sets_its_header(auth: dict, header: str, value: str) -> None:
    headers = request_headers(webhook(auth=auth), "d-1", "raised", b"{}")
    assert headers[header] == value


def test_every_request_carries_the_signature_and_the_delivery_headers() -> None:
    hook = webhook(secret="s3cret", headers={"X-Tenant": "plant-7"})
    body = b'{"a": 1}'
    headers = request_headers(hook, "d-1", "escalated", body)
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers == {
        "X-Tenant": "plant-7",
        "Content-Type": "application/json",
        "User-Agent": f"EsoCore-Edge/{__version__}",
        "X-EsoCore-Event": "escalated",
        "X-EsoCore-Delivery": "d-1",
        "X-EsoCore-Signature": f"sha256={expected}",
    }
    assert "X-EsoCore-Signature" not in request_headers(webhook(), "d-1", "raised", body)


def test_the_default_payload_is_the_whole_alert_with_event_device_and_delivery_id() -> None:
    alert = sample_alert(T0)
    body = render_body(webhook(), "raised", alert, {"device_id": "edge-1"}, PRIORITIES, "d-1", T0)
    assert json.loads(body) == {
        "event": "raised",
        "delivery_id": "d-1",
        "occurred_at": "2023-11-14T22:13:20.000Z",
        "priority": "1",
        "device": {"device_id": "edge-1"},
        "alert": alert,
    }


def test_a_lone_surrogate_cannot_break_the_body() -> None:
    alert = {**sample_alert(T0), "message": "bad \udc80 text"}
    hook = webhook(template='{"m": "{{message}}"}')
    body = render_body(hook, "raised", alert, {}, PRIORITIES, "d-1", T0)
    assert json.loads(body.decode("utf-8")) == {"m": "bad ? text"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 14 Nov 2023 22:15:20 GMT", 120.0),
        ("Tue, 14 Nov 2023 22:10:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(value, T0) == seconds


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "delivered"), (201, "delivered"), (204, "delivered"),
        (408, "retry"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"),
        (400, "failed"), (401, "failed"), (403, "failed"), (404, "failed"), (409, "failed"),
        (422, "failed"), (301, "failed"), (302, "failed"),
    ],
)  # fmt: skip
def test_only_what_may_pass_is_retried(status: int, verdict: str) -> None:
    assert verdict_for(status) == verdict


def email_config(**changes: object) -> EmailConfig:
    return EmailConfig.model_validate(
        {
            "enabled": True,
            "host": "mail.plant.example",
            "from_address": "EsoCore Edge <edge@plant.example>",
            "recipients": [
                {"address": "workorders@cmms.example", "severities": ["critical"]},
                {"address": "ops@plant.example", "severities": ["warning", "critical"]},
                {"address": "workorders@cmms.example", "severities": ["warning"]},
            ],
            **changes,
        }
    )


def test_recipients_are_chosen_by_severity_each_once() -> None:
    config = email_config()
    assert recipients_for(config, "critical") == ["workorders@cmms.example", "ops@plant.example"]
    assert recipients_for(config, "warning") == ["ops@plant.example", "workorders@cmms.example"]
    assert recipients_for(config, "info") == []


def test_the_email_follows_the_guides_template_with_a_message_id_from_the_delivery() -> None:
    config = email_config()
    recipients = recipients_for(config, "critical")
    raw = render_message(config, "raised", sample_alert(T0), PRIORITIES, "d-42", recipients, T0)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    message = message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == "[EQUIPMENT:Motor 1][PRIORITY:critical] iso_zone_d"
    assert message["Message-ID"] == "<d-42@plant.example>"
    assert message["To"] == "workorders@cmms.example, ops@plant.example"
    assert message["From"] == "EsoCore Edge <edge@plant.example>"
    assert message["Date"].datetime.timestamp() == T0
    assert message["X-EsoCore-Delivery"] == "d-42"
    assert message["X-EsoCore-Event"] == "raised"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Equipment: Motor 1\nLocation: Pump house, line 1\n")
    assert "Motor 1 bearing temperature temperature 61.4 °C" in body
    assert "Recommended Action:\nVibration severe enough" in body
