"""The [notifications] section: what is refused (with the path), defaults, and secrets that
the API never shows."""

from __future__ import annotations

import tomllib

import pytest
import tomli_w
from pydantic import ValidationError

from runtime.api.config_service import MASK, masked, unmask
from runtime.config.loader import format_validation_errors
from runtime.notify.config import (
    DEFAULT_BODY,
    DEFAULT_SUBJECT,
    EmailConfig,
    NotificationsConfig,
    WebhookAuth,
    WebhookConfig,
)


def problems(data: dict) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        NotificationsConfig.model_validate(data)
    return format_validation_errors(caught.value)


def hook(**changes: object) -> dict:
    return {"id": "cmms", "url": "https://cmms.example.com/api/work-orders", **changes}


FULL = {
    "webhooks": [
        hook(auth={"type": "bearer", "token": "tok-s3cret"}, secret="sign-me"),
        hook(id="mes", auth={"type": "api_key", "header": "X-Mes-Key", "key": "k1"}),
        hook(id="erp", auth={"type": "basic", "username": "edge", "password": "pw"}),
    ],
    "email": {
        "enabled": True,
        "host": "mail.example.com",
        "username": "edge",
        "password": "smtp-pw",
        "from_address": "EsoCore <edge@plant.example.com>",
        "recipients": [{"address": "workorders@cmms.example.com"}],
    },
}


def test_defaults_follow_the_guide() -> None:
    config = NotificationsConfig()
    assert config.webhooks == []
    assert config.email.enabled is False
    assert config.email.subject_template == DEFAULT_SUBJECT
    assert config.email.body_template == DEFAULT_BODY
    assert config.priority_mapping == {"info": "4", "warning": "3", "alert": "2", "critical": "1"}
    assert (config.max_age_s, config.retry_initial_s, config.retry_max_s) == (86400, 2, 600)
    webhook = WebhookConfig.model_validate(hook())
    assert webhook.method == "POST" and webhook.enabled and webhook.verify_tls
    assert webhook.severities == ["warning", "alert", "critical"]
    assert webhook.events == ["raised", "escalated", "resolved"]


def test_a_partial_priority_map_keeps_the_other_defaults() -> None:
    config = NotificationsConfig(priority_mapping={"critical": "Urgent"})
    assert config.priority_mapping["critical"] == "Urgent"
    assert config.priority_mapping["info"] == "4"


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        ({"type": "bearer"}, "'bearer' needs a token"),
        ({"type": "api_key", "key": None}, "'api_key' needs a key"),
        ({"type": "api_key", "key": "k", "header": "Bad Header"}, "not a valid HTTP header name"),
        ({"type": "api_key", "key": "k", "header": "Content-Type"}, "set by the device"),
        ({"type": "basic", "username": "u"}, "'basic' needs a username and a password"),
        ({"type": "basic", "username": "a:b", "password": "p"}, "cannot contain ':'"),
        ({"type": "bearer", "token": "a\r\nX-Evil: 1"}, "line breaks"),
        ({"type": "oauth"}, "webhooks[0].auth.type"),
    ],
)
def test_auth_needs_what_its_type_uses(auth: dict, reason: str) -> None:
    found = problems({"webhooks": [hook(auth=auth)]})
    assert any(reason in p for p in found), found
    assert all(p.startswith("webhooks[0]") for p in found)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://cmms.example.com/x", "not an http(s) URL"),
        ("https://", "not an http(s) URL"),
        ("cmms.example.com/api", "not an http(s) URL"),
        ("https://user:pw@cmms.example.com/", "put credentials in auth"),
        ("https://cmms.example.com/a b", "spaces"),
        ("https://cmms.example.com:99999/", "not a valid URL"),
    ],
)
def test_webhook_urls_are_checked(url: str, reason: str) -> None:
    found = problems({"webhooks": [hook(url=url)]})
    assert any(p.startswith("webhooks[0].url:") and reason in p for p in found), found


def test_a_bad_template_is_refused_with_its_position() -> None:
    found = problems({"webhooks": [hook(template='{"a": "{{devce_id}}"}')]})
    assert found[0].startswith("webhooks[0].template: unknown placeholder {{devce_id}}")
    assert "line 1, column 8" in found[0]
    found = problems({"email": {"subject_template": "{{severity"}})
    assert found[0].startswith("email.subject_template: unclosed placeholder")


def test_other_webhook_problems_are_listed_by_path() -> None:
    found = problems(
        {
            "webhooks": [
                hook(),
                hook(method="GET", severities=["fatal"], events=["created"]),
                hook(id="Bad Id", headers={"X-EsoCore-Delivery": "x", "X-Ok": "a\nb"}),
                hook(
                    id="auth-twice",
                    auth={"type": "bearer", "token": "t"},
                    headers={"authorization": "Bearer other"},
                ),
                hook(id="ca", ca_file="/no/such/ca.pem", timeout_s=0),
            ]
        }
    )
    text = "\n".join(found)
    for expected in (
        "webhooks[1].method:",
        "webhooks[1].severities[0]:",
        "webhooks[1].events[0]:",
        "webhooks[2].id: 'Bad Id' is not a valid id",
        "webhooks[2].headers: header 'X-EsoCore-Delivery' is set by the device",
        "webhooks[3]: headers: 'authorization' is already set by auth",
        "webhooks[4].ca_file: '/no/such/ca.pem': no such file",
        "webhooks[4].timeout_s:",
    ):
        assert expected in text, text


def test_duplicate_webhook_ids_are_refused() -> None:
    found = problems({"webhooks": [hook(), hook(id="mes"), hook(url="https://other/")]})
    assert found == ["webhooks[2].id: 'cmms' is already used by webhooks[0]"]


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ({"enabled": True}, "host and from_address is not set"),
        ({"enabled": True, "host": "m", "from_address": "a@b.c"}, "has no recipients"),
        ({"from_address": "not-an-address"}, "is not an email address"),
        ({"recipients": [{"address": "x@y.z\r\nBcc: q@r.s"}]}, "line breaks"),
        ({"host": "m", "security": "none", "username": "u", "password": "p"}, "in clear"),
        ({"username": "u"}, "password is not"),
        ({"security": "ssl"}, "email.security:"),
        ({"recipients": [{"address": "a@b.c", "severities": ["bad"]}]}, "severities[0]"),
    ],
)
def test_email_settings_are_checked(email: dict, reason: str) -> None:
    found = problems({"email": email})
    assert any(reason in p for p in found), found


def test_retry_settings_must_make_sense() -> None:
    assert any("retry_max_s must not be below" in p for p in problems({"retry_max_s": 0.5}))
    assert any(p.startswith("max_age_s:") for p in problems({"max_age_s": 0}))


def test_secrets_are_masked_and_kept_by_the_config_api_helpers() -> None:
    config = NotificationsConfig.model_validate(FULL)
    shown = masked(config)
    assert shown["webhooks"][0]["auth"]["token"] == MASK
    assert shown["webhooks"][0]["secret"] == MASK
    assert shown["webhooks"][1]["auth"]["key"] == MASK
    assert shown["webhooks"][2]["auth"]["password"] == MASK
    assert shown["webhooks"][2]["auth"]["username"] == "edge"
    assert shown["email"]["password"] == MASK
    assert (
        "tok-s3cret" not in str(shown)
        and "smtp-pw" not in str(shown)
        and "sign-me" not in str(shown)
    )
    # The webhooks come back in another order with the masks: each keeps its own secrets.
    shown["webhooks"].reverse()
    data, missing = unmask(shown, NotificationsConfig, config)
    assert missing == []
    again = NotificationsConfig.model_validate(data)
    assert again.webhook("cmms") == config.webhook("cmms")
    assert again.webhook("erp") == config.webhook("erp")
    assert again.email.password == "smtp-pw"


def test_the_section_survives_a_round_trip_through_toml() -> None:
    config = NotificationsConfig.model_validate(
        {**FULL, "webhooks": [hook(template='{"a": "{{device_id}}",\n "v": {{current_value}}}')]}
    )
    data = tomllib.loads(tomli_w.dumps(config.model_dump(mode="json", exclude_none=True)))
    assert NotificationsConfig.model_validate(data) == config


def test_models_are_frozen_and_strict() -> None:
    with pytest.raises(ValidationError, match=r"Extra inputs"):
        WebhookAuth.model_validate({"type": "none", "tokn": "x"})
    with pytest.raises(ValidationError):
        EmailConfig().host = "x"  # type: ignore[misc]
