"""What the engine keeps per target (one rule on one sensor's metric and axis, or on one sensor's
health): levels, debounce and hysteresis state, and the history a slope or forecast needs.

Time is always the readings' own timestamps (or the `now` given with sensor statuses), never the
wall clock, so virtual time (`esocore sim`) and real time behave the same. Everything a target
keeps is bounded.

Values are compared in "x space": x = value for rules that alert above a level and x = -value
for rules that alert below one, so one comparison serves both directions.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from .forecast import MIN_POINTS as FORECAST_MIN_POINTS
from .forecast import Forecast, forecast_crossing
from .types import ALERT_TYPE, SEVERITIES, Condition, Severity

RANK_SEVERITY: tuple[Severity | None, ...] = (None, *SEVERITIES)  # rank 0 = no alert
FORECAST_MINUTES = 360  # per-minute means kept for forecasts: the last 6 hours


class BaselineStore(Protocol):
    """Where learned baselines outlive a restart (the alert store implements it on SQLite)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class MachineFlag:
    """Shared by every target of one machine: suppressed while it is stopped or in
    maintenance (no alert raised or escalated; raised ones still clear)."""

    __slots__ = ("suppressed",)

    def __init__(self) -> None:
        self.suppressed = False


def num(value: float) -> str:
    """Three significant digits without an exponent or trailing zeros: 7.31, 0.0123, 1480."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class Target:
    """Debounce and hysteresis of one target; subclasses say how a value maps to a rank
    (0 none, 1 info, 2 warning, 3 alert, 4 critical)."""

    def __init__(
        self,
        rule: Any,
        device_id: str,
        sensor_id: str,
        metric: str,
        axis: str | None,
        unit: str,
        flag: MachineFlag,
        update_interval: float,
    ) -> None:
        self.rule = rule
        self.key = f"{rule.id}|{sensor_id}|{metric}|{axis or ''}"
        self.device_id, self.sensor_id, self.metric, self.axis = device_id, sensor_id, metric, axis
        self.unit = unit
        self.flag = flag
        self.debounce = float(rule.debounce_s)
        self.clear_after = float(rule.clear_after_s)
        self.update_interval = update_interval
        self.rank = 0
        self.pending = False  # a change is being debounced
        self.up_since: list[float | None] = [None] * 5  # rank -> since when raw >= rank
        self.down_since: float | None = None
        self.down_peak = 0
        self.last_emit = -math.inf
        self.forecast: Forecast | None = None
        self.label = metric if axis is None else f"{metric} ({axis} axis)"

    # -- debounce ------------------------------------------------------------------------

    def step(self, raw: int, ts: float) -> int | None:
        """Advance with the undebounced rank `raw` at time ts; the previous rank when the
        debounced rank changed, else None."""
        rank = self.rank
        since = self.up_since
        if raw > rank:
            self.down_since = None
            self.pending = True
            if self.flag.suppressed:  # restart the debounce once the machine runs again
                for r in range(1, 5):
                    since[r] = None
                return None
            for r in range(rank + 1, raw + 1):
                if since[r] is None:
                    since[r] = ts
            for r in range(raw + 1, 5):
                since[r] = None
            for r in range(raw, rank, -1):
                if ts - since[r] >= self.debounce:  # type: ignore[operator]
                    self.rank = r
                    self.pending = r < raw
                    return rank
            return None
        if self.pending:
            for r in range(1, 5):
                since[r] = None
        if raw == rank:
            self.down_since = None
            self.pending = False
            return None
        self.pending = True
        if self.down_since is None:
            self.down_since, self.down_peak = ts, raw
        elif raw > self.down_peak:
            self.down_peak = raw
        if ts - self.down_since < self.clear_after:
            return None
        self.rank = self.down_peak  # the worst seen while it was on its way down
        if raw < self.rank:
            self.down_since, self.down_peak = ts, raw
        else:
            self.down_since, self.pending = None, False
        return rank

    def advance(self, raw: int, ts: float, value: float, out: list[Condition]) -> None:
        old = self.step(raw, ts)
        if old is not None or (self.rank and ts - self.last_emit >= self.update_interval):
            out.append(self.condition(ts, value, old if old is not None else self.rank))
            self.last_emit = ts

    # -- reporting -----------------------------------------------------------------------

    def alert_type(self, rank: int) -> str:
        rule = self.rule
        if rule.alert_type is not None:
            return str(rule.alert_type)
        return str(rule.default_alert_type(RANK_SEVERITY[max(rank, 1)]))

    def level(self, rank: int) -> float | None:
        """The level of a rank in the value's own unit (None if the rank has none)."""
        return None

    def describe(self, value: float, rank: int, cleared: bool) -> str:
        return f"{self.label} {num(value)} {self.unit}".rstrip()

    def condition(self, ts: float, value: float | None, old: int) -> Condition:
        rank = self.rank
        cleared = rank == 0
        shown = old if cleared else rank  # a clearing reports the level it left
        severity = RANK_SEVERITY[rank]
        threshold = self.level(shown)
        forecast = None if cleared else self.forecast
        rule = self.rule
        alert_type = self.alert_type(shown)
        message = None
        if rule.message is not None:
            message = rule.message.format_map(
                {
                    "machine": self.device_id,
                    "sensor": self.sensor_id,
                    "metric": self.metric,
                    "axis": self.axis or "",
                    "value": value if value is not None else float("nan"),
                    "threshold": threshold if threshold is not None else float("nan"),
                    "unit": self.unit,
                    "severity": severity or "cleared",
                }
            )
        return Condition(
            key=self.key,
            rule_id=rule.id,
            alert_type=alert_type if alert_type in ALERT_TYPE else "value_high",
            severity=severity,
            device_id=self.device_id,
            sensor_id=self.sensor_id,
            metric=self.metric,
            axis=self.axis,
            value=value,
            threshold=threshold,
            unit=self.unit,
            ts=ts,
            detail=self.describe(value if value is not None else math.nan, shown, cleared),
            forecast_at=forecast.at if forecast else None,
            forecast_earliest=forecast.earliest if forecast else None,
            forecast_latest=forecast.latest if forecast else None,
            message=message,
            recommended_action=rule.recommended_action,
        )


class LevelTarget(Target):
    """A value judged against fixed levels (threshold, ISO zone, spectral band, learned
    baseline) with hysteresis; optionally keeps per-minute means for a forecast."""

    def __init__(
        self,
        *args: Any,
        sign: float,
        levels: list[tuple[int, float, float]],  # (rank, level in value units, hysteresis)
        forecast: bool = False,
        describe: Callable[[LevelTarget, float, int, bool], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sign = sign
        self._describe = describe
        self.set_levels(levels)
        self.minutes: deque[tuple[float, float]] | None = (
            deque(maxlen=FORECAST_MINUTES) if forecast else None
        )
        self.minute = -1.0
        self.minute_sum = 0.0
        self.minute_count = 0

    def set_levels(self, levels: list[tuple[int, float, float]]) -> None:
        self.values = {rank: value for rank, value, _ in levels}
        # Descending rank, in x space: (rank, level, hysteresis).
        self.levels_x = sorted(
            ((rank, self.sign * value, hyst) for rank, value, hyst in levels), reverse=True
        )
        self.floor = min((lv - h for _, lv, h in self.levels_x), default=math.inf)

    def feed(self, value: float, ts: float, out: list[Condition]) -> None:
        x = self.sign * value
        if self.minutes is not None:
            minute = ts // 60.0
            if minute != self.minute:
                self._close_minute(minute, ts)
            self.minute_sum += x
            self.minute_count += 1
        if x < self.floor and not self.rank and not self.pending:
            return  # the common case: nothing to do
        if x != x:  # NaN: no judgement
            return
        rank = self.rank
        raw = 0
        for r, level, hyst in self.levels_x:
            if x >= (level - hyst if r <= rank else level):
                raw = r
                break
        self.advance(raw, ts, value, out)

    def level(self, rank: int) -> float | None:
        return self.values.get(rank)

    def describe(self, value: float, rank: int, cleared: bool) -> str:
        if self._describe is not None:
            return self._describe(self, value, rank, cleared)
        return level_sentence(self, value, rank, cleared, "")

    # -- forecast ------------------------------------------------------------------------

    def _close_minute(self, minute: float, ts: float) -> None:
        assert self.minutes is not None
        if self.minute_count:
            self.minutes.append((self.minute * 60.0 + 30.0, self.minute_sum / self.minute_count))
            self._update_forecast(ts)
        self.minute, self.minute_sum, self.minute_count = minute, 0.0, 0

    def _update_forecast(self, now: float) -> None:
        assert self.minutes is not None
        self.forecast = None
        points = self.minutes
        if len(points) < FORECAST_MIN_POINTS:
            return
        # Cheap test first: only a value higher now than ten minutes ago is worth a fit.
        if points[-1][1] <= points[-FORECAST_MIN_POINTS][1]:
            return
        above = [lv for r, lv, _ in self.levels_x if r > self.rank]
        if not above:
            return
        level_x = min(above)
        times = np.fromiter((t for t, _ in points), float, len(points))
        values = np.fromiter((x for _, x in points), float, len(points))
        self.forecast = forecast_crossing(times, values, level_x, now)


def level_sentence(target: LevelTarget, value: float, rank: int, cleared: bool, note: str) -> str:
    """ "vibration_rms 7.31 mm/s above 4.5 mm/s (note)" or, cleared, "... back below ..."."""
    level = target.values.get(rank)
    unit = f" {target.unit}" if target.unit else ""
    word = "above" if target.sign > 0 else "below"
    if cleared:
        word = "back " + ("below" if target.sign > 0 else "above")
    text = f"{target.label} {num(value)}{unit}"
    if level is not None:
        text += f" {word} {num(level)}{unit}"
    return f"{text} ({note})" if note else text


class SlopeTarget(Target):
    """How fast a value changes (rate_of_change: per hour, robust fit over ~60 points of
    `window_s`; trend: per day, least squares over the per-minute means of `window_s`)."""

    def __init__(
        self,
        *args: Any,
        sign: float,
        levels: list[tuple[int, float, float]],  # (rank, rate > 0, hysteresis)
        window_s: float,
        bucket_s: float,
        per_s: float,  # 3600 for per hour, 86400 for per day
        per_name: str,
        robust: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sign = sign
        self.values = {rank: value for rank, value, _ in levels}
        self.levels_x = sorted(levels, reverse=True)
        self.window_s, self.bucket_s, self.per_s = window_s, bucket_s, per_s
        self.per_name = per_name
        self.robust = robust
        self.points: deque[tuple[float, float]] = deque(maxlen=math.ceil(window_s / bucket_s) + 2)
        self.bucket = -math.inf
        self.bucket_sum = 0.0
        self.bucket_count = 0
        self.rate: float | None = None

    def feed(self, value: float, ts: float, out: list[Condition]) -> None:
        if value != value:
            return
        bucket = ts // self.bucket_s
        if bucket != self.bucket:
            if self.bucket_count:
                self.points.append(
                    ((self.bucket + 0.5) * self.bucket_s, self.bucket_sum / self.bucket_count)
                )
                self._judge(ts, out)
            self.bucket, self.bucket_sum, self.bucket_count = bucket, 0.0, 0
        self.bucket_sum += value
        self.bucket_count += 1

    def _judge(self, ts: float, out: list[Condition]) -> None:
        points = self.points
        while points and points[0][0] < ts - self.window_s:
            points.popleft()
        # Judge only a window at least half full: a slope over a few points at start-up is
        # mostly noise (or the machine warming up).
        if len(points) < 5 or points[-1][0] - points[0][0] < self.window_s / 2:
            self.rate = None
            raw = 0
        else:
            t = np.fromiter((p[0] for p in points), float, len(points))
            y = np.fromiter((p[1] for p in points), float, len(points))
            slope = theil_sen_slope(t, y) if self.robust else least_squares_slope(t, y)
            self.rate = slope * self.per_s
            x = self.sign * self.rate
            raw = 0
            for r, level, hyst in self.levels_x:
                if x >= (level - hyst if r <= self.rank else level):
                    raw = r
                    break
        self.advance(raw, ts, self.rate if self.rate is not None else math.nan, out)

    def level(self, rank: int) -> float | None:
        value = self.values.get(rank)
        return None if value is None else self.sign * value

    def describe(self, value: float, rank: int, cleared: bool) -> str:
        direction = "rising" if self.sign > 0 else "falling"
        unit = f"{self.unit} {self.per_name}".strip()
        limit = self.values.get(rank)
        window = f"over {num(self.window_s / 60)} min"
        if self.window_s >= 7200:
            window = f"over {num(self.window_s / 3600)} h"
        if not math.isfinite(value):
            return f"{self.label}: not enough data for a slope ({window})"
        text = f"{self.label} {direction} {num(abs(value))} {unit}"
        if limit is not None:
            text += f", {'back under' if cleared else 'over'} {num(limit)} {unit}"
        return f"{text} ({window})"


def theil_sen_slope(t: np.ndarray, y: np.ndarray) -> float:
    """Median of the pairwise slopes: one wild bucket does not tilt it."""
    i, j = np.triu_indices(t.size, 1)
    dt = t[j] - t[i]
    ok = dt > 0
    return float(np.median((y[j] - y[i])[ok] / dt[ok])) if ok.any() else 0.0


def least_squares_slope(t: np.ndarray, y: np.ndarray) -> float:
    tc = t - t.mean()
    denom = float(tc @ tc)
    return float(tc @ (y - y.mean()) / denom) if denom > 0 else 0.0


class BaselineTarget(LevelTarget):
    """Learns mean and spread of the per-minute means over the first `learn_hours` of the
    target's readings (skipping time the machine is suppressed), then judges like a
    threshold at mean ± k·sigma. Progress and result go to the baseline store, so a restart
    neither forgets a learned baseline nor starts learning over."""

    SAVE_EVERY_S = 600.0

    def __init__(self, *args: Any, store: BaselineStore | None, **kwargs: Any) -> None:
        super().__init__(*args, sign=kwargs.pop("sign"), levels=[], **kwargs)
        self.store = store
        self.learn_s = float(self.rule.learn_hours) * 3600.0
        self.state: dict[str, Any] = {"learned": False, "start": None, "n": 0, "sum": 0.0}
        self.state["sumsq"] = 0.0
        self.lminute = -1.0
        self.lsum = 0.0
        self.lcount = 0
        self.saved_at = -math.inf
        found = store.get(self.key) if store is not None else None
        if isinstance(found, dict) and {"learned", "n", "sum", "sumsq"} <= found.keys():
            self.state.update(found)
            if found["learned"]:
                self._apply()

    def feed(self, value: float, ts: float, out: list[Condition]) -> None:
        if not self.state["learned"]:
            self._learn(value, ts)
            return
        super().feed(value, ts, out)

    def _learn(self, value: float, ts: float) -> None:
        if value != value or self.flag.suppressed:
            return
        state = self.state
        if state["start"] is None:
            state["start"] = ts
        minute = ts // 60.0
        if minute != self.lminute:
            if self.lcount:
                mean = self.lsum / self.lcount
                state["n"] += 1
                state["sum"] += mean
                state["sumsq"] += mean * mean
            self.lminute, self.lsum, self.lcount = minute, 0.0, 0
            if ts - state["start"] >= self.learn_s and state["n"] >= 10:
                state["learned"] = True
                self._apply()
                self._save(ts)
                return
            if ts - self.saved_at >= self.SAVE_EVERY_S:
                self._save(ts)
        self.lsum += value
        self.lcount += 1

    def _apply(self) -> None:
        state = self.state
        n = int(state["n"])
        mean = state["sum"] / n
        var = max(0.0, (state["sumsq"] - n * mean * mean) / max(1, n - 1))
        floor = self.rule.min_std_fraction * abs(mean)
        std = max(math.sqrt(var), floor, 1e-12)
        state["mean"], state["std"] = mean, std
        hyst = self.rule.hysteresis_sigma * std
        levels = [
            (RANK_SEVERITY.index(sev), mean + self.sign * k * std, hyst)
            for sev, k in self.rule.sigmas()
        ]
        self.set_levels(levels)

    def _save(self, ts: float) -> None:
        self.saved_at = ts
        if self.store is not None:
            self.store.put(self.key, dict(self.state))

    @property
    def baseline(self) -> tuple[float, float] | None:
        """(mean, std) once learned."""
        if not self.state["learned"]:
            return None
        return self.state["mean"], self.state["std"]

    def describe(self, value: float, rank: int, cleared: bool) -> str:
        learned = self.baseline
        if learned is None:
            return super().describe(value, rank, cleared)
        mean, std = learned
        sigma = (value - mean) / std if std else 0.0
        note = f"baseline {num(mean)} ± {num(std)} {self.unit}, {sigma:+.1f} sigma".replace(
            "  ", " "
        )
        return level_sentence(self, value, rank, cleared, note)


class SensorFaultTarget(Target):
    """One fault kind of one sensor, fed from sensor statuses."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fault_rank = RANK_SEVERITY.index(self.rule.severity_of(kind))
        self.note = ""

    def alert_type(self, rank: int) -> str:
        if self.rule.alert_type is not None:
            return str(self.rule.alert_type)
        return str(self.rule.default_alert_type(self.kind))

    def judge(self, present: bool, value: float | None, note: str, now: float) -> Any:
        self.note = note
        out: list[Condition] = []
        self.advance(self.fault_rank if present else 0, now, value, out)  # type: ignore[arg-type]
        return out

    def level(self, rank: int) -> float | None:
        if self.kind == "no_data":
            return float(self.rule.no_data_s)
        if self.kind == "overflow":
            return float(self.rule.overflow_count)
        return None

    def describe(self, value: float, rank: int, cleared: bool) -> str:
        if cleared:
            return f"{self.sensor_id}: {self.kind.replace('_', ' ')} cleared"
        return f"{self.sensor_id}: {self.note}"


def with_forecast(condition: Condition, forecast: Forecast | None) -> Condition:
    if forecast is None:
        return condition
    return replace(
        condition,
        forecast_at=forecast.at,
        forecast_earliest=forecast.earliest,
        forecast_latest=forecast.latest,
    )
