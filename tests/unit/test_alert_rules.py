"""Alert rules in the config: validation by path, checks against the device, built-ins."""

from __future__ import annotations

from typing import Any

import pytest
from alert_helpers import catalog_for, machine, make_config

from runtime.alerts.builtin import builtin_id, builtin_rules, effective_rules
from runtime.alerts.engine import AlertEngine, rule_problems
from runtime.alerts.rules import AlertsConfig
from runtime.config import ConfigError, default_config_path, load_config
from runtime.config.loader import validate_config


def problems_of(rules: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate_config({"machines": [machine("motor-1")], "alerts": {"rules": rules}})
    return caught.value.problems


TEMP = {"type": "threshold", "metric": "temperature", "warning": 80.0}


# -- the rules on their own ----------------------------------------------------------------


def test_the_shipped_config_has_builtin_rules_and_no_user_rules() -> None:
    config = load_config(default_config_path("sim"))
    assert config.alerts == AlertsConfig()
    assert config.alerts.builtin_rules is True and config.alerts.rules == []


def test_duplicate_ids_by_path_beside_other_problems() -> None:
    problems = problems_of(
        [{"id": "a", **TEMP}, {"id": "b", **TEMP}, {"id": "a", **TEMP, "warning": "x"}]
    )
    assert "alerts.rules[2].id: 'a' is already used by alerts.rules[0]" in problems
    assert any(p.startswith("alerts.rules[2].warning: ") for p in problems)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {**TEMP, "warning": 90.0, "alert": 80.0},
            "alerts.rules[0].alert: levels out of order for direction 'above': "
            "need warning < alert, got warning = 90 and alert = 80",
        ),
        (
            {**TEMP, "direction": "below", "warning": 10.0, "alert": 20.0},
            "alerts.rules[0].alert: levels out of order for direction 'below': "
            "need warning > alert, got warning = 10 and alert = 20",
        ),
        (
            {"type": "threshold", "metric": "temperature", "info": 50.0},
            "alerts.rules[0].warning: give at least one of warning, alert and critical",
        ),
        (
            {"type": "rate_of_change", "metric": "temperature", "warning": 5.0, "alert": 2.0},
            "alerts.rules[0].alert: levels out of order for rates per hour: need warning < alert, "
            "got warning = 5 and alert = 2",
        ),
        (
            {"type": "baseline", "metric": "temperature", "alert_sigma": 2.0},
            "alerts.rules[0].alert_sigma: levels out of order for sigmas: "
            "need warning_sigma < alert_sigma < critical_sigma, "
            "got warning_sigma = 3 and alert_sigma = 2",
        ),
        (
            {"type": "nonsense"},
            "alerts.rules[0].type: unknown rule type 'nonsense'; use one of threshold, iso_zone, "
            "rate_of_change, trend, baseline, spectral_band, sensor_fault",
        ),
        ({**TEMP, "levle": 3}, "alerts.rules[0].levle: unknown setting (check the spelling)"),
        ({**TEMP, "alert_type": "nope"}, "alerts.rules[0].alert_type: unknown alert type 'nope'"),
        ({**TEMP, "message": "{nope}"}, "alerts.rules[0].message: cannot be filled in"),
        ({"type": "spectral_band", "band": "9x", "alert": 1.0}, "alerts.rules[0].band: "),
        (
            {"type": "spectral_band", "band": "1x", "warning": 2.0, "alert": 3.0, "critical": 1.0},
            "alerts.rules[0].critical: levels out of order for a spectral band",
        ),
        ({"type": "sensor_fault", "faults": ["fault", "fault"]}, "alerts.rules[0].faults: "),
        ({**TEMP, "machine": "Motor 1"}, "alerts.rules[0].machine: 'Motor 1' is not a valid id"),
    ],
)
def test_rule_problems_by_path(rule: dict[str, Any], expected: str) -> None:
    # Level problems are at the level to correct, so a form can show them by that field.
    problems = problems_of([{"id": "r", **rule}])
    assert any(p.startswith(expected) for p in problems), problems


def test_defaults() -> None:
    config = AlertsConfig.model_validate(
        {
            "rules": [
                {"id": "t", **TEMP},
                {"id": "s", "type": "sensor_fault"},
                {"id": "i", "type": "iso_zone"},
                {"id": "b", "type": "spectral_band", "band": "2x", "alert": 3.0},
            ]
        }
    )
    t, s, i, b = config.rules
    assert (t.debounce_s, t.clear_after_s, t.hysteresis_abs()) == (3.0, 3.0, 4.0)
    assert (s.debounce_s, s.faults, s.no_data_s, s.severity) == (
        0.0,
        ["fault", "no_data", "overflow"],
        10.0,
        "alert",
    )
    assert (s.overflow_count, s.overflow_window_s, s.overflow_severity) == (1, 60.0, "warning")
    assert (i.metric, i.hysteresis, i.critical_factor) == ("vibration_rms", 0.05, None)
    assert (b.metric, b.default_alert_type("alert")) == ("velocity_2x", "misalignment")


@pytest.mark.parametrize(
    ("rule", "alert_type"),
    [
        ({"type": "threshold", "metric": "vibration_rms", "alert": 1}, "vibration_high"),
        ({"type": "threshold", "metric": "current_rms", "alert": 1}, "current_high"),
        (
            {"type": "threshold", "metric": "current_rms", "alert": 1, "direction": "below"},
            "current_low",
        ),
        ({"type": "threshold", "metric": "loop_current", "alert": 1}, "value_high"),
        ({"type": "rate_of_change", "metric": "vibration_rms", "alert": 1}, "vibration_rising"),
        ({"type": "trend", "metric": "envelope_bpfo", "alert": 1}, "vibration_trend"),
        ({"type": "trend", "metric": "temperature", "alert": 1}, "temperature_rising"),
        ({"type": "baseline", "metric": "temperature"}, "baseline_deviation"),
        ({"type": "spectral_band", "band": "ftf", "alert": 1}, "bearing_cage"),
    ],
)
def test_default_alert_type_by_metric(rule: dict[str, Any], alert_type: str) -> None:
    (parsed,) = AlertsConfig.model_validate({"rules": [{"id": "r", **rule}]}).rules
    assert parsed.default_alert_type("alert") == alert_type


# -- the rules against the device ----------------------------------------------------------


def device_problems(rules: list[dict[str, Any]], machines: list | None = None) -> list[str]:
    config = make_config(rules, machines=machines)
    return rule_problems(config, catalog_for(config))


def test_a_valid_rule_has_no_problems() -> None:
    rules = [
        {"id": "a", **TEMP, "machine": "motor-1", "sensor": "motor-1-temp"},
        {"id": "b", "type": "iso_zone", "axis": "x"},
        {"id": "c", "type": "spectral_band", "band": "bpfi", "alert": 2.0},
        {"id": "d", "type": "sensor_fault", "sensor": "motor-1-accel"},
    ]
    assert device_problems(rules) == []


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {**TEMP, "machine": "motor-9"},
            "alerts.rules[0].machine: no machine 'motor-9' (machines: motor-1)",
        ),
        (
            {**TEMP, "machine": "motor-1", "sensor": "x"},
            "alerts.rules[0].sensor: no sensor 'x' on machine 'motor-1' "
            "(it has motor-1-accel, motor-1-temp)",
        ),
        (
            {**TEMP, "sensor": "x"},
            "alerts.rules[0].sensor: no sensor 'x' (sensors: motor-1-accel, motor-1-temp)",
        ),
        (
            {**TEMP, "sensor": "motor-1-accel"},
            "alerts.rules[0].metric: sensor 'motor-1-accel' does not report 'temperature' "
            "(it reports accel_rms, envelope_bpfi, envelope_bpfo, velocity_1x, vibration_rms)",
        ),
        (
            {**TEMP, "metric": "pressure"},
            "alerts.rules[0].metric: no sensor on this device reports 'pressure' (metrics: ",
        ),
        (
            {**TEMP, "sensor": "motor-1-temp", "axis": "x"},
            "alerts.rules[0].axis: sensor 'motor-1-temp' has no axis 'x' "
            "(it has none: leave axis out)",
        ),
        (
            {"type": "iso_zone", "metric": "accel_rms"},
            "alerts.rules[0].metric: ISO 20816-3 zones apply to a velocity in mm/s, and "
            "'accel_rms' is in m/s² (use vibration_rms)",
        ),
        (
            {"type": "sensor_fault", "sensor": "nope"},
            "alerts.rules[0].sensor: no sensor 'nope'",
        ),
    ],
)
def test_problems_against_the_device(rule: dict[str, Any], expected: str) -> None:
    problems = device_problems([{"id": "r", **rule}])
    assert any(p.startswith(expected) for p in problems), problems


def test_spectral_rule_needs_bearing_and_speed() -> None:
    bare = machine("motor-2", bearing=None, running_speed_rpm=None)
    machines = [machine("motor-1"), bare]
    bpfo = {"id": "r", "type": "spectral_band", "band": "bpfo", "alert": 1.0}
    assert device_problems([{**bpfo, "machine": "motor-2"}], machines) == [
        "alerts.rules[0].band: machines[1] ('motor-2') has no running_speed_rpm / bearing "
        "(the bpfo band needs running_speed_rpm and bearing)"
    ]
    assert device_problems([bpfo], machines) == []  # every machine: those that can
    only_bare = [machine("motor-2", bearing=None)]
    assert device_problems([bpfo], only_bare) == [
        "alerts.rules[0].band: machines[0] ('motor-2') has no bearing "
        "(the bpfo band needs running_speed_rpm and bearing)"
    ]
    one_x = {"id": "r", "type": "spectral_band", "band": "1x", "alert": 1.0}
    assert device_problems([one_x], [machine("motor-2", bearing=None)]) == []


# -- built-in rules ------------------------------------------------------------------------


def test_builtin_rules_per_machine() -> None:
    bare = machine("fan-3", bearing=None)
    config = make_config(builtin=True, machines=[machine("motor-1"), bare])
    ids = [r.id for r in builtin_rules(config)]
    assert ids == [
        "builtin-iso-motor-1",
        "builtin-bpfo-motor-1",
        "builtin-bpfi-motor-1",
        "builtin-temperature-motor-1",
        "builtin-sensor-motor-1",
        "builtin-iso-fan-3",
        "builtin-temperature-fan-3",
        "builtin-sensor-fan-3",
    ]
    rules = {r.id: r for r in builtin_rules(config)}
    bpfo = rules["builtin-bpfo-motor-1"]
    assert (bpfo.band, bpfo.warning, bpfo.alert, bpfo.critical) == ("bpfo", 0.5, 1.5, 5.0)
    temp = rules["builtin-temperature-motor-1"]
    assert (temp.warning, temp.alert, temp.critical) == (80.0, 95.0, 110.0)
    assert rule_problems(config, catalog_for(config)) == []


def test_builtin_targets_on_the_device() -> None:
    config = make_config(builtin=True)
    engine = AlertEngine(config, catalog_for(config))
    keys = sorted(t.key for t in engine.targets())
    assert keys == sorted(
        [
            "builtin-iso-motor-1|motor-1-accel|vibration_rms|",
            "builtin-bpfo-motor-1|motor-1-accel|envelope_bpfo|",
            "builtin-bpfi-motor-1|motor-1-accel|envelope_bpfi|",
            "builtin-temperature-motor-1|motor-1-temp|temperature|",
            *(
                f"builtin-sensor-motor-1|{s}|{k}|"
                for s in ("motor-1-accel", "motor-1-temp")
                for k in ("fault", "no_data", "overflow")
            ),
        ]
    )


def test_a_user_rule_replaces_the_builtin_of_the_same_id_in_place() -> None:
    tuned = {"id": "builtin-temperature-motor-1", **TEMP, "warning": 70.0}
    extra = {"id": "mine", **TEMP}
    config = make_config([extra, tuned], builtin=True)
    rules = effective_rules(config)
    assert [r.id for r in rules] == [
        "builtin-iso-motor-1",
        "builtin-bpfo-motor-1",
        "builtin-bpfi-motor-1",
        "builtin-temperature-motor-1",
        "builtin-sensor-motor-1",
        "mine",
    ]
    assert rules[3].warning == 70.0 and rules[3].alert is None


def test_builtin_rules_off() -> None:
    config = make_config([{"id": "mine", **TEMP}], builtin=False)
    assert [r.id for r in effective_rules(config)] == ["mine"]


def test_builtin_ids_stay_valid_for_long_machine_ids() -> None:
    long_id = "m" * 63
    rule_id = builtin_id("temperature", long_id)
    assert len(rule_id) == 63 and rule_id.startswith("builtin-temperature-m")
    assert rule_id != builtin_id("temperature", "m" * 62 + "n")
    config = make_config(builtin=True, machines=[machine(long_id, sensors=[])])
    assert len({r.id for r in builtin_rules(config)}) == 5
