"""`{{placeholder}}` templates for webhook payloads (JSON) and email subjects and bodies (text).

A JSON template must be valid JSON once its placeholders are filled, whatever the alert says,
so each placeholder is filled according to where it stands: inside a JSON string it inserts
the value as escaped text (`"value": "{{current_value}}"` -> `"value": "7.31"`); standing bare
it inserts a JSON value (`"value": {{current_value}}` -> `"value": 7.31`, `null` when there is
none; `sensor_readings` a list of objects). A template is checked once, when the config is
loaded: an unknown name, unclosed braces or text that would not be JSON is refused with its
line and column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from ..alerts.types import ALERT_TYPE

Kind = Literal["json", "text"]

# Every placeholder a template may use, with what it stands for (shown in errors and docs).
PLACEHOLDERS: dict[str, str] = {
    "device_id": "the monitored machine's id (motor-1)",
    "device_name": "the machine's name",
    "device_type": "the machine's type (motor, pump, fan, ...)",
    "equipment_id": "the machine's plant equipment id (the CMMS asset number)",
    "location": "where the machine is",
    "alert_id": "the alert's id",
    "alert_type": "the alert type's name (bearing_outer_race)",
    "alert_title": "the alert type's title (Bearing outer race defect)",
    "alert_code": "the alert type's numeric code (130)",
    "alert_severity": "the severity (info, warning, alert, critical)",
    "severity": "the severity (same as alert_severity)",
    "priority_mapping": "the CMMS priority for the severity (notifications.priority_mapping)",
    "alert_message": "the alert's message",
    "message": "the alert's message (same as alert_message)",
    "status": "the alert's status",
    "event": "what happened: raised, escalated, acknowledged, resolved (test for a test send)",
    "timestamp": "when the alert was raised (ISO 8601 UTC)",
    "updated_at": "when the alert last changed (ISO 8601 UTC)",
    "sensor_id": "the sensor's id",
    "sensor_name": "the sensor's name",
    "metric": "the metric that decided (vibration_rms)",
    "axis": "the axis (x, y, z) or empty for the overall value",
    "current_value": "the value that decided",
    "threshold_value": "the level it crossed",
    "unit": "the unit of both values",
    "recommended_action": "what a technician should do",
    "sensor_readings": "the machine's readings when the alert changed",
    "forecast_due_date": "the date the value is forecast to cross its next level (or empty)",
    "work_order_id": "the work order the alert was acknowledged with (or empty)",
    "delivery_id": "this notification's delivery id (the same on every retry)",
}

# `{{ name }}`: what a placeholder looks like once its braces are found.
_PLACEHOLDER = re.compile(r"\{\{[ \t]*([A-Za-z0-9_]+)[ \t]*\}\}")


class TemplateError(ValueError):
    """A template that cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class _Slot:
    start: int
    end: int
    name: str
    in_string: bool  # inside a JSON string (text) or bare (a JSON value)


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


def _scan(text: str, kind: Kind) -> list[_Slot]:
    """The placeholders of `text`, and for JSON whether each stands inside a string."""
    slots: list[_Slot] = []
    in_string = False
    i = 0
    while i < len(text):
        # In `{{{name}}` the first brace is the template's own (an object), not the placeholder's.
        if text.startswith("{{", i) and not text.startswith("{{{", i):
            match = _PLACEHOLDER.match(text, i)
            if match is None and "}}" not in text[i:]:
                raise TemplateError(
                    f"unclosed placeholder: '{{{{' at {_where(text, i)} has no '}}}}'"
                )
            if match is None:
                raise TemplateError(
                    f"'{{{{' at {_where(text, i)} does not start a placeholder: write "
                    "{{name}} with a name of letters, digits and '_', closed by '}}'"
                )
            name = match.group(1)
            if name not in PLACEHOLDERS:
                raise TemplateError(
                    f"unknown placeholder {{{{{name}}}}} at {_where(text, i)}; "
                    f"known: {', '.join(PLACEHOLDERS)}"
                )
            slots.append(_Slot(i, match.end(), name, in_string))
            i = match.end()
            continue
        char = text[i]
        if kind == "json":
            if in_string and char == "\\":
                i += 2
                continue
            if char == '"':
                in_string = not in_string
        i += 1
    return slots


@dataclass(frozen=True)
class Template:
    """A checked template; `render` fills it from `alert_fields` values."""

    text: str
    kind: Kind
    slots: tuple[_Slot, ...]

    def render(self, values: Mapping[str, Any]) -> str:
        parts: list[str] = []
        pos = 0
        for slot in self.slots:
            parts.append(self.text[pos : slot.start])
            value = values.get(slot.name)
            if self.kind == "text":
                parts.append(as_text(value, multiline=True))
            elif slot.in_string:
                parts.append(json.dumps(as_text(value), ensure_ascii=False)[1:-1])
            else:
                parts.append(json.dumps(as_json(value), ensure_ascii=False, allow_nan=False))
            pos = slot.end
        parts.append(self.text[pos:])
        return "".join(parts)


@lru_cache(maxsize=64)
def compile_template(text: str, kind: Kind) -> Template:
    """Check a template (TemplateError says where it is wrong) and make it ready to render."""
    slots = tuple(_scan(text, kind))
    if kind == "json":
        _check_json(text, slots)
    return Template(text, kind, slots)


def _check_json(text: str, slots: tuple[_Slot, ...]) -> None:
    # Fill every placeholder with something of the same length (blanks inside a string,
    # `null` bare) so the parser's error position is the position in the template.
    probe: list[str] = []
    pos = 0
    for slot in slots:
        probe.append(text[pos : slot.start])
        width = slot.end - slot.start
        probe.append(" " * width if slot.in_string else "null".ljust(width))
        pos = slot.end
    probe.append(text[pos:])
    try:
        json.loads("".join(probe))
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"not valid JSON once placeholders are filled: {exc.msg} at {_where(text, exc.pos)}"
        ) from None


# -- values ----------------------------------------------------------------------------------


def _number_text(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else ""


def reading_text(reading: Mapping[str, Any]) -> str:
    """One reading for a person: `Motor 1 vibration (DE) vibration_rms x 7.31 mm/s`."""
    words = [
        str(reading.get("sensor_name") or reading.get("sensor_id") or ""),
        str(reading.get("metric") or ""),
        str(reading.get("axis") or ""),
        as_text(reading.get("value")),
        str(reading.get("unit") or ""),
    ]
    return " ".join(w for w in words if w)


def as_text(value: Any, multiline: bool = False) -> str:
    """A value as text: numbers short, nothing as '', readings one per line or `; `-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, list):
        texts = [reading_text(r) if isinstance(r, Mapping) else as_text(r) for r in value]
        return ("\n" if multiline else "; ").join(texts)
    return str(value)


def as_json(value: Any) -> Any:
    """A value as JSON data; numbers that JSON cannot hold (NaN, inf) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    return value


def _due_date(value: Any) -> str | None:
    """`forecast_threshold_at` (ISO date-time) as a date, which is what a work order wants."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return value[:10]


def alert_fields(
    event: str,
    alert: Mapping[str, Any],
    priority_mapping: Mapping[str, str],
    delivery_id: str,
) -> dict[str, Any]:
    """Every placeholder's value for one alert and event (see PLACEHOLDERS)."""
    severity = alert.get("severity")
    alert_type = alert.get("alert_type")
    known = ALERT_TYPE.get(alert_type) if isinstance(alert_type, str) else None
    code = alert.get("alert_code")
    return {
        "device_id": alert.get("device_id"),
        "device_name": alert.get("device_name"),
        "device_type": alert.get("device_type"),
        "equipment_id": alert.get("equipment_id"),
        "location": alert.get("location"),
        "alert_id": alert.get("id"),
        "alert_type": alert_type,
        "alert_title": known.title if known else alert_type,
        "alert_code": code if code is not None else (known.code if known else None),
        "alert_severity": severity,
        "severity": severity,
        "priority_mapping": priority_mapping.get(severity) if isinstance(severity, str) else None,
        "alert_message": alert.get("message"),
        "message": alert.get("message"),
        "status": alert.get("status"),
        "event": event,
        "timestamp": alert.get("created_at"),
        "updated_at": alert.get("updated_at"),
        "sensor_id": alert.get("sensor_id"),
        "sensor_name": alert.get("sensor_name"),
        "metric": alert.get("metric"),
        "axis": alert.get("axis"),
        "current_value": alert.get("current_value"),
        "threshold_value": alert.get("threshold_value"),
        "unit": alert.get("unit"),
        "recommended_action": alert.get("recommended_action")
        or (known.recommended_action if known else None),
        "sensor_readings": list(alert.get("sensor_readings") or []),
        "forecast_due_date": _due_date(alert.get("forecast_threshold_at")),
        "work_order_id": alert.get("work_order_id"),
        "delivery_id": delivery_id,
    }


def render_subject(template: Template, values: Mapping[str, Any]) -> str:
    """A subject is one line: any line break a value brings becomes a space."""
    return " ".join(template.render(values).split())
