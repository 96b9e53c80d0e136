"""The rules every device has unless `[alerts] builtin_rules = false`: one set per machine, with
stable ids (`builtin-iso-motor-1`) so a user rule of the same id replaces one to tune it.

- builtin-iso-M: ISO 20816-3 zones on vibration_rms (overall) of every accelerometer of M,
  from the machine's iso_group and foundation: zone C warning, zone D alert.
- builtin-bpfo-M, builtin-bpfi-M (machines with a bearing and running_speed_rpm): envelope
  spectrum amplitude at the outer / inner race defect frequency, overall value. Levels
  (m/s²): warning 0.5, alert 1.5, critical 5.0. Calibrated on the simulated plant (`esocore
  sim`, seeds 1-3): healthy machines stay at 0.001-0.003, so the warning is over 150 times
  the healthy level. An outer-race fault of severity 0.3 gives 1.3-1.5 on motor-1 (warning),
  0.6 gives 2.5-3.0 on motor-1 and 3.5-4.0 on motor-2 (alert), 1.0 gives 6.0-6.6 on motor-2
  (critical); the amplitude grows about linearly with severity. The other race's line
  follows a fault only weakly (at most 0.29 at severity 1.0, 0.22 at 0.6), below the
  warning, so an outer-race fault does not raise bearing_inner_race and the other way
  round. With the default 3 s debounce, a 0.6 fault is reported at `alert` about 4 s after
  it appears (the first frame that sees it plus three 1 s updates).
- builtin-temperature-M: bearing temperature above 80 °C warning, 95 °C alert, 110 °C
  critical (rolling bearings run at 40-70 °C; grease and seals suffer above about 90-100 °C
  and standard bearing steel is tempered for up to 120 °C), on every sensor of M that
  reports `temperature`.
- builtin-sensor-M: sensor_fault (fault, no data, FIFO overflow) for every sensor of M.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .rules import (
    IsoZoneRule,
    Rule,
    SensorFaultRule,
    SpectralBandRule,
    ThresholdRule,
)

if TYPE_CHECKING:
    from ..config import DeviceConfig

MAX_ID_LENGTH = 63  # config.base.ID_PATTERN
BEARING_LEVELS = {"warning": 0.5, "alert": 1.5, "critical": 5.0}  # m/s², see the docstring
TEMPERATURE_LEVELS = {"warning": 80.0, "alert": 95.0, "critical": 110.0}  # °C


def builtin_id(kind: str, machine_id: str) -> str:
    """`builtin-KIND-MACHINE`, shortened with a hash when the machine id is too long for an
    id, so it stays stable and unique."""
    rule_id = f"builtin-{kind}-{machine_id}"
    if len(rule_id) <= MAX_ID_LENGTH:
        return rule_id
    digest = hashlib.sha1(machine_id.encode()).hexdigest()[:8]
    return f"{rule_id[: MAX_ID_LENGTH - 9]}-{digest}"


def builtin_rules(config: DeviceConfig) -> list[Rule]:
    """The built-in rules for a device config (runtime.config.DeviceConfig), machine by
    machine. Rules whose metric no sensor reports simply watch nothing."""
    rules: list[Rule] = []
    for machine in config.machines:
        m = machine.id
        rules.append(IsoZoneRule(type="iso_zone", id=builtin_id("iso", m), machine=m))
        if machine.bearing is not None and machine.running_speed_rpm is not None:
            for band in ("bpfo", "bpfi"):
                rules.append(
                    SpectralBandRule(
                        type="spectral_band",
                        id=builtin_id(band, m),
                        machine=m,
                        band=band,
                        **BEARING_LEVELS,
                    )
                )
        rules.append(
            ThresholdRule(
                type="threshold",
                id=builtin_id("temperature", m),
                machine=m,
                metric="temperature",
                **TEMPERATURE_LEVELS,
            )
        )
        rules.append(
            SensorFaultRule(
                type="sensor_fault",
                id=builtin_id("sensor", m),
                machine=m,
                overflow_count=BUILTIN_OVERFLOWS_PER_MINUTE,
            )
        )
    return rules


# A lost block now and then (a busy moment of the board) is no maintenance matter; losing
# blocks several times a minute means the figures are not to be trusted.
BUILTIN_OVERFLOWS_PER_MINUTE = 10


def effective_rules(config: DeviceConfig) -> list[Rule]:
    """The rules in force: the built-ins (if enabled), each replaced in place by a user rule
    of the same id, then the other user rules in their order."""
    user = list(config.alerts.rules)
    by_id = {rule.id: rule for rule in user}
    rules: list[Rule] = []
    if config.alerts.builtin_rules:
        rules = [by_id.pop(rule.id, rule) for rule in builtin_rules(config)]
    replaced = {rule.id for rule in rules}
    return rules + [rule for rule in user if rule.id not in replaced]
