"""The rule editor's field lists (runtime/ui/rule_forms.py) against the rule models: every
setting of a rule type is offered, nothing else, and a form filled with the offered
defaults is a valid rule."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.alerts.rules import RULE_TYPES, AlertsConfig
from runtime.ui.rule_forms import FIXED, RULE_MODELS, rule_fields, rule_forms


def test_every_rule_type_has_a_form() -> None:
    assert set(rule_forms()) == set(RULE_TYPES)


@pytest.mark.parametrize("rule_type", RULE_TYPES)
def test_a_form_offers_every_setting_of_its_type(rule_type: str) -> None:
    names = [f["name"] for f in rule_fields(rule_type)]
    assert len(names) == len(set(names))
    assert set(names) == set(RULE_MODELS[rule_type].model_fields) - FIXED
    assert names[:2] == ["id", "enabled"]
    assert names[-3:] == ["alert_type", "message", "recommended_action"]


def test_controls_follow_the_field_types() -> None:
    threshold = {f["name"]: f for f in rule_fields("threshold")}
    assert (threshold["direction"]["kind"], threshold["direction"]["options"]) == (
        "select",
        ["above", "below"],
    )
    assert threshold["direction"]["default"] == "above"
    assert (threshold["axis"]["kind"], threshold["axis"]["default"]) == ("select", None)
    assert threshold["warning"]["kind"] == "number" and threshold["warning"]["optional"]
    assert threshold["enabled"]["kind"] == "bool"
    assert threshold["id"]["required"] and not threshold["id"]["optional"]
    assert "vibration_high" in threshold["alert_type"]["options"]
    faults = {f["name"]: f for f in rule_fields("sensor_fault")}["faults"]
    assert (faults["kind"], faults["options"]) == ("multi", ["fault", "no_data", "overflow"])
    iso = {f["name"]: f for f in rule_fields("iso_zone")}
    assert (iso["group"]["options"], iso["hysteresis"]["hint"]) == (
        [1, 2, 3, 4],
        "a fraction of each zone boundary",
    )
    assert {f["name"]: f for f in rule_fields("trend")}["warning"]["hint"] == "units per day"


LEVELS: dict[str, dict[str, Any]] = {
    "threshold": {"metric": "temperature", "warning": 70.0},
    "rate_of_change": {"metric": "temperature", "warning": 5.0},
    "trend": {"metric": "vibration_rms", "warning": 0.1},
    "spectral_band": {"band": "1x", "warning": 2.0},
}


@pytest.mark.parametrize("rule_type", RULE_TYPES)
def test_a_form_left_at_its_defaults_is_a_valid_rule(rule_type: str) -> None:
    body: dict[str, Any] = {"id": "r", "type": rule_type, "machine": "motor-1"}
    for field in rule_fields(rule_type):
        if field["default"] is not None and field["name"] != "id":
            body[field["name"]] = field["default"]
    body.update(LEVELS.get(rule_type, {}))
    if rule_type == "baseline":
        body["metric"] = "temperature"
    (rule,) = AlertsConfig.model_validate({"rules": [body]}).rules
    assert rule.type == rule_type
