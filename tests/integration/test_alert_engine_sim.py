"""The rule engine on readings from the real pipeline, in virtual time: the simulated plant with
the built-in rules, an outer-race fault injected into motor-2 and cleared again."""

from __future__ import annotations

from pathlib import Path

from runtime.alerts.engine import AlertEngine, rule_problems
from runtime.alerts.types import Condition

from .runtime_helpers import START_UTC, advance, open_sim

FAULT_AT, CLEARED_AT, END = 20.0, 40.0, 60.0


def test_outer_race_fault_raises_bearing_outer_race_once_and_clears(tmp_path: Path) -> None:
    session, clock = open_sim(tmp_path, seed=1)
    conditions: list[tuple[float, Condition]] = []  # (clock time, condition)
    try:
        device = session.device
        assert rule_problems(session.config, device.catalog) == []
        engine = AlertEngine(session.config, device.catalog)
        publish = device.live.publish

        def publish_and_judge(readings: list) -> None:  # where the device will call it
            publish(readings)
            conditions.extend((clock.now(), c) for c in engine.on_readings(readings))

        device.live.publish = publish_and_judge  # type: ignore[method-assign]

        def run_until(until: float) -> None:
            t = clock.now()
            while t < until:  # bounded: one step per simulated second
                t = min(until, t + 1.0)
                advance(session, clock, t)
                found = engine.on_sensor_statuses(device.live.sensor_statuses(), device.utc_now())
                conditions.extend((t, c) for c in found)

        run_until(FAULT_AT)
        healthy = list(conditions)
        plant = session.hardware.plant
        assert plant is not None
        fault_id = plant.inject_fault("motor-2", "bearing_outer", 0.6)
        run_until(CLEARED_AT)
        plant.clear_fault(fault_id)
        run_until(END)
    finally:
        session.close()

    assert healthy == []  # a healthy plant raises nothing
    keys = {c.key for _, c in conditions}
    assert keys == {"builtin-bpfo-motor-2|motor-2-accel|envelope_bpfo|"}  # no inner race
    # Raised once at `alert` (then only updates at the same severity), cleared once.
    severities = [c.severity for _, c in conditions]
    assert [s for i, s in enumerate(severities) if i == 0 or s != severities[i - 1]] == [
        "alert",
        None,
    ]
    first_t, first = conditions[0]
    assert first.alert_type == "bearing_outer_race" and first.device_id == "motor-2"
    assert FAULT_AT < first_t <= FAULT_AT + 6.0  # the 3 s debounce and a frame or two
    assert abs(first.ts - START_UTC - first_t) < 1.5  # reading time, not the wall clock
    assert 1.5 <= first.value < 5.0 and first.threshold == 1.5
    cleared_t = conditions[-1][0]
    assert CLEARED_AT < cleared_t <= CLEARED_AT + 6.0
    updates = [t for t, c in conditions if c.severity == "alert"]
    assert len(updates) <= 1 + (CLEARED_AT - FAULT_AT) / 10.0  # updates no more than every 10 s
    assert engine.active() == []
