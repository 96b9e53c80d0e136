"""The device end to end in virtual time: the real drivers on the simulated board, the C
kernel, the store; faults injected into the simulated machines."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from dsp_ext import COMMON_BEARINGS, bearing_frequencies
from runtime.fault_option import FaultSpec
from runtime.store import Store

from .runtime_helpers import START_UTC, advance, open_sim, rows, series, simulate

HOUR = 3600.0
IMBALANCE_AT = 20 * 60.0
BEARING_AT = 40 * 60.0
MOTOR2_SHAFT_HZ = 2970 / 60


@pytest.fixture(scope="module")
def hour(tmp_path_factory):
    """One virtual hour of the default plant: motor-1 goes out of balance at 20 min, motor-2's
    outer race is damaged at 40 min."""
    data_dir = tmp_path_factory.mktemp("hour")
    faults = [
        FaultSpec("motor-1", "imbalance", 0.8, IMBALANCE_AT),
        FaultSpec("motor-2", "bearing_outer", 0.8, BEARING_AT),
    ]
    session = simulate(data_dir, HOUR, seed=11, faults=faults)
    return data_dir, session


def mean_between(points, t0, t1):
    return statistics.fmean(v for t, v in points if t0 <= t < t1)


def test_an_hour_gives_one_overall_reading_per_second_per_metric(hour):
    data_dir, session = hour
    for sensor in ("motor-1-accel", "motor-2-accel"):
        points = series(data_dir, sensor, "vibration_rms")
        # The first second has no full frame yet (16384 samples = 0.61 s).
        assert HOUR - 2 <= len(points) <= HOUR, (sensor, len(points))
        gaps = np.diff([t for t, _ in points])
        assert gaps.max() < 1.5, f"{sensor}: a {gaps.max():.2f} s hole in the readings"
    for sensor, metric in (("motor-1-temp", "temperature"), ("motor-2-current", "current_rms")):
        assert HOUR - 3 <= len(series(data_dir, sensor, metric)) <= HOUR
    health = session.device.health()
    assert health["overflows"] == 0
    assert health["deadline_misses"] == 0
    minute = rows(
        data_dir,
        "SELECT count(*) FROM rollup_1m JOIN series ON series.id = series_id "
        "WHERE sensor_id = 'motor-1-accel' AND metric = 'vibration_rms' AND axis = ''",
    )
    assert minute == [(60,)]


def test_healthy_machine_is_in_iso_zone_a_and_imbalance_raises_1x(hour):
    data_dir, _ = hour
    vib = series(data_dir, "motor-1-accel", "vibration_rms")
    healthy = mean_between(vib, 60, IMBALANCE_AT)
    faulty = mean_between(vib, IMBALANCE_AT + 60, HOUR)
    # Group 2 machine on a rigid foundation: zone A ends at 1.4 mm/s.
    assert 0.3 < healthy < 1.4
    assert faulty > 3 * healthy
    one_x = mean_between(series(data_dir, "motor-1-accel", "velocity_1x"), IMBALANCE_AT + 60, HOUR)
    two_x = mean_between(series(data_dir, "motor-1-accel", "velocity_2x"), IMBALANCE_AT + 60, HOUR)
    three_x = mean_between(
        series(data_dir, "motor-1-accel", "velocity_3x"), IMBALANCE_AT + 60, HOUR
    )
    assert one_x > 5 * two_x and one_x > 5 * three_x
    # The overall value is the RMS of the whole band, so 1x must make up most of it.
    assert one_x > 0.8 * faulty
    # motor-2 was never out of balance.
    other = series(data_dir, "motor-2-accel", "vibration_rms")
    assert mean_between(other, IMBALANCE_AT + 60, BEARING_AT) < 2 * mean_between(
        other, 60, IMBALANCE_AT
    )


def test_outer_race_fault_shows_at_bpfo_in_the_envelope(hour):
    data_dir, _ = hour
    bpfo_series = series(data_dir, "motor-2-accel", "envelope_bpfo")
    bpfi_series = series(data_dir, "motor-2-accel", "envelope_bpfi")
    before = mean_between(bpfo_series, 60, BEARING_AT)
    after = mean_between(bpfo_series, BEARING_AT + 60, HOUR)
    assert after > 5 * before
    assert after > 3 * mean_between(bpfi_series, BEARING_AT + 60, HOUR)
    bpfo = bearing_frequencies(COMMON_BEARINGS["6203"], MOTOR2_SHAFT_HZ).bpfo
    store = Store(data_dir, readonly=True)
    try:
        envelopes = [store.latest_spectrum("motor-2-accel", axis, "envelope") for axis in "xy"]
    finally:
        store.close()
    for snapshot in envelopes:
        assert snapshot is not None and snapshot.ts > START_UTC + BEARING_AT
        top = int(np.argmax(snapshot.amplitudes[1:])) + 1
        # Within one bin, allowing the 1-2 % slip of a real bearing (modelled by the plant).
        assert abs(top * snapshot.bin_width_hz - bpfo) <= max(snapshot.bin_width_hz, 0.02 * bpfo), (
            top * snapshot.bin_width_hz,
            bpfo,
        )


def test_same_seed_same_readings_bit_for_bit(tmp_path):
    def run(name: str, seed: int) -> list[tuple]:
        simulate(tmp_path / name, 20.0, seed=seed)
        return rows(
            tmp_path / name,
            "SELECT series.sensor_id, metric, axis, ts_ms, value FROM reading_values "
            "JOIN series ON series.id = series_id ORDER BY 1, 2, 3, 4",
        )

    first = run("a", 5)
    assert len(first) > 1000
    assert first == run("b", 5)
    assert first != run("c", 6)


def test_starved_acquisition_overflows_and_is_counted(tmp_path):
    session, clock = open_sim(tmp_path)
    try:
        task = next(t for t in session.device.scheduler.tasks if t.name == "acquire:motor-1-accel")
        task.period *= 4  # drain far too rarely for the FIFO
        advance(session, clock, 10.0)
        status = session.device.live.sensor_status("motor-1-accel")
        other = session.device.live.sensor_status("motor-2-accel")
    finally:
        session.close()
    assert status.overflows >= 5
    assert other.overflows == 0
    logged = rows(
        tmp_path,
        "SELECT count(*) FROM event_log WHERE kind = 'fifo_overflow' "
        "AND sensor_id = 'motor-1-accel'",
    )[0][0]
    assert logged == status.overflows


def test_a_sensor_that_disconnects_and_returns(tmp_path):
    session, clock = open_sim(tmp_path)
    try:
        advance(session, clock, 10.0)
        fault = session.hardware.plant.inject_fault("motor-1-accel", "sensor_disconnect", 1.0)
        advance(session, clock, 40.0)
        during = session.device.live.sensor_status("motor-1-accel")
        assert during.state == "fault"
        assert session.device.live.sensor_status("motor-2-accel").state == "ok"
        session.hardware.plant.clear_fault(fault)
        advance(session, clock, 60.0)
        after = session.device.live.sensor_status("motor-1-accel")
    finally:
        session.close()
    assert after.state == "ok" and after.recoveries == 1 and after.faults == 1
    kinds = [
        k
        for (k,) in rows(
            tmp_path, "SELECT kind FROM event_log WHERE sensor_id = 'motor-1-accel' ORDER BY id"
        )
    ]
    assert [k for k in kinds if k.startswith("sensor_")] == ["sensor_fault", "sensor_recovered"]
    # the built-in sensor rule raised an alert for the fault and resolved it after it
    assert [k for k in kinds if k.startswith("alert_")] == ["alert_raised", "alert_resolved"]
    times = [t for t, _ in series(tmp_path, "motor-1-accel", "vibration_rms")]
    assert any(t < 10.5 for t in times)
    assert not any(11.0 < t < 40.0 for t in times)
    assert sum(t > 45.0 for t in times) >= 10
    # The other machine never stopped.
    other = [t for t, _ in series(tmp_path, "motor-2-accel", "vibration_rms")]
    assert sum(11.0 < t < 40.0 for t in other) >= 25
    assert not math.isnan(other[-1])
