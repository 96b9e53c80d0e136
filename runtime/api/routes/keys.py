"""API keys over the API (admin): list, create, rotate, revoke. Secrets are shown once, at
creation or rotation, and never listed; the event log gets key ids only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from ...readings import iso_utc
from ..deps import Admin, Ctx
from ..errors import ApiError, not_found
from ..keys import ApiKey, KeyError_, Role
from ._both import route

router = APIRouter(tags=["keys"])

MAX_GRACE_S = 90 * 86400.0


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    description: str = Field(min_length=1, max_length=200, examples=["Integration with SAP PM"])
    expires_at: datetime | None = Field(
        None,
        description="ISO 8601; a time without offset is in the device's time zone",
        examples=["2027-03-31T00:00:00Z"],
    )


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_period_s: float = Field(
        86400.0,
        ge=0,
        le=MAX_GRACE_S,
        allow_inf_nan=False,
        description="how long the old secret keeps working (default one day)",
    )


def key_view(key: ApiKey, now: float) -> dict[str, Any]:
    return {
        "id": key.id,
        "role": key.role,
        "description": key.description,
        "created_at": iso_utc(key.created_at),
        "expires_at": _iso(key.expires_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked": key.revoked_at is not None,
        "revoked_at": _iso(key.revoked_at),
        "active": key.active(now),
    }


def _iso(ts: float | None) -> str | None:
    return None if ts is None else iso_utc(ts)


def _epoch(value: datetime, ctx: Any) -> float:
    if value.tzinfo is None:
        config = getattr(ctx.config, "current", None)
        zone = config.device.timezone if config is not None else "UTC"
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.timestamp()


@route(router, "GET", "/keys/", summary="List API keys")
def list_keys(ctx: Ctx, _: Admin) -> list[dict[str, Any]]:
    """Every key with its role, dates and state; never a secret."""
    now = ctx.utc_now()
    return [key_view(k, now) for k in ctx.auth.keys.list()]


@route(router, "POST", "/keys/", summary="Create an API key", status_code=201)
def create_key(new: NewKey, ctx: Ctx, principal: Admin) -> dict[str, Any]:
    """The new key with its secret in `key`: shown this once, store it securely."""
    now = ctx.utc_now()
    expires = _epoch(new.expires_at, ctx) if new.expires_at is not None else None
    try:
        record, secret = ctx.auth.keys.create(new.role, new.description, now, expires)
    except ValueError as exc:
        raise ApiError(422, str(exc), [str(exc)]) from None
    ctx.log_event(
        "key_created",
        f"API key {record.id} ({record.role}) created by key {principal.key_id}",
        data={"key_id": record.id, "role": record.role, "by_key_id": principal.key_id},
    )
    return {**key_view(record, now), "key": secret}


@route(router, "POST", "/keys/{key_id}/rotate", summary="Rotate an API key")
def rotate_key(
    key_id: str,
    ctx: Ctx,
    principal: Admin,
    rotation: Annotated[Rotation | None, Body()] = None,
) -> dict[str, Any]:
    """A new secret for the same key (same id, role and description), shown this once; the
    old secret keeps working for `grace_period_s`."""
    now = ctx.utc_now()
    grace = (rotation or Rotation()).grace_period_s
    try:
        record, secret = ctx.auth.keys.rotate(key_id, now, grace)
    except KeyError_:
        raise not_found("API key", key_id) from None
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None
    ctx.log_event(
        "key_rotated",
        f"API key {record.id} rotated by key {principal.key_id}",
        data={"key_id": record.id, "grace_period_s": grace, "by_key_id": principal.key_id},
    )
    return {**key_view(record, now), "key": secret, "previous_valid_until": iso_utc(now + grace)}


@route(router, "DELETE", "/keys/{key_id}", summary="Revoke an API key")
def revoke_key(key_id: str, ctx: Ctx, principal: Admin) -> dict[str, Any]:
    """Revoked at once: the next request with it gets 401."""
    now = ctx.utc_now()
    try:
        record = ctx.auth.keys.revoke(key_id, now)
    except KeyError_:
        raise not_found("API key", key_id) from None
    ctx.log_event(
        "key_revoked",
        f"API key {record.id} revoked by key {principal.key_id}",
        data={"key_id": record.id, "by_key_id": principal.key_id},
    )
    return key_view(record, now)
