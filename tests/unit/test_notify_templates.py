"""Payload and email templates: the guide's templates as written, values escaped so the result
is always JSON, and templates that cannot work refused with where and why."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.notify.config import DEFAULT_BODY, DEFAULT_SUBJECT
from runtime.notify.notifier import sample_alert
from runtime.notify.templates import (
    PLACEHOLDERS,
    TemplateError,
    alert_fields,
    compile_template,
    render_subject,
)

# The integration guide's payload example (CMMS Integration, Method 1), verbatim.
GUIDE_PAYLOAD = (
    Path(__file__).parents[1] / "integration" / "guide" / "cmms_payload.json"
).read_text()
PRIORITIES = {"info": "4", "warning": "3", "alert": "2", "critical": "1"}


def fields(**changes: object) -> dict[str, object]:
    alert = sample_alert(1_700_000_000.0)
    alert.update(changes)
    return alert_fields("raised", alert, PRIORITIES, "d-1")


def render_json(text: str, **changes: object) -> object:
    return json.loads(compile_template(text, "json").render(fields(**changes)))


def test_the_guides_payload_template_fills_every_field_as_text() -> None:
    assert render_json(GUIDE_PAYLOAD) == {
        "equipment_id": "motor-1",
        "alert_type": "critical",
        "description": sample_alert(0)["message"],
        "priority": "1",
        "detected_at": "2023-11-14T22:13:20.000Z",
        "sensor_data": {"sensor": "Motor 1 vibration (DE)", "value": "7.31", "threshold": "7.1"},
    }


def test_every_documented_placeholder_is_known() -> None:
    wanted = [
        "device_id",
        "device_name",
        "equipment_id",
        "location",
        "alert_id",
        "alert_type",
        "alert_severity",
        "severity",
        "priority_mapping",
        "alert_message",
        "timestamp",
        "sensor_name",
        "current_value",
        "threshold_value",
        "unit",
        "recommended_action",
        "sensor_readings",
        "alert_code",
        "message",
        "sensor_id",
        "metric",
        "status",
        "event",
        "forecast_due_date",
        "work_order_id",
    ]
    assert set(wanted) <= set(PLACEHOLDERS)
    values = fields()
    assert set(values) == set(PLACEHOLDERS)


def test_bare_placeholders_insert_json_values() -> None:
    text = (
        '{"v": {{current_value}}, "code": {{alert_code}}, "wo": {{work_order_id}}, '
        '"due": {{forecast_due_date}}, "readings": {{sensor_readings}}, "name": {{device_name}}}'
    )
    data = render_json(text, forecast_threshold_at="2025-03-01T06:30:00.000Z")
    assert data["v"] == 7.31
    assert data["code"] == 102
    assert data["wo"] is None
    assert data["due"] == "2025-03-01"
    assert data["name"] == "Motor 1"
    assert data["readings"][0] == sample_alert(1_700_000_000.0)["sensor_readings"][0]


def test_sensor_readings_inside_a_string_read_as_text() -> None:
    data = render_json('{"readings": "{{sensor_readings}}", "due": "{{forecast_due_date}}"}')
    assert data["readings"] == (
        "Motor 1 vibration (DE) vibration_rms 7.31 mm/s; "
        "Motor 1 bearing temperature temperature 61.4 °C"
    )
    assert data["due"] == ""


def test_values_with_quotes_newlines_and_unicode_are_escaped() -> None:
    message = 'Lager "DE" defekt\nzweite Zeile\t\\ \u00fc\u00df \u2603 \U0001f525 \x07'
    data = render_json('{"m": "{{alert_message}}", "bare": {{alert_message}}}', message=message)
    assert data == {"m": message, "bare": message}


def test_missing_and_non_finite_numbers_are_null_bare_and_empty_in_text() -> None:
    data = render_json(
        '{"v": {{current_value}}, "t": {{threshold_value}}, "vs": "{{current_value}}"}',
        current_value=math.nan,
        threshold_value=None,
    )
    assert data == {"v": None, "t": None, "vs": ""}


@given(st.text(), st.one_of(st.none(), st.floats(), st.integers(-(10**20), 10**20)))
def test_any_value_gives_valid_json_that_keeps_the_text(message: str, value: object) -> None:
    template = compile_template(
        '{"m": "x{{alert_message}}y", "b": {{alert_message}}, "v": {{current_value}}, '
        '"vs": "{{current_value}}"}',
        "json",
    )
    rendered = template.render(fields(message=message, current_value=value))
    data = json.loads(rendered.encode("utf-8", "replace"))
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in message):
        assert data["m"] == f"x{message}y"
        assert data["b"] == message
    assert isinstance(data["vs"], str)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": "{{nope}}"}', "unknown placeholder {{nope}} at line 1, column 8"),
        ('{\n  "a": {{device_id}\n}', "unclosed placeholder: '{{' at line 2, column 8"),
        ('{"a": "{{device id}}"}', "'{{' at line 1, column 8 does not start a placeholder"),
        ('{"a": "{{device_id}}",}', "not valid JSON once placeholders are filled"),
        ('{"a": {{device_id}} {{location}}}', "line 1, column 21"),
        ("equipment={{device_id}}", "not valid JSON"),
        ('{"a": 1{{current_value}}}', "not valid JSON"),
        ("{{{device_id}}: 1}", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_templates_that_cannot_work_are_refused_with_the_position(text: str, reason: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(text, "json")
    assert reason in str(caught.value)


def test_placeholders_in_json_keys_and_with_spaces_work() -> None:
    assert render_json('{"{{device_id}}": {{ current_value }}}') == {"motor-1": 7.31}


def test_the_guides_email_template_is_the_default_and_reads_well() -> None:
    values = fields()
    subject = render_subject(compile_template(DEFAULT_SUBJECT, "text"), values)
    assert subject == "[EQUIPMENT:Motor 1][PRIORITY:critical] iso_zone_d"
    body = compile_template(DEFAULT_BODY, "text").render(values)
    assert "Location: Pump house, line 1\n" in body
    assert "Sensor Data:\nMotor 1 vibration (DE) vibration_rms 7.31 mm/s\n" in body
    assert "Motor 1 bearing temperature temperature 61.4 °C\n" in body
    assert body.endswith(sample_alert(0)["recommended_action"] + "\n")


def test_a_subject_stays_one_line_whatever_the_values() -> None:
    values = fields(device_name="Pump\r\nBcc: evil@example.com")
    subject = render_subject(compile_template(DEFAULT_SUBJECT, "text"), values)
    assert "\n" not in subject and "\r" not in subject


def test_text_templates_check_placeholders_too() -> None:
    with pytest.raises(TemplateError, match="unknown placeholder"):
        compile_template("Alert {{severty}}", "text")
    compile_template("no placeholders at all, { braces } are fine", "text")
