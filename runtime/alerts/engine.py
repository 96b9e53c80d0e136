"""The rule engine: turns readings and sensor statuses into Conditions. Pure logic, no I/O
(apart from the optional baseline store it is handed).

Rules are compiled once into targets indexed by (sensor_id, metric, axis), so a reading no rule
watches costs one dict lookup: the engine sits on the hot path of every published batch.
A Condition is reported only on a change (raised, escalated, de-escalated, cleared) and, while
a condition is active, at most once per UPDATE_INTERVAL_S of reading time with the current
value, so the alert's value and last-seen time stay fresh without flooding the alert store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dsp_ext import bearing_frequencies

from ..catalog import Catalog, SensorEntry
from ..live import SensorStatus
from ..readings import Reading, iso_utc
from . import iso20816
from .builtin import effective_rules
from .problems import rule_problems
from .rules import (
    BEARING_BANDS,
    BaselineRule,
    IsoZoneRule,
    RateOfChangeRule,
    SensorFaultRule,
    SpectralBandRule,
    ThresholdRule,
    TrendRule,
)
from .targets import (
    RANK_SEVERITY,
    BaselineStore,
    BaselineTarget,
    LevelTarget,
    MachineFlag,
    SensorFaultTarget,
    SlopeTarget,
    Target,
    level_sentence,
    num,
    with_forecast,
)
from .types import SEVERITY_RANK, Condition

if TYPE_CHECKING:
    from ..config import DeviceConfig

__all__ = ["UPDATE_INTERVAL_S", "AlertEngine", "BaselineStore", "rule_problems"]

UPDATE_INTERVAL_S = 10.0
RATE_POINTS = 60  # rate_of_change keeps about this many bucket means per window

_Key = tuple[str, str, str | None]


class AlertEngine:
    def __init__(
        self,
        config: DeviceConfig,
        catalog: Catalog,
        baselines: BaselineStore | None = None,
        update_interval_s: float = UPDATE_INTERVAL_S,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.baselines = baselines
        self.update_interval = update_interval_s
        self._flags: dict[str, MachineFlag] = {m.id: MachineFlag() for m in config.machines}
        self._index: dict[_Key, list[Target]] = {}
        self._faults: dict[str, list[SensorFaultTarget]] = {}
        self._by_machine: dict[str, list[Target]] = {}
        self._active: dict[str, Condition] = {}
        self._sensor_seen: dict[str, tuple[int, float]] = {}  # sensor -> (samples, since)
        self._overflows: dict[str, deque[tuple[float, int]]] = {}
        self._compile()

    # -- compiling rules into targets ----------------------------------------------------

    def _compile(self) -> None:
        sensors_of: dict[str, list[SensorEntry]] = {}
        for entry in self.catalog.sensors:
            sensors_of.setdefault(entry.device_id, []).append(entry)
        machines = {m.id: m for m in self.config.machines}
        for rule in effective_rules(self.config):
            if not rule.enabled:
                continue
            chosen = [machines[rule.machine]] if rule.machine in machines else []
            if rule.machine is None:
                chosen = list(self.config.machines)
            for machine in chosen:
                for sensor in sensors_of.get(machine.id, []):
                    if rule.sensor is not None and sensor.id != rule.sensor:
                        continue
                    for target in self._targets(rule, machine, sensor):
                        self._by_machine.setdefault(machine.id, []).append(target)
                        if isinstance(target, SensorFaultTarget):
                            self._faults.setdefault(sensor.id, []).append(target)
                        else:
                            key = (sensor.id, target.metric, target.axis)
                            self._index.setdefault(key, []).append(target)

    def _targets(self, rule: Any, machine: Any, sensor: SensorEntry) -> list[Target]:
        flag = self._flags[machine.id]
        common = (machine.id, sensor.id)
        if isinstance(rule, SensorFaultRule):
            return [
                SensorFaultTarget(
                    rule, *common, kind, None, "", flag, self.update_interval, kind=kind
                )
                for kind in rule.faults
            ]
        metric, axis = rule.metric, rule.axis
        if metric not in sensor.metrics or (axis is not None and axis not in sensor.axes):
            return []
        unit = sensor.metrics[metric]
        args = (rule, *common, metric, axis, unit, flag, self.update_interval)
        if isinstance(rule, ThresholdRule):
            hyst = rule.hysteresis_abs()
            levels = [(SEVERITY_RANK[s], v, hyst) for s, v in rule.levels()]
            sign = 1.0 if rule.direction == "above" else -1.0
            return [LevelTarget(*args, sign=sign, levels=levels, forecast=True)]
        if isinstance(rule, IsoZoneRule):
            return [self._iso_target(rule, machine, args)]
        if isinstance(rule, SpectralBandRule):
            return self._spectral_targets(rule, machine, args)
        if isinstance(rule, BaselineRule):
            sign = 1.0 if rule.direction == "above" else -1.0
            return [BaselineTarget(*args, sign=sign, store=self.baselines)]
        if isinstance(rule, RateOfChangeRule | TrendRule):
            return [self._slope_target(rule, args)]
        return []

    def _iso_target(self, rule: IsoZoneRule, machine: Any, args: tuple[Any, ...]) -> Target:
        group = rule.group or machine.iso_group
        foundation = rule.foundation or machine.foundation
        _, bc, cd = iso20816.boundaries(group, foundation)
        frac = rule.hysteresis
        levels = [
            (SEVERITY_RANK["warning"], bc, frac * bc),
            (SEVERITY_RANK["alert"], cd, frac * cd),
        ]
        if rule.critical_factor is not None:
            top = rule.critical_factor * cd
            levels.append((SEVERITY_RANK["critical"], top, frac * top))
        where = f"ISO 20816-3 group {group}, {foundation}"

        def describe(target: LevelTarget, value: float, rank: int, cleared: bool) -> str:
            zone = iso20816.zone(value, group, foundation)
            if cleared:
                return f"{target.label} {num(value)} {target.unit} back in zone {zone} ({where})"
            return level_sentence(target, value, rank, cleared, f"{where}: zone {zone}")

        return LevelTarget(*args, sign=1.0, levels=levels, forecast=True, describe=describe)

    def _spectral_targets(
        self, rule: SpectralBandRule, machine: Any, args: tuple[Any, ...]
    ) -> list[Target]:
        if machine.running_speed_rpm is None:
            return []
        shaft_hz = machine.running_speed_rpm / 60.0
        if rule.band in BEARING_BANDS:
            if machine.bearing is None:
                return []
            freq = getattr(bearing_frequencies(machine.bearing.geometry(), shaft_hz), rule.band)
        else:
            freq = shaft_hz * int(rule.band[0])
        hyst = rule.hysteresis_abs()
        levels = [(SEVERITY_RANK[s], v, hyst) for s, v in rule.levels()]
        note = f"{rule.band.upper()} {num(freq)} Hz"

        def describe(target: LevelTarget, value: float, rank: int, cleared: bool) -> str:
            return level_sentence(target, value, rank, cleared, note)

        return [LevelTarget(*args, sign=1.0, levels=levels, describe=describe)]

    def _slope_target(self, rule: RateOfChangeRule | TrendRule, args: tuple[Any, ...]) -> Target:
        hyst = rule.hysteresis_abs()
        levels = [(SEVERITY_RANK[s], v, hyst) for s, v in rule.levels()]
        sign = 1.0 if rule.direction == "rising" else -1.0
        if isinstance(rule, RateOfChangeRule):
            bucket = max(1.0, rule.window_s / RATE_POINTS)
            per = dict(per_s=3600.0, per_name="per hour", robust=True)
        else:
            bucket = 60.0
            per = dict(per_s=86400.0, per_name="per day", robust=False)
        return SlopeTarget(
            *args, sign=sign, levels=levels, window_s=rule.window_s, bucket_s=bucket, **per
        )

    # -- feeding -------------------------------------------------------------------------

    def on_readings(self, readings: Iterable[Reading]) -> list[Condition]:
        """Judge a published batch; the Conditions that changed (or are due an update)."""
        out: list[Condition] = []
        get = self._index.get
        for r in readings:
            targets = get((r.sensor_id, r.metric, r.axis))
            if targets is not None:
                for target in targets:
                    target.feed(r.value, r.ts, out)  # type: ignore[attr-defined]
        if out:
            self._track(out)
        return out

    def on_sensor_statuses(self, statuses: Iterable[SensorStatus], now: float) -> list[Condition]:
        """Judge the sensors' health; call every second or so with now = UTC epoch s."""
        out: list[Condition] = []
        for status in statuses:
            targets = self._faults.get(status.sensor_id)
            if not targets:
                continue
            silent_s = self._silent_for(status, now)
            history = self._overflow_history(status, now, targets)
            for target in targets:
                out.extend(self._judge_sensor(target, status, silent_s, history, now))
        if out:
            self._track(out)
        return out

    def _silent_for(self, status: SensorStatus, now: float) -> float:
        """Seconds since the sensor's sample count last grew (as seen by this engine; the
        status's own last_data_ts is in the device clock's time base, not UTC)."""
        seen = self._sensor_seen.get(status.sensor_id)
        if seen is None or status.samples != seen[0]:
            self._sensor_seen[status.sensor_id] = (status.samples, now)
            return 0.0
        return now - seen[1]

    def _overflow_history(
        self, status: SensorStatus, now: float, targets: list[SensorFaultTarget]
    ) -> deque[tuple[float, int]] | None:
        """(now, overflow count) as seen, back to the longest overflow window of the
        sensor's rules; counts from before the engine started do not count."""
        windows = [t.rule.overflow_window_s for t in targets if t.kind == "overflow"]
        if not windows:
            return None
        history = self._overflows.setdefault(status.sensor_id, deque())
        if history and status.overflows < history[-1][1]:  # the counters restarted
            history.clear()
        history.append((now, status.overflows))
        keep = max(windows)
        while len(history) > 1 and history[1][0] <= now - keep:
            history.popleft()
        return history

    def _judge_sensor(
        self,
        target: SensorFaultTarget,
        status: SensorStatus,
        silent_s: float,
        history: deque[tuple[float, int]] | None,
        now: float,
    ) -> list[Condition]:
        rule = target.rule
        kind = target.kind
        if kind == "fault":
            present = status.state == "fault"
            why = status.last_error or "the chip does not answer"
            return target.judge(present, None, f"sensor fault ({why})", now)
        if kind == "no_data":
            if status.state == "fault" and "fault" in rule.faults:
                return target.judge(False, silent_s, "", now)  # the fault alert says it all
            quiet = status.state in ("stale", "offline") or silent_s >= rule.no_data_s
            note = f"no data for {num(silent_s)} s" if silent_s else f"no data ({status.state})"
            return target.judge(quiet, silent_s, note, now)
        assert history is not None
        increase = status.overflows - _count_at(history, now - rule.overflow_window_s)
        note = f"{increase} FIFO overflows in {num(rule.overflow_window_s)} s (samples lost)"
        return target.judge(increase >= rule.overflow_count, float(increase), note, now)

    def _track(self, conditions: list[Condition]) -> None:
        for c in conditions:
            if c.severity is None:
                self._active.pop(c.key, None)
            else:
                self._active[c.key] = c

    # -- control and queries -------------------------------------------------------------

    def set_suppressed(self, device_id: str, suppressed: bool) -> None:
        """Machine stopped or in maintenance: nothing new is raised or escalated for it;
        conditions already raised are still tracked and clear normally."""
        flag = self._flags.get(device_id)
        if flag is None:
            flag = self._flags[device_id] = MachineFlag()
        flag.suppressed = suppressed

    def active(self) -> list[Condition]:
        """The conditions currently raised (debounced), as last reported."""
        return list(self._active.values())

    def forecast(self, device_id: str) -> Condition | None:
        """The machine's soonest expected level crossing among its threshold and ISO zone
        targets: the active condition with its forecast, or, for a target not raised yet, a
        Condition with severity None and the level it is heading for as threshold."""
        best: tuple[float, Target] | None = None
        for target in self._by_machine.get(device_id, []):
            f = target.forecast
            if f is not None and (best is None or f.at < best[0]):
                best = (f.at, target)
        if best is None:
            return None
        target = best[1]
        active = self._active.get(target.key)
        if active is not None:
            return with_forecast(active, target.forecast)
        assert isinstance(target, LevelTarget) and target.forecast is not None
        rank = min((r for r, _, _ in target.levels_x if r > target.rank), default=0)
        level = target.level(rank)
        last = target.minutes[-1] if target.minutes else (target.forecast.at, 0.0)
        value = target.sign * last[1]
        severity = RANK_SEVERITY[rank]
        detail = (
            f"{target.label} {num(value)} {target.unit} rising: expected to reach "
            f"{num(level or 0.0)} {target.unit} ({severity}) around {iso_utc(target.forecast.at)}"
        )
        return Condition(
            key=target.key,
            rule_id=target.rule.id,
            alert_type=target.alert_type(rank),
            severity=None,
            device_id=target.device_id,
            sensor_id=target.sensor_id,
            metric=target.metric,
            axis=target.axis,
            value=value,
            threshold=level,
            unit=target.unit,
            ts=last[0],
            detail=detail,
            forecast_at=target.forecast.at,
            forecast_earliest=target.forecast.earliest,
            forecast_latest=target.forecast.latest,
        )

    def targets(self) -> list[Target]:
        """Every compiled target (for diagnostics and tests)."""
        return [t for ts in self._by_machine.values() for t in ts]


def _count_at(history: deque[tuple[float, int]], when: float) -> int:
    """The overflow counter as last seen at or before `when` (the oldest one if none)."""
    count = history[0][1]
    for at, value in history:
        if at > when:
            break
        count = value
    return count
