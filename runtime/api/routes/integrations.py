"""Integrations: webhooks to CMMS/MES (kept in the device config, secrets never read back),
a test send, the email settings, and the delivery log of the notification outbox."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request

from ...notify.config import EmailConfig, WebhookConfig
from .. import slashes
from ..config_service import masked
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, bad_request, not_found
from ._both import route
from .config import _service as config_service
from .config import body_spec

WEBHOOK_BODY = body_spec(
    WebhookConfig,
    "One webhook; secrets sent back as `********` keep their stored values",
    {
        "id": "cmms",
        "name": "Work orders in the CMMS",
        "url": "https://cmms.example.com/api/work-orders",
        "auth": {"type": "bearer", "token": "cmms-api-token"},
        "secret": "a-long-random-signing-secret",
        "severities": ["alert", "critical"],
        "events": ["raised", "escalated"],
        "enabled": False,
    },
)
EMAIL_BODY = body_spec(
    EmailConfig,
    "The email settings; the password sent back as `********` keeps the stored one",
    {"enabled": False},
)

router = APIRouter(tags=["integrations"])


def _notifier(ctx: Any) -> Any:
    if ctx.notifier is None:
        raise ApiError(503, "notifications are not available in this process")
    return ctx.notifier


def _webhooks(ctx: Any) -> list[dict[str, Any]]:
    return masked(config_service(ctx).current)["notifications"]["webhooks"]


def _find(hooks: list[dict[str, Any]], webhook_id: str) -> int | None:
    return next((i for i, h in enumerate(hooks) if h.get("id") == webhook_id), None)


async def _object(request: Request, what: str) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request(f"the body is not JSON: send the {what} as a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request(f"send the {what} as a JSON object")
    return body


@slashes.get(router, "/integrations/webhooks/", summary="Webhooks")
async def list_webhooks(ctx: Ctx, _: Reader) -> list[dict[str, Any]]:
    """Every webhook of the config; tokens, passwords and signing secrets read as `********`."""
    return _webhooks(ctx)


@slashes.get(router, "/integrations/webhooks/{webhook_id}/", summary="One webhook")
async def get_webhook(webhook_id: str, ctx: Ctx, _: Reader) -> dict[str, Any]:
    hooks = _webhooks(ctx)
    at = _find(hooks, webhook_id)
    if at is None:
        raise not_found("webhook", webhook_id)
    return hooks[at]


@route(
    router,
    "POST",
    "/integrations/webhooks/",
    summary="Add a webhook",
    status_code=201,
    openapi_extra=WEBHOOK_BODY,
)
async def create_webhook(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """A new webhook (409 if its id is taken; 422 with every problem, e.g. an invalid
    payload template with the reason and position)."""
    body = await _object(request, "webhook")
    webhook_id = body.get("id")

    def add(data: dict[str, Any]) -> None:
        hooks = data["notifications"]["webhooks"]
        if webhook_id is not None and _find(hooks, webhook_id) is not None:
            raise ApiError(409, f"a webhook with id {webhook_id!r} exists")
        hooks.append(body)

    await config_service(ctx).edit(add, principal.key_id)
    return await get_webhook(str(webhook_id), ctx, principal)


@route(
    router,
    "PUT",
    "/integrations/webhooks/{webhook_id}",
    summary="Change a webhook",
    openapi_extra=WEBHOOK_BODY,
)
async def put_webhook(
    webhook_id: str, request: Request, ctx: Ctx, principal: Writer
) -> dict[str, Any]:
    """Replace the webhook; secrets sent back as `********` keep their stored values."""
    body = await _object(request, "webhook")
    if body.setdefault("id", webhook_id) != webhook_id:
        raise bad_request(f"id: the body says {body['id']!r}, the path {webhook_id!r}")
    service = config_service(ctx)
    if _find(_webhooks(ctx), webhook_id) is None:
        raise not_found("webhook", webhook_id)

    def replace(data: dict[str, Any]) -> None:
        hooks = data["notifications"]["webhooks"]
        at = _find(hooks, webhook_id)
        assert at is not None
        hooks[at] = _keep_masked_secrets(body, hooks[at])

    await service.edit(replace, principal.key_id)
    return await get_webhook(webhook_id, ctx, principal)


@route(
    router,
    "DELETE",
    "/integrations/webhooks/{webhook_id}",
    summary="Delete a webhook",
    status_code=204,
)
async def delete_webhook(webhook_id: str, ctx: Ctx, principal: Writer) -> None:
    if _find(_webhooks(ctx), webhook_id) is None:
        raise not_found("webhook", webhook_id)

    def remove(data: dict[str, Any]) -> None:
        hooks = data["notifications"]["webhooks"]
        del hooks[_find(hooks, webhook_id)]  # type: ignore[arg-type]

    await config_service(ctx).edit(remove, principal.key_id)


@route(
    router,
    "POST",
    "/integrations/webhooks/{webhook_id}/test",
    summary="Send a sample alert to a webhook",
)
async def test_webhook(webhook_id: str, ctx: Ctx, _: Writer) -> dict[str, Any]:
    """Sends a sample alert now (not through the outbox) and reports what the receiver
    answered: `ok`, `status_code`, `body` (the first 4 kB), or `error`."""
    if _find(_webhooks(ctx), webhook_id) is None:
        raise not_found("webhook", webhook_id)
    try:
        return await asyncio.to_thread(_notifier(ctx).send_test, webhook_id)
    except LookupError:  # removed meanwhile
        raise not_found("webhook", webhook_id) from None


@slashes.get(router, "/integrations/email/", summary="Email settings")
async def get_email(ctx: Ctx, _: Reader) -> dict[str, Any]:
    """The SMTP settings and recipients; the password reads as `********`."""
    return masked(config_service(ctx).current)["notifications"]["email"]


@route(
    router,
    "PUT",
    "/integrations/email/",
    summary="Change the email settings",
    openapi_extra=EMAIL_BODY,
)
async def put_email(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    body = await _object(request, "email settings")

    def replace(data: dict[str, Any]) -> None:
        data["notifications"]["email"] = _keep_masked_secrets(body, data["notifications"]["email"])

    await config_service(ctx).edit(replace, principal.key_id)
    return await get_email(ctx, principal)


@route(router, "POST", "/integrations/email/test", summary="Send a test email")
async def test_email(ctx: Ctx, _: Writer) -> dict[str, Any]:
    """Sends a sample alert email to every recipient now and reports the SMTP outcome."""
    return await asyncio.to_thread(_notifier(ctx).send_test_email)


@slashes.get(router, "/integrations/deliveries/", summary="Notification deliveries")
async def deliveries(
    ctx: Ctx,
    _: Reader,
    status: str | None = Query(None, description="pending, delivered or failed"),
    channel: str | None = Query(None, description="webhook id, or `email`"),
    alert_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    before: str | None = Query(None, description="cursor: the last delivery id of a page"),
) -> list[dict[str, Any]]:
    """Every notification queued, newest first, with its status, attempts, last answer and
    next attempt."""
    try:
        return await asyncio.to_thread(
            _notifier(ctx).deliveries,
            status=status,
            channel=channel,
            alert_id=alert_id,
            limit=limit,
            before=before,
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _keep_masked_secrets(sent: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A secret sent back as the mask keeps its stored value (nested objects too)."""
    from ..config_service import MASK

    merged = dict(sent)
    for key, value in sent.items():
        if value == MASK and key in stored:
            merged[key] = stored[key]
        elif isinstance(value, dict) and isinstance(stored.get(key), dict):
            merged[key] = _keep_masked_secrets(value, stored[key])
    return merged
