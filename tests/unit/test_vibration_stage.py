import math

import numpy as np
import pytest

from dsp_ext import COMMON_BEARINGS, bearing_frequencies
from runtime.config import parse_config
from runtime.pipeline.vibration import VibrationStage

FS = 26667.0

CONFIG = parse_config(
    """
[analysis]
frame_length = 16384
[[machines]]
id = "motor-1"
name = "Motor 1"
running_speed_rpm = 1480
bearing = "6205"
  [[machines.sensors]]
  sensor = "motor-1-accel"
  mounting = { x = "radial_horizontal", y = "radial_vertical", z = "axial" }
"""
)


def make_stage(**machine_changes) -> VibrationStage:
    machine = CONFIG.machines[0].model_copy(update=machine_changes)
    mount = machine.sensors[0]
    return VibrationStage(
        "motor-1-accel",
        machine,
        ("x", "y", "z"),
        dict(mount.mounting),
        FS,
        CONFIG.analysis_for(mount),
        to_utc=lambda t: 1_700_000_000.0 + t,
    )


def feed(stage: VibrationStage, signal: np.ndarray, block: int = 500) -> None:
    t = 0.0
    for start in range(0, len(signal), block):
        chunk = signal[start : start + block]
        stage.ring.write(chunk, t, FS)
        t += len(chunk) / FS


def test_overall_vibration_is_the_largest_radial_axis_and_axial_only_with_thrust_bearing():
    n = 16384
    t = np.arange(n) / FS
    shaft = 1480 / 60
    amplitudes = (2.0, 3.0, 8.0)  # x, y radial; z axial is the largest
    signal = np.stack([a * np.sin(2 * np.pi * shaft * t) for a in amplitudes], axis=1)
    stage = make_stage()
    feed(stage, signal.astype(np.float32))
    frame = stage.analyse()
    values = {(r.metric, r.axis): r.value for r in frame.readings}
    expected = [a / (2 * np.pi * shaft) / np.sqrt(2) * 1000 for a in amplitudes]
    for axis, mm_s in zip("xyz", expected, strict=True):
        assert values[("vibration_rms", axis)] == pytest.approx(mm_s, rel=0.02)
    assert values[("vibration_rms", None)] == values[("vibration_rms", "y")]
    # Imbalance-like: all energy at 1x running speed.
    assert values[("velocity_1x", "y")] == pytest.approx(expected[1], rel=0.02)
    assert values[("velocity_2x", "y")] < 0.01 * values[("velocity_1x", "y")]

    thrust = make_stage(thrust_bearing=True)
    feed(thrust, signal.astype(np.float32))
    values = {(r.metric, r.axis): r.value for r in thrust.analyse().readings}
    assert values[("vibration_rms", None)] == values[("vibration_rms", "z")]


def test_readings_carry_ids_units_and_the_time_of_the_last_sample():
    stage = make_stage()
    rng = np.random.default_rng(3)
    feed(stage, rng.normal(0, 1, (20000, 3)).astype(np.float32))
    frame = stage.analyse()
    r = next(r for r in frame.readings if r.metric == "vibration_rms" and r.axis == "x")
    assert (r.device_id, r.sensor_id, r.unit) == ("motor-1", "motor-1-accel", "mm/s")
    assert r.ts == pytest.approx(1_700_000_000.0 + 19999 / FS)
    assert stage.analyse() is None  # nothing new since the last frame
    metrics = {r.metric for r in frame.readings}
    assert {"envelope_bpfo", "envelope_bpfi", "velocity_3x", "hf_accel_rms"} <= metrics
    assert {s.kind for s in frame.spectra} == {"spectrum", "envelope"}


def test_envelope_metric_picks_up_an_outer_race_defect():
    n = 16384 * 2
    t = np.arange(n) / FS
    bpfo = bearing_frequencies(COMMON_BEARINGS["6205"], 1480 / 60).bpfo
    impulses = np.zeros(n)
    impulses[(np.arange(0, n / FS, 1 / bpfo) * FS).astype(int)] = 1.0
    ring = np.exp(-t[:300] * 1200) * np.sin(2 * np.pi * 4000 * t[:300])
    x = 20 * np.convolve(impulses, ring)[:n] + np.random.default_rng(1).normal(0, 0.2, n)
    signal = np.stack([x, 0.5 * x, 0.2 * x], axis=1).astype(np.float32)
    stage = make_stage()
    feed(stage, signal)
    values = {(r.metric, r.axis): r.value for r in stage.analyse().readings}
    assert values[("envelope_bpfo", "x")] > 5 * values[("envelope_bpfi", "x")]
    assert values[("envelope_bpfo", None)] == values[("envelope_bpfo", "x")]
    assert not math.isnan(values[("kurtosis", None)])
