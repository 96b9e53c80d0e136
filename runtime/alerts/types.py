"""What an alert is: severities, the documented alert types with their numeric codes, and the
conditions the rule engine reports. Shared by the engine, the alert store, the API, the
notifications and the fieldbus front ends (which show `alert_code`).

The table below is the one docs/alerts.md documents (a test keeps the two equal). Codes are
stable: never renumber one, add new ones instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["info", "warning", "alert", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "alert", "critical")
SEVERITY_RANK: dict[str, int] = {s: i + 1 for i, s in enumerate(SEVERITIES)}  # info=1 .. critical=4


def worse(a: Severity | None, b: Severity | None) -> Severity | None:
    """The more severe of two (None = no alert)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if SEVERITY_RANK[a] >= SEVERITY_RANK[b] else b


@dataclass(frozen=True)
class AlertType:
    name: str
    code: int
    title: str  # short, for a technician: "Bearing outer race defect"
    recommended_action: str


ALERT_TYPES: tuple[AlertType, ...] = (
    AlertType(
        "vibration_high",
        100,
        "Vibration above limit",
        "Check the machine for imbalance, misalignment and loose mounting; "
        "compare the spectrum with the last good one.",
    ),
    AlertType(
        "iso_zone_c",
        101,
        "Vibration in ISO 20816 zone C",
        "Not suitable for long unrestricted operation: plan an inspection at the next opportunity.",
    ),
    AlertType(
        "iso_zone_d",
        102,
        "Vibration in ISO 20816 zone D",
        "Vibration severe enough to cause damage: inspect and correct as soon as possible.",
    ),
    AlertType(
        "vibration_rising",
        110,
        "Vibration rising quickly",
        "Vibration changes faster than normal: check the machine and its process conditions.",
    ),
    AlertType(
        "vibration_trend",
        111,
        "Vibration trending up",
        "Slow degradation: plan maintenance before the forecast date.",
    ),
    AlertType(
        "baseline_deviation",
        112,
        "Deviation from learned baseline",
        "The value left its normal range for this machine: compare with the baseline period "
        "and check for a change in load or condition.",
    ),
    AlertType(
        "imbalance",
        120,
        "Imbalance (1x running speed high)",
        "Check the rotor for build-up, wear or lost balance weights; balance the rotor.",
    ),
    AlertType(
        "misalignment",
        121,
        "Misalignment (2x running speed high)",
        "Check shaft alignment and coupling; check for soft foot.",
    ),
    AlertType(
        "looseness",
        122,
        "Mechanical looseness (3x running speed high)",
        "Check mounting bolts, bearing housings and the foundation.",
    ),
    AlertType(
        "bearing_outer_race",
        130,
        "Bearing outer race defect",
        "Plan a bearing replacement; check lubrication meanwhile and watch the trend.",
    ),
    AlertType(
        "bearing_inner_race",
        131,
        "Bearing inner race defect",
        "Plan a bearing replacement soon; inner race defects progress quickly.",
    ),
    AlertType(
        "bearing_ball",
        132,
        "Bearing rolling element defect",
        "Plan a bearing replacement; check lubrication and contamination.",
    ),
    AlertType(
        "bearing_cage",
        133,
        "Bearing cage defect",
        "Plan a bearing replacement; check lubrication.",
    ),
    AlertType(
        "temperature_high",
        200,
        "Temperature above limit",
        "Check lubrication, load and cooling; check the bearing for damage.",
    ),
    AlertType(
        "temperature_low",
        201,
        "Temperature below limit",
        "Check the process and the heating, and that the sensor is mounted.",
    ),
    AlertType(
        "temperature_rising",
        210,
        "Temperature rising quickly",
        "Check lubrication and cooling now.",
    ),
    AlertType(
        "current_high",
        300,
        "Motor current above limit",
        "Check the load, the driven machine and the supply; check for a mechanical jam.",
    ),
    AlertType(
        "current_low",
        301,
        "Motor current below limit",
        "Check for a broken coupling or belt, a dry-running pump or a supply fault.",
    ),
    AlertType(
        "value_high",
        400,
        "Value above limit",
        "Check the process value against its operating range.",
    ),
    AlertType(
        "value_low",
        401,
        "Value below limit",
        "Check the process value against its operating range.",
    ),
    AlertType(
        "sensor_fault",
        900,
        "Sensor fault",
        "Check the sensor, its cable and connector (open or shorted RTD, chip not answering).",
    ),
    AlertType(
        "sensor_no_data",
        901,
        "No data from sensor",
        "Check the sensor cable and the device's health page; values shown are stale.",
    ),
    AlertType(
        "sensor_overflow",
        902,
        "Samples lost (FIFO overflow)",
        "The device did not keep up with the sensor: check the device's load and health.",
    ),
)
ALERT_TYPE: dict[str, AlertType] = {t.name: t for t in ALERT_TYPES}
NO_ALERT_CODE = 0  # what the fieldbus shows when a machine has no active alert


def alert_code(alert_type: str) -> int:
    return ALERT_TYPE[alert_type].code


@dataclass(frozen=True)
class Condition:
    """What one rule says about one target (a sensor's metric and axis, or a sensor) at one
    moment, after debounce and hysteresis: the engine reports a Condition whenever the
    debounced severity of a target changes or, while it is active, its value changes.

    `key` identifies the alert across time: the same key while the condition persists means the
    same alert (updated, escalated), never a new one. `severity` None means the condition has
    cleared.
    """

    key: str  # f"{rule_id}|{sensor_id}|{metric}|{axis or ''}"
    rule_id: str
    alert_type: str  # a name from ALERT_TYPES
    severity: Severity | None
    device_id: str  # the machine
    sensor_id: str | None
    metric: str | None
    axis: str | None
    value: float | None  # the value that decided (current_value)
    threshold: float | None  # the level it crossed (threshold_value)
    unit: str
    ts: float  # UTC epoch seconds of the reading that decided
    detail: str = ""  # one sentence for the message: "vibration_rms 7.3 mm/s > 4.5 mm/s (zone D)"
    # When a rising value is expected to cross its next level (UTC epoch s), with the
    # uncertainty band; None when it is not rising or there is too little history.
    forecast_at: float | None = None
    forecast_earliest: float | None = None
    forecast_latest: float | None = None
    # The rule's own wording, when it has some (None: the alert type's title and action).
    message: str | None = None
    recommended_action: str | None = None
