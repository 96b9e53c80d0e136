"""When will a rising value reach a level? A robust straight-line fit, with its uncertainty.

Theil-Sen (the median of the slopes between every pair of points) ignores a few wild points,
which a least-squares line does not: a single start-up spike in the last hours must not move
a maintenance forecast by days. The band combines the fit's confidence interval on the slope
with the uncertainty of the line's level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, theilslopes

MIN_POINTS = 10  # fewer points than this give no forecast
DEFAULT_CONFIDENCE = 0.90
DEFAULT_HORIZON_S = 365 * 86400.0  # a crossing further away than this is no forecast


@dataclass(frozen=True)
class Forecast:
    at: float  # expected crossing (same time base as `now`, UTC epoch s in the engine)
    earliest: float  # with the steepest slope of the confidence interval
    latest: float  # with the shallowest one
    slope: float  # units per second


def forecast_crossing(
    times: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    level: float,
    now: float,
    confidence: float = DEFAULT_CONFIDENCE,
    horizon_s: float = DEFAULT_HORIZON_S,
) -> Forecast | None:
    """The time the fitted line reaches `level` from below, or None when there are fewer than
    MIN_POINTS points, the value is not rising (the slope's whole confidence interval must be
    above zero) or the crossing is further than `horizon_s` from `now`. A crossing the fit
    puts in the past is reported as `now`."""
    t = np.asarray(times, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.shape != y.shape:
        raise ValueError("times and values must have the same length")
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep] - now, y[keep]  # relative times keep the arithmetic exact
    if t.size < MIN_POINTS or not math.isfinite(level):
        return None
    fit = theilslopes(y, t, alpha=confidence)
    slope, low, high = float(fit[0]), float(fit[2]), float(fit[3])
    if not (slope > 0 and low > 0):
        return None
    # The line through the centre of the points: its level there is the median of the
    # detrended values, known to about 1.25 * sigma / sqrt(n) (sigma from the residuals'
    # median absolute deviation, so wild points do not widen it).
    t_mid = float(t.mean())
    detrended = y - slope * (t - t_mid)
    y_mid = float(np.median(detrended))
    sigma = 1.4826 * float(np.median(np.abs(detrended - y_mid)))
    spread = float(norm.ppf(0.5 + confidence / 2)) * 1.2533 * sigma / math.sqrt(t.size)

    def crossing(level_at_mid: float, s: float) -> float:
        return now + max(0.0, t_mid + (level - level_at_mid) / s)

    at = crossing(y_mid, slope)
    if at - now > horizon_s:
        return None
    # Earliest: the steepest slope from the highest level at the centre; latest: the
    # shallowest from the lowest.
    return Forecast(
        at=at,
        earliest=crossing(y_mid + spread, high),
        latest=crossing(y_mid - spread, low),
        slope=slope,
    )
