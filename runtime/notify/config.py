"""The `[notifications]` config section: webhooks, email and the retry policy.

The API edits it through these same models, so a webhook saved over HTTP is checked exactly
like one in the TOML file (templates included). Secrets are typed `Secret`: the API shows them
masked and never reads them back.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from ..alerts.types import Severity
from ..config.base import Secret, Strict, check_id
from .templates import compile_template

Event = Literal["raised", "escalated", "acknowledged", "resolved"]
EVENTS: tuple[Event, ...] = ("raised", "escalated", "acknowledged", "resolved")

# The integration guide's email-to-ticket template (Method 3), as written there.
DEFAULT_SUBJECT = "[EQUIPMENT:{{device_name}}][PRIORITY:{{severity}}] {{alert_type}}"
DEFAULT_BODY = """\
Equipment: {{device_name}}
Location: {{location}}
Alert: {{alert_type}}
Severity: {{severity}}
Detected: {{timestamp}}
Description:
{{alert_message}}
Sensor Data:
{{sensor_readings}}
Recommended Action:
{{recommended_action}}
"""

# Priority 1 = most urgent is what SAP PM (1 very high .. 4 low) and IBM Maximo use; CMMS that
# name priorities (eMaint, Fiix: "Highest", "High", ...) get their names through this map.
DEFAULT_PRIORITIES: dict[str, str] = {"info": "4", "warning": "3", "alert": "2", "critical": "1"}

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)
# Headers the device sets itself on every request; a configured header must not replace them.
RESERVED_HEADERS = {"content-type", "content-length", "host", "user-agent", "transfer-encoding"}


def _check_header_name(name: str) -> str:
    if not _TOKEN.match(name):
        raise ValueError(f"{name!r} is not a valid HTTP header name")
    lowered = name.lower()
    if lowered in RESERVED_HEADERS or lowered.startswith("x-esocore-"):
        raise ValueError(f"header {name!r} is set by the device and cannot be configured")
    return name


def _check_header_value(value: str, what: str) -> None:
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{what}: line breaks and NUL are not allowed in a header value")


def _check_address(value: str) -> str:
    _check_header_value(value, "address")
    _, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ValueError(f"{value!r} is not an email address (like workorders@cmms.example.com)")
    return value


def _check_ca_file(value: str | None) -> str | None:
    if value is not None and not Path(value).is_file():
        raise ValueError(f"{value!r}: no such file (a PEM file of the CA certificates to trust)")
    return value


class WebhookAuth(Strict):
    """How the receiver knows the request is ours: a Bearer token, an API key in a header of
    the receiver's choosing, or HTTP basic auth."""

    type: Literal["none", "bearer", "api_key", "basic"] = "none"
    token: Secret | None = None  # bearer
    header: str = "X-API-Key"  # api_key: the header's name
    key: Secret | None = None  # api_key
    username: str | None = None  # basic
    password: Secret | None = None  # basic

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        return _check_header_name(value)

    @model_validator(mode="after")
    def _needed_fields(self) -> WebhookAuth:
        if self.type == "bearer" and not self.token:
            raise ValueError("auth type 'bearer' needs a token")
        if self.type == "api_key" and not self.key:
            raise ValueError("auth type 'api_key' needs a key (and the header to send it in)")
        if self.type == "basic":
            if not self.username or not self.password:
                raise ValueError("auth type 'basic' needs a username and a password")
            if ":" in self.username:
                raise ValueError("a basic auth username cannot contain ':'")
        for name in ("token", "key"):
            value = getattr(self, name)
            if value:
                _check_header_value(value, name)
        return self


class WebhookConfig(Strict):
    """One receiver (a CMMS work-order endpoint, say) and which alert changes it gets."""

    id: str
    name: str = ""
    url: str
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    enabled: bool = True
    auth: WebhookAuth = Field(default_factory=WebhookAuth)
    secret: Secret | None = None  # signs each body (X-EsoCore-Signature); None: unsigned
    severities: list[Severity] = Field(default_factory=lambda: ["warning", "alert", "critical"])
    events: list[Event] = Field(default_factory=lambda: ["raised", "escalated", "resolved"])
    template: str | None = None  # None: the default payload (the whole alert)
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(10.0, gt=0, le=120)
    verify_tls: bool = True
    ca_file: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_id(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("a URL cannot contain spaces or control characters")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL (like https://cmms.example.com/api/work-orders)"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError("put credentials in auth (type 'basic'), not in the URL")
        if port == 0:
            raise ValueError("port 0 is not a port to send to")
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            compile_template(value, "json")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            _check_header_name(name)
            _check_header_value(text, f"header {name!r}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        return _check_ca_file(value)

    @model_validator(mode="after")
    def _auth_header_not_doubled(self) -> WebhookConfig:
        auth_header = {
            "bearer": "authorization",
            "basic": "authorization",
            "api_key": self.auth.header.lower(),
        }.get(self.auth.type)
        if auth_header and auth_header in {h.lower() for h in self.headers}:
            raise ValueError(f"headers: {auth_header!r} is already set by auth")
        return self


class Recipient(Strict):
    address: str
    severities: list[Severity] = Field(default_factory=lambda: ["warning", "alert", "critical"])

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _check_address(value)


class EmailConfig(Strict):
    """SMTP to a mail server or a local relay; for CMMS that open tickets from email."""

    enabled: bool = False
    host: str = ""
    port: int = Field(587, ge=1, le=65535)  # 587 for starttls, 465 for tls, 25 for a relay
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    from_address: str = ""
    recipients: list[Recipient] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=lambda: ["raised", "escalated", "resolved"])
    subject_template: str = DEFAULT_SUBJECT
    body_template: str = DEFAULT_BODY
    timeout_s: float = Field(10.0, gt=0, le=120)
    verify_tls: bool = True
    ca_file: str | None = None

    @field_validator("subject_template", "body_template")
    @classmethod
    def _template(cls, value: str) -> str:
        compile_template(value, "text")
        return value

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        return _check_address(value) if value else value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        return _check_ca_file(value)

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        if self.enabled:
            missing = [n for n in ("host", "from_address") if not getattr(self, n)]
            if missing:
                raise ValueError(f"email is enabled but {' and '.join(missing)} is not set")
            if not self.recipients:
                raise ValueError("email is enabled but has no recipients")
        if self.username and self.security == "none":
            raise ValueError(
                "security 'none' would send the password in clear: use 'starttls' or 'tls', "
                "or no username for a relay that needs no login"
            )
        if self.username and not self.password:
            raise ValueError("username is set but password is not")
        return self


class NotificationsConfig(Strict):
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    email: EmailConfig = Field(default_factory=EmailConfig)
    # The CMMS priority of each severity ({{priority_mapping}}); see DEFAULT_PRIORITIES.
    priority_mapping: dict[Severity, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    max_age_s: float = Field(86400.0, gt=0)  # give a delivery up after this long
    retry_initial_s: float = Field(2.0, gt=0)  # the first retry within this (full jitter)
    retry_max_s: float = Field(600.0, gt=0)  # no wait between two attempts is longer

    @field_validator("priority_mapping", mode="before")
    @classmethod
    def _all_severities(cls, value: Any) -> Any:
        # A map that names only some severities keeps the defaults for the others.
        return {**DEFAULT_PRIORITIES, **value} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _unique_ids(self) -> NotificationsConfig:
        seen: dict[str, int] = {}
        for i, hook in enumerate(self.webhooks):
            if hook.id in seen:
                raise ValueError(
                    f"webhooks[{i}].id: {hook.id!r} is already used by webhooks[{seen[hook.id]}]"
                )
            seen[hook.id] = i
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must not be below retry_initial_s")
        return self

    def webhook(self, webhook_id: str) -> WebhookConfig | None:
        return next((h for h in self.webhooks if h.id == webhook_id), None)
