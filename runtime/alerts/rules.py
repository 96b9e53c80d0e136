"""Alert rules as they are written in the config ([alerts] and [[alerts.rules]]).

A rule judges one metric (or, for `sensor_fault`, the health of sensors) of the sensors it
selects: `machine` None means every machine, `sensor` None every sensor of those machines that
reports the metric. Whether the machines, sensors, metrics and axes exist is checked against
the device (`runtime.alerts.engine.rule_problems`), since only the catalog knows which metrics
a sensor reports; this module checks what a rule says on its own.

Imports only the config base and the alert types, so runtime.config.models can embed it.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..config.base import Strict, check_id
from .types import ALERT_TYPE, Severity

Axis = Literal["x", "y", "z"]
# Debounce: a condition must hold this long (seconds of reading time) before it is raised or
# escalated. Three 1 s updates by default, so one odd frame (a knock on the housing, a
# start-up transient) never raises an alert, while a real change is reported in seconds.
# Sensor faults are facts, not noisy measurements: no debounce.
DEFAULT_DEBOUNCE_S = 3.0
DEFAULT_SENSOR_DEBOUNCE_S = 0.0
DEFAULT_HYSTERESIS_FRACTION = 0.05

SPECTRAL_BANDS: dict[str, tuple[str, str]] = {  # band -> (metric, default alert type)
    "1x": ("velocity_1x", "imbalance"),
    "2x": ("velocity_2x", "misalignment"),
    "3x": ("velocity_3x", "looseness"),
    "bpfo": ("envelope_bpfo", "bearing_outer_race"),
    "bpfi": ("envelope_bpfi", "bearing_inner_race"),
    "bsf": ("envelope_bsf", "bearing_ball"),
    "ftf": ("envelope_ftf", "bearing_cage"),
}
BEARING_BANDS = frozenset({"bpfo", "bpfi", "bsf", "ftf"})
SENSOR_FAULT_KINDS: dict[str, str] = {  # fault kind -> default alert type
    "fault": "sensor_fault",
    "no_data": "sensor_no_data",
    "overflow": "sensor_overflow",
}
# What a rule's `message` may refer to, e.g. "{machine}: bearing at {value:.0f} {unit}".
MESSAGE_FIELDS = {
    "machine": "motor-1",
    "sensor": "motor-1-temp",
    "metric": "temperature",
    "axis": "",
    "value": 1.0,
    "threshold": 1.0,
    "unit": "°C",
    "severity": "alert",
}
_VIBRATION_PREFIXES = (
    "vibration",
    "velocity",
    "accel",
    "hf_accel",
    "envelope",
    "crest_factor",
    "kurtosis",
    "displacement",
)


def metric_family(metric: str) -> str:
    """vibration | temperature | current | other: picks a rule's default alert type."""
    if metric.startswith(_VIBRATION_PREFIXES):
        return "vibration"
    if metric.startswith("temperature"):
        return "temperature"
    if metric in ("current", "current_rms"):
        return "current"
    return "other"


_HIGH = {
    "vibration": "vibration_high",
    "temperature": "temperature_high",
    "current": "current_high",
    "other": "value_high",
}
_LOW = {
    "vibration": "value_low",
    "temperature": "temperature_low",
    "current": "current_low",
    "other": "value_low",
}


def _optional_id(value: str | None) -> str | None:
    return None if value is None else check_id(value)


class _Rule(Strict):
    """What every rule has."""

    id: str
    enabled: bool = True
    machine: str | None = None  # None: every machine
    sensor: str | None = None  # None: every sensor of the machine(s) that has the metric
    debounce_s: float = Field(DEFAULT_DEBOUNCE_S, ge=0, le=86400)
    clear_debounce_s: float | None = Field(None, ge=0, le=86400)  # None: as debounce_s
    alert_type: str | None = None  # None: the rule type's default for the metric
    message: str | None = Field(None, max_length=500)
    recommended_action: str | None = Field(None, max_length=1000)

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        return check_id(value)

    @field_validator("machine", "sensor")
    @classmethod
    def _ref_format(cls, value: str | None) -> str | None:
        return _optional_id(value)

    @field_validator("alert_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in ALERT_TYPE:
            raise ValueError(f"unknown alert type {value!r}; use one of {', '.join(ALERT_TYPE)}")
        return value

    @field_validator("message")
    @classmethod
    def _message_fields(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format_map(MESSAGE_FIELDS)
            except (KeyError, IndexError, ValueError, AttributeError) as exc:
                fields = ", ".join("{" + f + "}" for f in MESSAGE_FIELDS)
                raise ValueError(
                    f"cannot be filled in ({type(exc).__name__}: {exc}); it may use {fields}"
                ) from None
        return value

    @property
    def clear_after_s(self) -> float:
        return self.debounce_s if self.clear_debounce_s is None else self.clear_debounce_s


class _MetricRule(_Rule):
    metric: str
    axis: Axis | None = None  # None: the overall value of the metric

    @field_validator("metric")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        if re.match(r"^[a-z][a-z0-9_]{0,62}$", value) is None:
            raise ValueError("use a metric name such as vibration_rms or temperature")
        return value


# The error type of a problem with a rule's levels; its context names the level it belongs to,
# and AlertsConfig reports it at that level's path (`alerts.rules[0].alert`), so a form can
# show it next to the field to correct.
LEVEL_ERROR = "levels"


def _level_error(field: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(
        LEVEL_ERROR, message.replace("{", "{{").replace("}", "}}"), {"field": field}
    )


def _check_order(given: list[tuple[str, float | None]], increasing: bool, what: str) -> None:
    """Levels must get worse from info to critical: larger when `increasing`, else smaller.
    A problem is blamed on the more severe level of the pair (on `warning` when none is
    given)."""
    levels = [(n, v) for n, v in given if v is not None]
    if not any(n.startswith(("warning", "alert", "critical")) for n, _ in levels):
        first = next(n for n, _ in given if n.startswith("warning"))
        raise _level_error(first, "give at least one of warning, alert and critical")
    for (n1, v1), (n2, v2) in pairwise(levels):
        if (v2 <= v1) if increasing else (v2 >= v1):
            order = (" < " if increasing else " > ").join(n for n, _ in levels)
            raise _level_error(
                n2,
                f"levels out of order for {what}: need {order}, "
                f"got {n1} = {v1:g} and {n2} = {v2:g}",
            )


class _Levelled:
    """Rules with warning/alert/critical levels (and maybe info)."""

    LEVEL_NAMES: ClassVar[tuple[str, ...]] = ("warning", "alert", "critical")

    def levels(self) -> list[tuple[Severity, float]]:
        """(severity, level) from the least to the most severe, for the levels given."""
        return [(n, v) for n, v in self._given() if v is not None]  # type: ignore[misc]

    def _given(self) -> list[tuple[str, float | None]]:
        return [(n, getattr(self, n)) for n in self.LEVEL_NAMES]


class ThresholdRule(_MetricRule, _Levelled):
    """Fixed levels on a metric, above or below."""

    type: Literal["threshold"]
    direction: Literal["above", "below"] = "above"
    info: float | None = None
    warning: float | None = None
    alert: float | None = None
    critical: float | None = None
    # Absolute, in the metric's unit: a level is left only once the value is back past
    # level -/+ hysteresis. None: 5 % of the least severe level's magnitude.
    hysteresis: float | None = Field(None, ge=0)

    LEVEL_NAMES: ClassVar[tuple[str, ...]] = ("info", "warning", "alert", "critical")

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdRule:
        given = [(n, getattr(self, n)) for n in self.LEVEL_NAMES]
        _check_order(given, self.direction == "above", f"direction {self.direction!r}")
        return self

    def hysteresis_abs(self) -> float:
        if self.hysteresis is not None:
            return self.hysteresis
        return DEFAULT_HYSTERESIS_FRACTION * abs(self.levels()[0][1])

    def default_alert_type(self, severity: Severity) -> str:
        family = metric_family(self.metric)
        return (_HIGH if self.direction == "above" else _LOW)[family]


class IsoZoneRule(_MetricRule):
    """ISO 20816-3 zones of the machine: zone C warning, zone D alert (and optionally
    critical at `critical_factor` times the C/D boundary)."""

    type: Literal["iso_zone"]
    metric: str = "vibration_rms"
    group: Literal[1, 2, 3, 4] | None = None  # None: the machine's iso_group
    foundation: Literal["rigid", "flexible"] | None = None  # None: the machine's
    critical_factor: float | None = Field(None, gt=1, le=10)
    hysteresis: float = Field(DEFAULT_HYSTERESIS_FRACTION, ge=0, lt=0.5)  # of each boundary

    def default_alert_type(self, severity: Severity) -> str:
        return "iso_zone_c" if severity == "warning" else "iso_zone_d"


class _SlopeRule(_MetricRule, _Levelled):
    """A rule on how fast a value moves: levels are rates (units per PER), rising by default."""

    PER: ClassVar[str] = "hour"
    RISING_TYPES: ClassVar[dict[str, str]] = {}  # metric family -> alert type when rising

    direction: Literal["rising", "falling"] = "rising"
    warning: float | None = Field(None, gt=0)  # units per PER
    alert: float | None = Field(None, gt=0)
    critical: float | None = Field(None, gt=0)
    hysteresis: float | None = Field(None, ge=0)  # per PER; None: 5 % of the lowest level

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_order(self._given(), True, f"rates per {self.PER}")
        return self

    def hysteresis_abs(self) -> float:
        if self.hysteresis is not None:
            return self.hysteresis
        return DEFAULT_HYSTERESIS_FRACTION * self.levels()[0][1]

    def default_alert_type(self, severity: Severity) -> str:
        family = metric_family(self.metric)
        if self.direction == "falling":
            return _LOW[family]
        return self.RISING_TYPES.get(family, _HIGH[family])


class RateOfChangeRule(_SlopeRule):
    """How fast a value changes: the slope (units per hour) of a robust fit over `window_s`."""

    PER: ClassVar[str] = "hour"
    RISING_TYPES: ClassVar[dict[str, str]] = {
        "vibration": "vibration_rising",
        "temperature": "temperature_rising",
    }

    type: Literal["rate_of_change"]
    window_s: float = Field(600.0, ge=30, le=86400)


class TrendRule(_SlopeRule):
    """Slow drift: the slope (units per day) of the per-minute means over `window_s`."""

    PER: ClassVar[str] = "day"
    RISING_TYPES: ClassVar[dict[str, str]] = {
        "vibration": "vibration_trend",
        "temperature": "temperature_rising",
    }

    type: Literal["trend"]
    window_s: float = Field(86400.0, ge=600, le=30 * 86400)


class BaselineRule(_MetricRule):
    """Deviation from what this machine normally shows, learned from its first hours."""

    type: Literal["baseline"]
    direction: Literal["above", "below"] = "above"
    learn_hours: float = Field(24.0, gt=0, le=24 * 90)
    warning_sigma: float | None = Field(3.0, gt=0)
    alert_sigma: float | None = Field(5.0, gt=0)
    critical_sigma: float | None = Field(8.0, gt=0)
    # The spread is never taken below this fraction of the mean: a very steady baseline must
    # not turn measurement noise into alerts.
    min_std_fraction: float = Field(0.05, ge=0, le=1)
    hysteresis_sigma: float = Field(0.5, ge=0)

    LEVEL_NAMES: ClassVar[tuple[str, ...]] = ("warning_sigma", "alert_sigma", "critical_sigma")

    @model_validator(mode="after")
    def _ordered(self) -> BaselineRule:
        given = [(n, getattr(self, n)) for n in self.LEVEL_NAMES]
        _check_order(given, True, "sigmas")
        return self

    def sigmas(self) -> list[tuple[Severity, float]]:
        pairs: list[tuple[Severity, float | None]] = [
            ("warning", self.warning_sigma),
            ("alert", self.alert_sigma),
            ("critical", self.critical_sigma),
        ]
        return [(s, v) for s, v in pairs if v is not None]

    def default_alert_type(self, severity: Severity) -> str:
        return "baseline_deviation"


class SpectralBandRule(_Rule, _Levelled):
    """Amplitude at a running-speed order (velocity, mm/s) or a bearing defect frequency
    (envelope spectrum, m/s²), which the device computes from the machine's speed and bearing."""

    type: Literal["spectral_band"]
    band: Literal["1x", "2x", "3x", "bpfo", "bpfi", "bsf", "ftf"]
    axis: Axis | None = None
    warning: float | None = Field(None, gt=0)
    alert: float | None = Field(None, gt=0)
    critical: float | None = Field(None, gt=0)
    hysteresis: float | None = Field(None, ge=0)  # None: 5 % of the lowest level

    @model_validator(mode="after")
    def _ordered(self) -> SpectralBandRule:
        _check_order(self._given(), True, "a spectral band")
        return self

    @property
    def metric(self) -> str:
        return SPECTRAL_BANDS[self.band][0]

    def hysteresis_abs(self) -> float:
        if self.hysteresis is not None:
            return self.hysteresis
        return DEFAULT_HYSTERESIS_FRACTION * self.levels()[0][1]

    def default_alert_type(self, severity: Severity) -> str:
        return SPECTRAL_BANDS[self.band][1]


class SensorFaultRule(_Rule):
    """The sensors' own health: a chip fault, no data, lost samples."""

    type: Literal["sensor_fault"]
    debounce_s: float = Field(DEFAULT_SENSOR_DEBOUNCE_S, ge=0, le=86400)
    faults: list[Literal["fault", "no_data", "overflow"]] = Field(
        default_factory=lambda: ["fault", "no_data", "overflow"], min_length=1
    )
    no_data_s: float = Field(10.0, gt=0, le=86400)
    overflow_count: int = Field(1, ge=1)
    overflow_window_s: float = Field(60.0, gt=0, le=86400)
    severity: Severity = "alert"  # of fault and no_data
    overflow_severity: Severity = "warning"

    @field_validator("faults")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("list each fault kind once")
        return value

    def default_alert_type(self, kind: str) -> str:
        return SENSOR_FAULT_KINDS[kind]

    def severity_of(self, kind: str) -> Severity:
        return self.overflow_severity if kind == "overflow" else self.severity


Rule = Annotated[
    ThresholdRule
    | IsoZoneRule
    | RateOfChangeRule
    | TrendRule
    | BaselineRule
    | SpectralBandRule
    | SensorFaultRule,
    Field(discriminator="type"),
]
# Each rule type's model, in the order forms and docs list them.
RULE_MODELS: dict[str, type[Strict]] = {
    "threshold": ThresholdRule,
    "iso_zone": IsoZoneRule,
    "rate_of_change": RateOfChangeRule,
    "trend": TrendRule,
    "baseline": BaselineRule,
    "spectral_band": SpectralBandRule,
    "sensor_fault": SensorFaultRule,
}
RULE_TYPES = tuple(RULE_MODELS)


class AlertsConfig(Strict):
    """[alerts]: the built-in rules (on by default) and the user's own. A user rule with the
    id of a built-in one replaces it, which is how built-ins are tuned."""

    builtin_rules: bool = True
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _rule_paths(cls, data: Any, handler: Any) -> AlertsConfig:
        """Errors inside a rule are reported at `rules[i].field`, without the rule type that
        the discriminated union puts in the path; duplicate ids are listed beside them."""
        duplicates = _duplicate_ids(data)
        try:
            config = handler(data)
        except ValidationError as exc:
            raise _without_union_tags(exc, duplicates) from None
        if duplicates:
            raise ValidationError.from_exception_data("AlertsConfig", duplicates)
        return config


def _duplicate_ids(data: Any) -> list[InitErrorDetails]:
    rules = data.get("rules") if isinstance(data, dict) else None
    first: dict[str, int] = {}
    errors: list[InitErrorDetails] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        rule_id = rule.get("id") if isinstance(rule, dict) else getattr(rule, "id", None)
        if not isinstance(rule_id, str):
            continue
        if rule_id in first:
            message = f"{rule_id!r} is already used by alerts.rules[{first[rule_id]}]"
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("duplicate_id", message),
                    loc=("rules", i, "id"),
                    input=rule_id,
                )
            )
        first.setdefault(rule_id, i)
    return errors


def _without_union_tags(exc: ValidationError, more: list[InitErrorDetails]) -> ValidationError:
    errors: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind, message = error["type"], error["msg"]
        if len(loc) >= 3 and loc[0] == "rules" and loc[2] in RULE_TYPES:
            loc = loc[:2] + loc[3:]
        elif len(loc) == 2 and loc[0] == "rules" and kind.startswith("union_tag"):
            loc = (*loc, "type")
            given = error["input"].get("type") if isinstance(error["input"], dict) else None
            message = (
                f"unknown rule type {given!r}; " if given is not None else "missing; "
            ) + f"use one of {', '.join(RULE_TYPES)}"
        if kind == LEVEL_ERROR and isinstance(error.get("ctx"), dict):
            loc = (*loc, error["ctx"]["field"])
        errors.append(
            InitErrorDetails(
                type=PydanticCustomError(kind, message), loc=loc, input=error.get("input")
            )
        )
    return ValidationError.from_exception_data(exc.title, errors + more)
