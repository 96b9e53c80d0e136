"""Webhook requests: the body (rendered once, when the notification is queued), the headers
(signature, delivery id, auth) and one attempt to send them, classified for the retry policy.

The signature is HMAC-SHA256 over the exact body bytes with the webhook's secret, sent as
`X-EsoCore-Signature: sha256=<hex>`; a receiver recomputes it to know the request is ours and
unchanged. `X-EsoCore-Delivery` is the same on every retry, so a receiver can drop duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .. import __version__
from ..readings import iso_utc
from .config import WebhookConfig
from .outbox import Outcome
from .templates import alert_fields, as_json, compile_template

USER_AGENT = f"EsoCore-Edge/{__version__}"
BODY_LIMIT = 4096  # bytes of a receiver's answer kept (test sends, errors)
ERROR_BODY_CHARS = 200  # of which this much goes into a delivery's last_error


def render_body(
    hook: WebhookConfig,
    event: str,
    alert: Mapping[str, Any],
    device: Mapping[str, Any],
    priority_mapping: Mapping[str, str],
    delivery_id: str,
    now: float,
) -> bytes:
    """The request body: the webhook's template filled from the alert, or without a template
    the whole alert with the event, the device and the delivery id."""
    if hook.template is not None:
        values = alert_fields(event, alert, priority_mapping, delivery_id)
        text = compile_template(hook.template, "json").render(values)
    else:
        severity = alert.get("severity")
        payload = {
            "event": event,
            "delivery_id": delivery_id,
            "occurred_at": iso_utc(now),
            "priority": priority_mapping.get(severity) if isinstance(severity, str) else None,
            "device": dict(device),
            "alert": dict(alert),
        }
        text = json.dumps(as_json(payload), ensure_ascii=False, allow_nan=False, default=str)
    # A lone surrogate in some text cannot be UTF-8: it becomes '?', the JSON stays valid.
    return text.encode("utf-8", "replace")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def request_headers(
    hook: WebhookConfig, delivery_id: str, event: str, body: bytes
) -> dict[str, str]:
    headers = dict(hook.headers)
    auth = hook.auth
    if auth.type == "bearer" and auth.token:
        headers["Authorization"] = f"Bearer {auth.token}"
    elif auth.type == "api_key" and auth.key:
        headers[auth.header] = auth.key
    elif auth.type == "basic" and auth.username and auth.password:
        pair = f"{auth.username}:{auth.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = USER_AGENT
    headers["X-EsoCore-Event"] = event
    headers["X-EsoCore-Delivery"] = delivery_id
    if hook.secret:
        headers["X-EsoCore-Signature"] = signature(hook.secret, body)
    return headers


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP-date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT
        return None
    return max(0.0, when.timestamp() - now)


def verdict_for(status: int) -> str:
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or status >= 500:
        return "retry"
    return "failed"


def _tls_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """The system's trust store (where a plant CA is installed), or `ca_file` alone."""
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class WebhookSender:
    """Sends webhook requests; keeps one HTTP client (and its connections) per webhook."""

    def __init__(self) -> None:
        self._clients: dict[str, tuple[tuple[Any, ...], httpx.Client]] = {}
        self._lock = threading.Lock()

    def _client(self, hook: WebhookConfig) -> httpx.Client:
        settings = (hook.verify_tls, hook.ca_file, hook.timeout_s)
        with self._lock:
            known = self._clients.get(hook.id)
            if known is not None and known[0] == settings:
                return known[1]
            client = httpx.Client(
                verify=_tls_context(hook.verify_tls, hook.ca_file),
                timeout=hook.timeout_s,
                follow_redirects=False,  # a redirected POST is a wrong URL, not a delivery
                trust_env=False,  # no proxy or CA from the environment: only the config counts
            )
            self._clients[hook.id] = (settings, client)
        if known is not None:
            known[1].close()
        return client

    def forget(self, keep: set[str]) -> None:
        """Close the clients of webhooks that are gone."""
        with self._lock:
            gone = [i for i in self._clients if i not in keep]
            clients = [self._clients.pop(i)[1] for i in gone]
        for client in clients:
            client.close()

    def close(self) -> None:
        self.forget(set())

    def send(self, hook: WebhookConfig, delivery_id: str, event: str, body: bytes) -> Outcome:
        """One attempt; never raises for what the network or the receiver does."""
        headers = request_headers(hook, delivery_id, event, body)
        try:
            client = self._client(hook)
        except (OSError, ssl.SSLError) as exc:
            return Outcome("retry", error=f"cannot set up TLS (ca_file {hook.ca_file}): {exc}")
        try:
            with client.stream(hook.method, hook.url, content=body, headers=headers) as response:
                answer = _read_some(response)
                status = response.status_code
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), _response_time(response)
                )
                location = response.headers.get("Location")
        except httpx.TimeoutException as exc:
            return Outcome("retry", error=f"timed out after {hook.timeout_s:g} s ({_name(exc)})")
        except httpx.TransportError as exc:
            return Outcome("retry", error=f"{_name(exc)}: {exc}")
        verdict = verdict_for(status)
        error = None
        if verdict != "delivered":
            error = f"HTTP {status}"
            if 300 <= status < 400:
                error += f": redirected to {location}; set the webhook URL to the final address"
            elif answer:
                error += f": {answer[:ERROR_BODY_CHARS]}"
        return Outcome(verdict, status, answer, error, retry_after if verdict == "retry" else None)


def _read_some(response: httpx.Response) -> str:
    """The start of the answer. The status decides the outcome, so an answer that cannot be
    read (cut off, badly compressed) is shown as far as it came, never turned into an error."""
    data = b""
    note = ""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= BODY_LIMIT:
                break
    except httpx.HTTPError as exc:
        note = f" [answer not readable: {type(exc).__name__}]"
    try:
        text = data[:BODY_LIMIT].decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = data[:BODY_LIMIT].decode("utf-8", errors="replace")
    return text + note


def _response_time(response: httpx.Response) -> float:
    """Now, by the receiver's clock when it says (an HTTP-date Retry-After is in its time)."""
    try:
        return parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError, IndexError):
        return time.time()


def _name(exc: Exception) -> str:
    return type(exc).__name__
