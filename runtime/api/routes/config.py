"""The device config: GET/PUT /config/ and POST /config/restart (see config_service)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from ...config import DeviceConfig
from ..config_service import MASK, SECTIONS, ConfigService
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, bad_request
from ._both import route

router = APIRouter(tags=["config"])


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with its local $refs replaced by their definitions (the config has no
    recursive types), so it stands alone inside the OpenAPI document."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def body_spec(model: Any, description: str, example: Any) -> dict[str, Any]:
    """`openapi_extra` for an endpoint that reads its JSON body itself (to list every problem
    by config path): the body's schema, standing alone, and a valid example."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(model).json_schema()
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {
                    "schema": _inline(schema, schema.get("$defs", {})),
                    "example": example,
                }
            },
        }
    }


def _config_schema() -> dict[str, Any]:
    schema = DeviceConfig.model_json_schema()
    inlined = _inline(schema, schema.get("$defs", {}))
    inlined["required"] = list(SECTIONS)
    return inlined


_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "The whole config, as GET returns it (every section). Secrets may be sent back "
            f"as {MASK!r} to keep the stored value."
        ),
        "content": {"application/json": {"schema": _config_schema()}},
    }
}
_REFUSED = {
    400: {"description": "The body is not JSON"},
    422: {"description": "The config is invalid or does not fit the board (every problem)"},
}


def _service(ctx: Any) -> ConfigService:
    if ctx.config is None:
        raise ApiError(503, "the config cannot be managed in this process")
    return ctx.config


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


@route(router, "GET", "/config/", summary="Current configuration")
def get_config(ctx: Ctx, _: Reader) -> dict[str, Any]:
    """The whole device config; secrets read as `********`."""
    return _service(ctx).view()


@route(
    router,
    "PUT",
    "/config/",
    summary="Update configuration",
    openapi_extra=_BODY,
    responses=_REFUSED,
)
async def put_config(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """Replace the config. Checked completely first (422 lists every problem by path, and
    nothing changes); then written atomically (the previous version kept as `<file>.prev`)
    and applied: names and descriptions live, acquisition and analysis by restarting the
    device's services in-process; `next_start` lists settings that wait for the next start
    of esocore (HTTP listener, store flush interval)."""
    body = await request.body()
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    return await _service(ctx).replace(data, principal.key_id)


@route(
    router,
    "POST",
    "/config/restart",
    summary="Restart services",
    status_code=202,
    responses={422: {"description": "The config file is invalid; nothing was restarted"}},
)
async def restart(ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """Re-read the config file (hand edits apply too), check it, and restart the device's
    services with it inside the running process (the API keeps serving). 202: the restart
    is under way and takes well under a second."""
    return await _service(ctx).restart(principal.key_id)
