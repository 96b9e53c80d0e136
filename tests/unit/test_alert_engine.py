"""The rule engine: debounce, hysteresis, escalation, clearing, suppression, updates, and every
rule type, on synthetic readings in reading time (no clock, no sleeps)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from alert_helpers import (
    T0,
    catalog_for,
    engine_for,
    feed,
    machine,
    make_config,
    reading,
    status,
)

from runtime.alerts.engine import AlertEngine
from runtime.readings import Reading

TEMP = {"metric": "temperature", "sensor": "motor-1-temp"}


def threshold(**extra: Any) -> dict[str, Any]:
    rule = {
        "id": "temp-high",
        "type": "threshold",
        "metric": "temperature",
        "warning": 80.0,
        "alert": 95.0,
        "critical": 110.0,
        "hysteresis": 2.0,
    }
    rule.update(extra)
    return rule


def severities(conditions: list) -> list:
    return [c.severity for c in conditions]


# -- debounce ------------------------------------------------------------------------------


def test_a_spike_shorter_than_the_debounce_raises_nothing() -> None:
    engine = engine_for([threshold(debounce_s=3.0)])
    out = feed(engine, [50, 100, 100, 100, 50, 50, 50], **TEMP)  # 100 for 2 s < 3 s
    assert out == []
    assert engine.active() == []


def test_a_condition_held_past_the_debounce_raises_once() -> None:
    engine = engine_for([threshold(debounce_s=3.0)])
    out = feed(engine, [50] + [100] * 8, **TEMP)  # 100 from t=1 to t=8
    assert severities(out) == ["alert"]
    (c,) = out
    assert c.ts == T0 + 4.0  # held from t=1 for 3 s
    assert c.key == "temp-high|motor-1-temp|temperature|"
    assert c.alert_type == "temperature_high"
    assert c.threshold == 95.0 and c.value == 100.0 and c.unit == "°C"
    assert c.detail == "temperature 100 °C above 95 °C"
    assert [a.key for a in engine.active()] == [c.key]


def test_fluctuating_between_two_levels_raises_the_lower_one() -> None:
    engine = engine_for([threshold(debounce_s=3.0)])
    out = feed(engine, [100, 115, 100, 115, 100, 115], **TEMP)  # always >= alert
    assert severities(out) == ["alert"]


def test_zero_debounce_raises_at_once() -> None:
    engine = engine_for([threshold(debounce_s=0.0)])
    assert severities(feed(engine, [100], **TEMP)) == ["alert"]


# -- hysteresis, escalation, clearing --------------------------------------------------------


def test_no_flapping_around_a_level() -> None:
    engine = engine_for([threshold(debounce_s=0.0)])
    values = [96, 94, 96, 93.5, 95.5, 94, 96]  # around 95, never below 95 - 2
    assert severities(feed(engine, values, **TEMP)) == ["alert"]


def test_clears_only_past_level_minus_hysteresis() -> None:
    engine = engine_for([threshold(debounce_s=0.0, warning=None, critical=None)])
    out = feed(engine, [96, 93.5, 93.1, 92.9], **TEMP)
    assert severities(out) == ["alert", None]
    assert out[1].ts == T0 + 3.0
    assert out[1].threshold == 95.0  # the level it left
    assert out[1].detail == "temperature 92.9 °C back below 95 °C"
    assert engine.active() == []


def test_escalation_and_de_escalation_keep_the_key() -> None:
    engine = engine_for([threshold(debounce_s=2.0)])
    values = [85] * 3 + [100] * 3 + [115] * 3 + [100] * 3 + [85] * 3 + [50] * 3
    out = feed(engine, values, **TEMP)
    assert severities(out) == ["warning", "alert", "critical", "alert", "warning", None]
    assert len({c.key for c in out}) == 1
    assert [c.threshold for c in out] == [80, 95, 110, 95, 80, 80]


def test_clear_debounce_is_its_own() -> None:
    engine = engine_for([threshold(debounce_s=0.0, clear_debounce_s=5.0)])
    out = feed(engine, [100, 50, 50, 50, 50, 50, 50], **TEMP)
    assert severities(out) == ["alert", None]
    assert out[1].ts == T0 + 6.0  # below since t=1, for 5 s


def test_below_direction() -> None:
    rule = threshold(direction="below", warning=10.0, alert=5.0, critical=None, debounce_s=0)
    engine = engine_for([rule])
    out = feed(engine, [20, 9, 4, 6.5, 7.5, 11.5, 13], **TEMP)
    # 6.5 stays alert (5 + 2 hysteresis), 7.5 is warning, 11.5 still (10 + 2), 13 clears
    assert severities(out) == ["warning", "alert", "warning", None]
    assert out[0].alert_type == "temperature_low"
    assert "below 10 °C" in out[0].detail


def test_update_at_most_every_interval_while_active() -> None:
    engine = engine_for([threshold(debounce_s=0.0)])
    out = feed(engine, [100] * 31, **TEMP)  # t = 0 .. 30
    assert [c.ts - T0 for c in out] == [0.0, 10.0, 20.0, 30.0]
    assert severities(out) == ["alert"] * 4


def test_a_reading_nobody_watches_reports_nothing() -> None:
    engine = engine_for([threshold(debounce_s=0.0)])
    assert feed(engine, [1000.0], metric="accel_rms") == []


def test_nan_is_not_judged() -> None:
    engine = engine_for([threshold(debounce_s=0.0)])
    out = feed(engine, [100, math.nan, math.nan, 100], **TEMP)
    assert severities(out) == ["alert"]


# -- suppression ---------------------------------------------------------------------------


def test_suppressed_machine_raises_nothing_and_restarts_debounce_after() -> None:
    engine = engine_for([threshold(debounce_s=2.0)])
    engine.set_suppressed("motor-1", True)
    assert feed(engine, [100] * 10, **TEMP) == []
    engine.set_suppressed("motor-1", False)
    out = feed(engine, [100] * 3, start=10.0, **TEMP)
    assert [(c.severity, c.ts - T0) for c in out] == [("alert", 12.0)]


def test_suppression_blocks_escalation_but_not_clearing() -> None:
    engine = engine_for([threshold(debounce_s=0.0)])
    assert severities(feed(engine, [85], **TEMP)) == ["warning"]
    engine.set_suppressed("motor-1", True)
    out = feed(engine, [115, 115, 50], start=1.0, **TEMP)
    assert severities(out) == [None]


def test_suppression_is_per_machine() -> None:
    machines = [machine("motor-1"), machine("motor-2")]
    engine = engine_for([threshold(debounce_s=0.0)], machines=machines)
    engine.set_suppressed("motor-2", True)
    out = feed(engine, [100], **TEMP)
    out += feed(engine, [100], metric="temperature", sensor="motor-2-temp", machine_id="motor-2")
    assert [c.device_id for c in out] == ["motor-1"]


# -- iso_zone, spectral_band -----------------------------------------------------------------


def test_iso_zone_from_the_machine_group_and_foundation() -> None:
    rule = {"id": "iso", "type": "iso_zone", "debounce_s": 0, "critical_factor": 1.5}
    engine = engine_for([rule], machines=[machine("motor-1", iso_group=2, foundation="rigid")])
    out = feed(engine, [1.0, 2.9, 4.6, 6.8, 1.0])
    assert severities(out) == ["warning", "alert", "critical", None]
    assert [c.alert_type for c in out[:3]] == ["iso_zone_c", "iso_zone_d", "iso_zone_d"]
    assert [c.threshold for c in out] == [2.8, 4.5, pytest.approx(6.75), pytest.approx(6.75)]
    assert out[1].detail == (
        "vibration_rms 4.6 mm/s above 4.5 mm/s (ISO 20816-3 group 2, rigid: zone D)"
    )
    assert "back in zone A" in out[3].detail


def test_iso_zone_group_and_foundation_overridden_on_the_rule() -> None:
    rule = {"id": "iso", "type": "iso_zone", "debounce_s": 0, "group": 1, "foundation": "flexible"}
    engine = engine_for([rule])
    assert feed(engine, [6.9]) == []  # zone B for group 1 flexible (B/C at 7.1)
    (c,) = feed(engine, [7.2], start=1.0)
    assert c.severity == "warning" and c.threshold == 7.1


def test_iso_zone_fractional_hysteresis() -> None:
    rule = {"id": "iso", "type": "iso_zone", "debounce_s": 0, "hysteresis": 0.1}
    engine = engine_for([rule])  # group 2 rigid: C from 2.8, hysteresis 0.28
    out = feed(engine, [2.9, 2.55, 2.9, 2.51])
    assert severities(out) == ["warning", None]


def test_spectral_band_defaults_and_detail() -> None:
    rule = {"id": "bpfo", "type": "spectral_band", "band": "bpfo", "warning": 0.5, "alert": 1.5}
    engine = engine_for([rule])
    out = feed(engine, [0.002, 3.0, 3.0, 3.0, 3.0], metric="envelope_bpfo")
    (c,) = out
    assert c.alert_type == "bearing_outer_race" and c.severity == "alert"
    assert c.metric == "envelope_bpfo" and c.unit == "m/s²"
    assert c.detail.startswith("envelope_bpfo 3 m/s² above 1.5 m/s² (BPFO ")


def test_axis_rule_watches_only_its_axis() -> None:
    rule = threshold(metric="vibration_rms", axis="y", warning=2.0, alert=None, critical=None)
    rule["debounce_s"] = 0
    engine = engine_for([rule])
    assert feed(engine, [5.0]) == []  # the overall value
    assert feed(engine, [5.0], axis="x") == []
    (c,) = feed(engine, [5.0], axis="y")
    assert c.key == "temp-high|motor-1-accel|vibration_rms|y" and c.axis == "y"
    assert c.alert_type == "vibration_high"


def test_overrides_alert_type_message_and_action() -> None:
    rule = threshold(
        debounce_s=0,
        alert_type="value_high",
        message="{machine}: {metric} at {value:.0f} {unit} ({severity})",
        recommended_action="Call Anna.",
    )
    (c,) = feed(engine_for([rule]), [100.4], **TEMP)
    assert c.alert_type == "value_high"
    assert c.message == "motor-1: temperature at 100 °C (alert)"
    assert c.recommended_action == "Call Anna."


def test_disabled_rule_watches_nothing() -> None:
    engine = engine_for([threshold(enabled=False, debounce_s=0)])
    assert feed(engine, [200], **TEMP) == []


def test_rule_for_one_sensor_only() -> None:
    machines = [machine("motor-1"), machine("motor-2")]
    rule = threshold(debounce_s=0, sensor="motor-2-temp")
    engine = engine_for([rule], machines=machines)
    assert feed(engine, [200], **TEMP) == []
    out = feed(engine, [200], metric="temperature", sensor="motor-2-temp", machine_id="motor-2")
    assert [c.sensor_id for c in out] == ["motor-2-temp"]


# -- rate_of_change, trend -----------------------------------------------------------------


def test_rate_of_change_rising() -> None:
    rule = {
        "id": "temp-rate",
        "type": "rate_of_change",
        "metric": "temperature",
        "warning": 10.0,
        "alert": 30.0,
        "window_s": 600,
    }
    engine = engine_for([rule])
    flat = feed(engine, [40.0] * 900, **TEMP)  # 15 min flat
    assert flat == []
    # Then 20 °C per hour: 1/180 °C per second, for 15 minutes.
    out = feed(engine, [40.0 + i / 180.0 for i in range(900)], start=900.0, **TEMP)
    assert out and out[0].severity == "warning"
    assert out[0].alert_type == "temperature_rising"
    assert out[0].unit == "°C"
    assert out[0].value > 10.0 and out[0].threshold == 10.0
    assert out[-1].value == pytest.approx(20.0, rel=0.05)  # once the window is all ramp
    assert "rising 20" in out[-1].detail and "°C per hour" in out[-1].detail
    assert all(c.severity == "warning" for c in out)
    assert feed(engine, [45.0] * 1200, start=1800.0, **TEMP)[-1].severity is None


def test_rate_of_change_ignores_one_wild_bucket() -> None:
    rule = {"id": "r", "type": "rate_of_change", "metric": "temperature", "warning": 10.0}
    engine = engine_for([rule])
    values = [40.0] * 1200
    values[1150:1160] = [90.0] * 10  # one 10 s bucket of nonsense near the end
    assert feed(engine, values, **TEMP) == []


def test_trend_per_day_on_minute_means() -> None:
    rule = {
        "id": "trend",
        "type": "trend",
        "metric": "vibration_rms",
        "warning": 0.5,
        "window_s": 3600,
    }
    engine = engine_for([rule])
    # 1 mm/s per day, one reading every 10 s for 2 h.
    values = [1.0 + (10.0 * i) / 86400.0 for i in range(720)]
    out = feed(engine, values, step=10.0)
    assert out and out[0].severity == "warning"
    assert out[0].alert_type == "vibration_trend"
    assert out[0].value == pytest.approx(1.0, rel=0.05)
    assert out[0].ts - T0 >= 1800.0  # not before half the window is filled
    assert engine_for([rule]).on_readings([]) == []


# -- baseline --------------------------------------------------------------------------------


class MemoryBaselines:
    def __init__(self) -> None:
        self.data: dict[str, dict] = {}

    def get(self, key: str) -> dict | None:
        return self.data.get(key)

    def put(self, key: str, value: dict) -> None:
        self.data[key] = dict(value)


BASELINE = {"id": "base", "type": "baseline", "metric": "vibration_rms", "learn_hours": 1.0}


def baseline_engine(store: MemoryBaselines | None) -> AlertEngine:
    config = make_config([{**BASELINE, "debounce_s": 0}])
    return AlertEngine(config, catalog_for(config), store)


def learn(engine: AlertEngine, start: float = 0.0, seconds: int = 3700) -> list:
    # 2.0 mm/s with a slow +-0.1 wobble: per-minute means spread about 0.07
    values = [2.0 + 0.1 * math.sin(i / 300.0) for i in range(0, seconds, 10)]
    return feed(engine, values, start=start, step=10.0)


def test_baseline_learns_then_alerts_at_sigmas() -> None:
    engine = baseline_engine(None)
    assert learn(engine) == []
    (target,) = engine.targets()
    mean, std = target.baseline  # type: ignore[attr-defined]
    assert mean == pytest.approx(2.0, abs=0.05)
    assert std == pytest.approx(0.1, rel=0.1)  # the 5 % floor of 2.0 mm/s
    assert feed(engine, [mean + 2 * std], start=3800.0) == []
    (c,) = feed(engine, [mean + 5.5 * std], start=3810.0)
    assert c.severity == "alert" and c.alert_type == "baseline_deviation"
    assert c.threshold == pytest.approx(mean + 5 * std)
    assert "baseline 2" in c.detail and "sigma" in c.detail


def test_baseline_std_floor_keeps_a_steady_machine_quiet() -> None:
    engine = baseline_engine(None)
    feed(engine, [2.0] * 400, step=10.0)  # perfectly steady: std 0 -> floor 0.1
    assert feed(engine, [2.25], start=4000.0) == []  # 2.5 sigma of the floor


def test_baseline_survives_a_restart() -> None:
    store = MemoryBaselines()
    learn(baseline_engine(store))
    (saved,) = store.data.values()
    assert saved["learned"] is True
    again = baseline_engine(store)
    (c,) = feed(again, [3.0], start=10_000.0)  # judged at once: nothing to learn again
    assert c.severity == "critical"


def test_baseline_learning_resumes_after_a_restart() -> None:
    store = MemoryBaselines()
    learn(baseline_engine(store), seconds=1800)  # half the learning time
    assert store.data and not next(iter(store.data.values()))["learned"]
    again = baseline_engine(store)
    learn(again, start=1800.0, seconds=1900)
    (target,) = again.targets()
    assert target.baseline is not None  # type: ignore[attr-defined]


def test_baseline_does_not_learn_while_suppressed() -> None:
    engine = baseline_engine(None)
    engine.set_suppressed("motor-1", True)
    learn(engine)
    (target,) = engine.targets()
    assert target.baseline is None  # type: ignore[attr-defined]


# -- sensor faults -------------------------------------------------------------------------


def sensor_engine(**extra: Any) -> AlertEngine:
    rule = {"id": "sensors", "type": "sensor_fault", "sensor": "motor-1-temp", **extra}
    return engine_for([rule])


def test_sensor_fault_raises_and_clears() -> None:
    engine = sensor_engine()
    assert engine.on_sensor_statuses([status(samples=10)], T0) == []
    bad = status(state="fault", samples=10, last_error="open circuit (RTD)")
    (c,) = engine.on_sensor_statuses([bad], T0 + 1)
    assert (c.severity, c.alert_type) == ("alert", "sensor_fault")
    assert c.key == "sensors|motor-1-temp|fault|"
    assert "open circuit" in c.detail
    (c,) = engine.on_sensor_statuses([status(samples=20)], T0 + 2)
    assert c.severity is None and c.alert_type == "sensor_fault"


def test_no_data_after_no_data_s_without_new_samples() -> None:
    engine = sensor_engine(no_data_s=10.0)
    out = []
    for i in range(15):
        out += engine.on_sensor_statuses([status(samples=5)], T0 + i)
    assert [(c.alert_type, c.severity, c.ts - T0) for c in out] == [
        ("sensor_no_data", "alert", 10.0)
    ]
    (c,) = engine.on_sensor_statuses([status(samples=6)], T0 + 15)
    assert c.severity is None


def test_stale_state_is_no_data_and_a_fault_is_not_reported_twice() -> None:
    engine = sensor_engine()
    (c,) = engine.on_sensor_statuses([status(state="stale")], T0)
    assert c.alert_type == "sensor_no_data"
    out = engine.on_sensor_statuses([status(state="fault")], T0 + 1)
    assert sorted((c.alert_type, c.severity) for c in out) == [
        ("sensor_fault", "alert"),
        ("sensor_no_data", None),
    ]


def test_overflow_growth_within_the_window() -> None:
    engine = sensor_engine(overflow_count=2, overflow_window_s=60.0)
    out = engine.on_sensor_statuses([status(overflows=7, samples=1)], T0)  # from before
    out += engine.on_sensor_statuses([status(overflows=8, samples=2)], T0 + 1)
    assert out == []
    (c,) = engine.on_sensor_statuses([status(overflows=9, samples=3)], T0 + 2)
    assert (c.alert_type, c.severity, c.value) == ("sensor_overflow", "warning", 2.0)
    out = []
    for i in range(3, 70):
        out += engine.on_sensor_statuses([status(overflows=9, samples=i)], T0 + i)
    assert [c.severity for c in out if c.severity is None] == [None]


def test_sensor_faults_can_be_limited_and_reweighted() -> None:
    engine = sensor_engine(faults=["overflow"], overflow_severity="critical")
    assert engine.on_sensor_statuses([status(state="fault")], T0) == []
    (c,) = engine.on_sensor_statuses([status(state="fault", overflows=1)], T0 + 1)
    assert c.severity == "critical"


# -- forecast ------------------------------------------------------------------------------


def test_forecast_on_a_rising_target_and_on_its_condition() -> None:
    rule = {"id": "iso", "type": "iso_zone", "debounce_s": 0}
    engine = engine_for([rule])  # group 2 rigid: warning 2.8, alert 4.5
    # 1.0 mm/s rising 0.01 mm/s per minute, for 3 hours, one reading every 10 s.
    values = [1.0 + 0.01 * (10.0 * i) / 60.0 for i in range(3 * 360)]
    out = feed(engine, values, step=10.0)
    # Raised at warning when 2.8 is reached (after 180 min, at the very end) or not yet.
    f = engine.forecast("motor-1")
    assert f is not None and f.forecast_at is not None
    now = T0 + 10.0 * (len(values) - 1)
    value_now = values[-1]
    if out:
        level = 4.5
        assert f.severity == "warning"
    else:
        level = 2.8
        assert f.severity is None and f.threshold == 2.8
    true_at = now + (level - value_now) / 0.01 * 60.0
    assert abs(f.forecast_at - true_at) < 0.03 * (true_at - now) + 60.0
    assert f.forecast_earliest <= f.forecast_at <= f.forecast_latest
    assert engine.forecast("motor-2") is None


def test_no_forecast_when_flat() -> None:
    engine = engine_for([{"id": "iso", "type": "iso_zone"}])
    feed(engine, [1.0 + 0.001 * (i % 7) for i in range(2000)], step=10.0)
    assert engine.forecast("motor-1") is None


def test_forecast_is_put_on_conditions_while_active() -> None:
    rule = threshold(metric="vibration_rms", warning=1.0, alert=50.0, critical=None)
    rule["debounce_s"] = 0
    engine = engine_for([rule])
    values = [1.5 + 0.01 * (10.0 * i) / 60.0 for i in range(1200)]
    out = feed(engine, values, step=10.0)
    assert out[0].forecast_at is None  # too little history at first
    assert out[-1].forecast_at is not None and out[-1].severity == "warning"
    assert out[-1].forecast_at > out[-1].ts


# -- the hot path --------------------------------------------------------------------------


def test_readings_in_one_batch_are_judged_in_order() -> None:
    engine = engine_for([threshold(debounce_s=1.0)])
    batch = [reading(100, t, **TEMP) for t in (0.0, 0.5, 1.0)]
    batch.insert(1, Reading("motor-1", "other", "x", None, 1.0, "", T0))
    (c,) = engine.on_readings(batch)
    assert c.ts == T0 + 1.0
