"""Clocks: real time is monotonic, virtual time moves only when told and never backwards."""

from __future__ import annotations

import itertools
import math

import pytest

from drivers.clock import RealClock, VirtualClock
from drivers.hal import Clock


def test_both_clocks_satisfy_the_hal_protocol():
    assert isinstance(RealClock(), Clock)
    assert isinstance(VirtualClock(), Clock)


def test_real_clock_is_monotonic():
    clock = RealClock()
    readings = [clock.now() for _ in range(1000)]
    assert all(b >= a for a, b in itertools.pairwise(readings))


def test_virtual_clock_advances_and_sets():
    clock = VirtualClock(start=5.0)
    assert clock.now() == 5.0
    assert clock.advance(0.25) == 5.25
    clock.advance(0)
    clock.set(7.5)
    assert clock.now() == 7.5
    clock.set(7.5)  # setting to now is fine


@pytest.mark.parametrize("dt", [-1.0, math.nan, math.inf, "1"])
def test_virtual_clock_refuses_bad_steps(dt):
    clock = VirtualClock()
    with pytest.raises(ValueError, match="dt"):
        clock.advance(dt)
    assert clock.now() == 0.0


def test_virtual_time_never_runs_backwards():
    clock = VirtualClock(10.0)
    with pytest.raises(ValueError, match="only moves on"):
        clock.set(9.0)
    with pytest.raises(ValueError, match="start"):
        VirtualClock(math.nan)
