"""Machine, thermal and fault models on their own: levels, ramps, clearing, repeatability."""

from __future__ import annotations

import numpy as np
import pytest
from simhw import motor

from hal_sim.faults import FaultTimeline
from hal_sim.signal import NoiseBank, hashed_normal, hashed_uniform


def test_fault_ramps_and_clears():
    timeline = FaultTimeline()
    fault = timeline.add("m", "imbalance", 0.8, ramp_s=10.0, at=5.0)
    assert fault.level(4.9) == 0.0
    assert fault.level(10.0) == pytest.approx(0.4)
    assert fault.level(100.0) == pytest.approx(0.8)
    times = np.array([0.0, 10.0, 100.0])
    assert list(fault.levels_at(times)) == pytest.approx([0.0, 0.4, 0.8])
    cleared = timeline.clear(fault.id, at=50.0)
    assert cleared.level(49.0) == pytest.approx(0.8) and cleared.level(50.0) == 0.0
    assert timeline.active() == [] and timeline.all() == [cleared]
    assert timeline.level(("m",), "imbalance", 20.0) == pytest.approx(0.8)


def test_temperature_does_not_depend_on_when_it_is_asked():
    a_line, b_line = FaultTimeline(), FaultTimeline()
    a, b = motor(a_line), motor(b_line)
    for timeline in (a_line, b_line):
        timeline.add("m", "overheating", 1.0, 0.0, 100.0)
    sparse = [a.bearing_temperature(t) for t in (700.0, 1500.0)]
    for t in np.arange(0.0, 1501.0, 7.3):  # asked often, at other times
        b.bearing_temperature(float(t))
    assert [b.bearing_temperature(700.0), b.bearing_temperature(1500.0)] == sparse
    assert b.bearing_temperature(700.0) == sparse[0]  # the past again: same answer


def test_thermal_steady_state_and_time_constant():
    timeline = FaultTimeline()
    m = motor(timeline)
    spec = m.spec
    steady = spec.ambient_c + spec.temperature_rise_c * spec.load
    assert m.bearing_temperature(0.0) == pytest.approx(steady)
    timeline.add("m", "overheating", 1.0, 0.0, 0.0)
    tau = spec.thermal_time_constant_s
    assert m.bearing_temperature(tau) - steady == pytest.approx(60 * (1 - np.exp(-1)), rel=0.01)


def test_hashed_deviates_are_uniform_and_normal():
    u = hashed_uniform(42, np.arange(200_000))
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.005
    n = hashed_normal(42, np.arange(200_000))
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1.0) < 0.01
    assert not np.array_equal(
        hashed_uniform(42, np.arange(10), 1), hashed_uniform(42, np.arange(10), 2)
    )


def test_noise_blocks_are_keyed_and_repeatable():
    bank = NoiseBank(seed=1)
    a = bank.block(key=5, index=10, n=1000, columns=3)
    assert a.shape == (1000, 3) and np.array_equal(a, NoiseBank(seed=1).block(5, 10, 1000, 3))
    assert not np.array_equal(a, bank.block(5, 11, 1000, 3))
    assert not np.array_equal(a, bank.block(6, 10, 1000, 3))
    assert abs(float(a.std()) - 1.0) < 0.05


def test_impacts_join_without_seams():
    """Impacts made for two 4096-sample blocks equal those made for one 8192-sample block
    over the same samples: tails that ring across a block boundary are carried over."""
    timeline = FaultTimeline()
    m = motor(timeline)
    timeline.add("m", "bearing_inner", 1.0, 0.0, 0.0)
    rate = 26667.0
    halves = [m._impacts(i * 4096 / rate, rate, i * 4096, 4096) for i in (2, 3)]
    whole = m._impacts(2 * 4096 / rate, rate, 2 * 4096, 8192)
    assert np.allclose(np.concatenate(halves), whole, atol=1e-4)
    assert float(np.abs(whole).max()) > 5.0
    again = motor(timeline).accel_block(1, (0, 1, 2), rate, 3, 4096)
    assert np.array_equal(m.accel_block(1, (0, 1, 2), rate, 3, 4096), again)
