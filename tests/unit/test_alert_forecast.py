"""Forecasting a level crossing from per-minute means: synthetic ramps of known slope."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.alerts.forecast import MIN_POINTS, forecast_crossing

NOW = 1_767_225_600.0


def ramp(minutes: int, slope_per_min: float, start: float, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = NOW - 60.0 * np.arange(minutes)[::-1]  # the last point is `now`
    y = start + slope_per_min * np.arange(minutes) + rng.normal(0.0, noise, minutes)
    return t, y


def test_noisy_ramps_crossing_within_a_few_percent_and_mostly_inside_the_band() -> None:
    # 2 mm/s rising 0.01 mm/s per minute, noise 0.02 mm/s: at `now` the true line is at
    # 2 + 0.01 * 359 = 5.59; it reaches 7.1 in (7.1 - 5.59) / 0.01 = 151 minutes.
    true_at = NOW + (7.1 - (2.0 + 0.01 * 359)) / 0.01 * 60.0
    lead = true_at - NOW
    inside = 0
    for seed in range(20):
        t, y = ramp(360, 0.01, 2.0, 0.02, seed)
        f = forecast_crossing(t, y, 7.1, NOW)  # a 90 % band
        assert f is not None
        assert abs(f.at - true_at) < 0.03 * lead
        assert f.earliest < f.at < f.latest
        assert f.slope == pytest.approx(0.01 / 60.0, rel=0.03)
        inside += f.earliest <= true_at <= f.latest
    assert inside >= 16  # of 20 (seeded; 19 now): a 90 % band that is too narrow fails this


def test_a_wider_confidence_gives_a_wider_band() -> None:
    t, y = ramp(120, 0.02, 1.0, 0.05)
    narrow = forecast_crossing(t, y, 6.0, NOW, confidence=0.5)
    wide = forecast_crossing(t, y, 6.0, NOW, confidence=0.99)
    assert narrow is not None and wide is not None
    assert wide.earliest < narrow.earliest < narrow.latest < wide.latest


def test_exact_ramp_is_exact() -> None:
    t, y = ramp(30, 0.1, 1.0, 0.0)
    f = forecast_crossing(t, y, 10.0, NOW)
    assert f is not None
    assert f.at == pytest.approx(NOW + (10.0 - (1.0 + 0.1 * 29)) / 0.1 * 60.0, rel=1e-9)


def test_a_few_wild_points_do_not_move_it() -> None:
    t, y = ramp(120, 0.02, 1.0, 0.01)
    clean = forecast_crossing(t, y, 6.0, NOW)
    y[[10, 50, 100]] += 5.0  # three spikes
    spiked = forecast_crossing(t, y, 6.0, NOW)
    assert clean is not None and spiked is not None
    assert abs(spiked.at - clean.at) < 0.05 * (clean.at - NOW)


@pytest.mark.parametrize("slope", [0.0, -0.01])
def test_flat_or_falling_gives_none(slope: float) -> None:
    t, y = ramp(120, slope, 3.0, 0.02)
    assert forecast_crossing(t, y, 7.1, NOW) is None


def test_too_few_points_gives_none() -> None:
    t, y = ramp(MIN_POINTS - 1, 0.1, 1.0, 0.0)
    assert forecast_crossing(t, y, 7.1, NOW) is None
    t, y = ramp(MIN_POINTS, 0.1, 1.0, 0.0)
    assert forecast_crossing(t, y, 7.1, NOW) is not None


def test_crossing_beyond_the_horizon_gives_none() -> None:
    t, y = ramp(60, 1e-6, 1.0, 0.0)
    assert forecast_crossing(t, y, 7.1, NOW, horizon_s=86400.0) is None


def test_a_crossing_the_fit_puts_in_the_past_is_now() -> None:
    t, y = ramp(60, 0.1, 1.0, 0.0)  # at 6.9 now, already past 5
    f = forecast_crossing(t, y, 5.0, NOW)
    assert f is not None and f.at == NOW
