"""What the rule editor of Settings → Machines and sensors shows for each alert rule type:
the fields of the rule models in runtime.alerts.rules, as plain data for the page's script.

Built from the models themselves, so a field added to a rule type appears in the editor
without touching the page, and the editor never offers a setting the API would refuse as
unknown. The device still checks everything a form sends (422 by field).
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic.fields import FieldInfo

from ..alerts.rules import RULE_MODELS
from ..alerts.types import ALERT_TYPE

# Set by the page, not typed in: the rule's type is chosen first, its machine is the one edited.
FIXED = frozenset({"type", "machine"})
# Shown first, in this order; the rest follow in the model's order, then LAST, then ADVANCED.
FIRST = ("id", "enabled", "sensor", "metric", "band", "axis", "direction")
LAST = ("debounce_s", "clear_debounce_s")
ADVANCED = ("alert_type", "message", "recommended_action")
HINTS = {
    "sensor": "empty: every sensor of the machine that reports the metric",
    "axis": "empty: the overall value",
    "hysteresis": "in the metric's unit; empty: 5 % of the lowest level",
    "debounce_s": "a level must hold this long before it is raised",
    "clear_debounce_s": "how long it must be clear before it resolves; empty: as debounce",
    "alert_type": "empty: the rule type's default for the metric",
    "group": "empty: the machine's ISO group",
    "foundation": "empty: the machine's foundation",
}
RATE_UNITS = {"rate_of_change": "per hour", "trend": "per day"}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without None, whether None is allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return (args[0] if len(args) == 1 else annotation), optional
    return annotation, False


def _kind(annotation: Any) -> tuple[str, list[Any]]:
    """The form control for a field type, and its choices for a select or checkboxes."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "select", list(typing.get_args(annotation))
    if origin is list:
        inner = typing.get_args(annotation)[0]
        if typing.get_origin(inner) is Literal:
            return "multi", list(typing.get_args(inner))
    if annotation is bool:
        return "bool", []
    if annotation in (int, float):
        return "number", []
    return "text", []


def field_spec(rule_type: str, name: str, info: FieldInfo) -> dict[str, Any]:
    annotation, optional = _unwrap_optional(info.annotation)
    kind, options = _kind(annotation)
    if name == "alert_type":
        kind, options = "select", list(ALERT_TYPE)
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    hint = HINTS.get(name, "")
    if rule_type in RATE_UNITS and name in ("warning", "alert", "critical", "hysteresis"):
        hint = f"units {RATE_UNITS[rule_type]}"
    if rule_type == "iso_zone" and name == "hysteresis":
        hint = "a fraction of each zone boundary"
    return {
        "name": name,
        "kind": kind,
        "options": options,
        "optional": optional or not info.is_required(),
        "required": info.is_required(),
        "default": default,
        "integer": annotation is int,
        "advanced": name in ADVANCED,
        "hint": hint,
    }


def rule_fields(rule_type: str) -> list[dict[str, Any]]:
    """The editable fields of one rule type, in the order the editor shows them."""
    fields = RULE_MODELS[rule_type].model_fields
    names = [n for n in fields if n not in FIXED]
    rank = {n: i for i, n in enumerate(FIRST)}
    names.sort(key=lambda n: (n in ADVANCED, n in LAST, rank.get(n, len(FIRST))))
    return [field_spec(rule_type, n, fields[n]) for n in names]


def rule_forms() -> dict[str, list[dict[str, Any]]]:
    """Every rule type's fields, for the page's script (threshold first)."""
    return {rule_type: rule_fields(rule_type) for rule_type in RULE_MODELS}
