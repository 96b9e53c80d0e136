"""Alert rules: read, create, change and delete, validated like the config they live in.

The rules are `alerts.rules` of the device config (the one source of truth): every change
here is a config change (checked completely, written atomically, previous version kept,
applied live, `config_changed` logged). Built-in rules (`alerts.builtin_rules`) are listed
with `"builtin": true`; a rule with a built-in rule's id replaces it (to tune or disable it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...alerts.builtin import builtin_rules
from ...alerts.rules import Rule
from .. import slashes
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, bad_request, not_found
from ._both import route
from .config import _service as config_service
from .config import body_spec

router = APIRouter(tags=["alerts"])


RULE_EXAMPLE = {
    "id": "motor-1-temperature",
    "type": "threshold",
    "machine": "motor-1",
    "metric": "temperature",
    "direction": "above",
    "warning": 70.0,
    "alert": 85.0,
    "debounce_s": 30,
}
RULE_BODY = body_spec(Rule, "One rule (its `type` says which fields it has)", RULE_EXAMPLE)


def effective_rules(config: Any) -> list[dict[str, Any]]:
    own = {rule.id: rule for rule in config.alerts.rules}
    builtin = builtin_rules(config) if config.alerts.builtin_rules else []
    listed = [
        {**rule.model_dump(mode="json"), "builtin": True} for rule in builtin if rule.id not in own
    ]
    builtin_ids = {rule.id for rule in builtin}
    listed += [
        {
            **rule.model_dump(mode="json"),
            "builtin": False,
            "overrides_builtin": rule.id in builtin_ids,
        }
        for rule in config.alerts.rules
    ]
    return listed


async def _rule_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("the body is not JSON: send the rule as a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request("send the rule as a JSON object")
    body.pop("builtin", None)
    body.pop("overrides_builtin", None)
    return body


def _index(rules: list[dict[str, Any]], rule_id: str) -> int | None:
    return next((i for i, r in enumerate(rules) if r.get("id") == rule_id), None)


@slashes.get(router, "/alerts/rules/", summary="Alert rules")
async def list_rules(ctx: Ctx, _: Reader) -> list[dict[str, Any]]:
    """Every rule in effect: the built-in ones (`builtin: true`) and those of the config."""
    return effective_rules(config_service(ctx).current)


@slashes.get(router, "/alerts/rules/{rule_id}/", summary="One alert rule")
async def get_rule(rule_id: str, ctx: Ctx, _: Reader) -> dict[str, Any]:
    for rule in effective_rules(config_service(ctx).current):
        if rule["id"] == rule_id:
            return rule
    raise not_found("rule", rule_id)


@route(
    router,
    "POST",
    "/alerts/rules/",
    summary="Create an alert rule",
    status_code=201,
    openapi_extra=RULE_BODY,
)
async def create_rule(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """A new rule (or one replacing a built-in rule of the same id); 409 if a rule of the
    config already has the id; 422 with every problem (by path) if it is not valid."""
    body = await _rule_body(request)
    rule_id = body.get("id")
    service = config_service(ctx)

    def add(data: dict[str, Any]) -> None:
        rules = data["alerts"]["rules"]
        if rule_id is not None and _index(rules, rule_id) is not None:
            raise ApiError(409, f"a rule with id {rule_id!r} exists; PUT /alerts/rules/{rule_id}")
        rules.append(body)

    await service.edit(add, principal.key_id)
    return await get_rule(str(rule_id), ctx, principal)


@route(
    router,
    "PUT",
    "/alerts/rules/{rule_id}",
    summary="Change an alert rule",
    openapi_extra=RULE_BODY,
)
async def put_rule(rule_id: str, request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """Replace the rule (the whole rule, as GET shows it); a built-in rule's id makes an
    override of it. 422 with every problem if it is not valid."""
    body = await _rule_body(request)
    if body.setdefault("id", rule_id) != rule_id:
        raise bad_request(f"id: the body says {body['id']!r}, the path {rule_id!r}")
    service = config_service(ctx)
    known = {r["id"] for r in effective_rules(service.current)}
    if rule_id not in known:
        raise not_found("rule", rule_id)

    def replace(data: dict[str, Any]) -> None:
        rules = data["alerts"]["rules"]
        at = _index(rules, rule_id)
        if at is None:
            rules.append(body)
        else:
            rules[at] = body

    await service.edit(replace, principal.key_id)
    return await get_rule(rule_id, ctx, principal)


@route(router, "DELETE", "/alerts/rules/{rule_id}", summary="Delete an alert rule", status_code=204)
async def delete_rule(rule_id: str, ctx: Ctx, principal: Writer) -> None:
    """Remove a rule of the config (an override of a built-in rule: the built-in one applies
    again). A built-in rule itself cannot be deleted: PUT it with `"enabled": false`."""
    service = config_service(ctx)
    if _index([r.model_dump() for r in service.current.alerts.rules], rule_id) is None:
        if any(r["id"] == rule_id for r in effective_rules(service.current)):
            raise ApiError(
                409,
                f'{rule_id!r} is a built-in rule: PUT it with "enabled": false to switch it '
                "off, or set alerts.builtin_rules = false",
            )
        raise not_found("rule", rule_id)

    def remove(data: dict[str, Any]) -> None:
        rules = data["alerts"]["rules"]
        del rules[_index(rules, rule_id)]  # type: ignore[arg-type]

    await service.edit(remove, principal.key_id)
