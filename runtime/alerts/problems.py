"""Checking the user's alert rules against the device: machines, sensors, metrics and axes that
exist, and machine data that a rule needs. Every problem by path, like config errors:
`alerts.rules[2].sensor: no sensor 'x' on machine 'motor-1' (it has ...)`.

Built-in rules are generated from the device itself and need no checking; a user rule that
replaces one is checked like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..catalog import Catalog, SensorEntry
from .rules import BEARING_BANDS, IsoZoneRule, SensorFaultRule, SpectralBandRule

if TYPE_CHECKING:
    from ..config import DeviceConfig


def rule_problems(config: DeviceConfig, catalog: Catalog) -> list[str]:
    """Every problem of config.alerts.rules on this device (config: DeviceConfig)."""
    problems: list[str] = []
    for i, rule in enumerate(config.alerts.rules):
        problems.extend(_problems(f"alerts.rules[{i}]", rule, config, catalog))
    return problems


def _listed(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _problems(path: str, rule: Any, config: Any, catalog: Catalog) -> list[str]:
    machine_ids = [m.id for m in config.machines]
    if rule.machine is not None and rule.machine not in machine_ids:
        return [f"{path}.machine: no machine {rule.machine!r} (machines: {_listed(machine_ids)})"]
    machines = [m for m in config.machines if rule.machine in (None, m.id)]
    on_machines = [s for s in catalog.sensors if s.device_id in {m.id for m in machines}]
    sensors = on_machines
    if rule.sensor is not None:
        sensors = [s for s in on_machines if s.id == rule.sensor]
        if not sensors:
            if rule.machine is not None:
                have = _listed([s.id for s in on_machines])
                where = f"on machine {rule.machine!r} (it has {have})"
            else:
                where = f"(sensors: {_listed([s.id for s in catalog.sensors])})"
            return [f"{path}.sensor: no sensor {rule.sensor!r} {where}"]
    if isinstance(rule, SensorFaultRule):
        return []
    problems: list[str] = []
    if isinstance(rule, SpectralBandRule):
        problems.extend(_machine_data_problems(path, rule, config, machines))
    metric_path = f"{path}.band" if isinstance(rule, SpectralBandRule) else f"{path}.metric"
    reporting = [s for s in sensors if rule.metric in s.metrics]
    if not reporting:
        return [*problems, f"{metric_path}: {_no_metric(rule, sensors)}"]
    if rule.axis is not None and not any(rule.axis in s.axes for s in reporting):
        problems.append(f"{path}.axis: {_no_axis(rule, reporting)}")
    if isinstance(rule, IsoZoneRule):
        units = sorted({s.metrics[rule.metric] for s in reporting} - {"mm/s"})
        if units:
            problems.append(
                f"{metric_path}: ISO 20816-3 zones apply to a velocity in mm/s, and "
                f"{rule.metric!r} is in {', '.join(units)} (use vibration_rms)"
            )
    return problems


def _no_metric(rule: Any, sensors: list[SensorEntry]) -> str:
    if rule.sensor is not None:
        have = _listed(sorted(sensors[0].metrics))
        return f"sensor {rule.sensor!r} does not report {rule.metric!r} (it reports {have})"
    have = _listed(sorted({m for s in sensors for m in s.metrics}))
    where = f"on machine {rule.machine!r}" if rule.machine is not None else "on this device"
    return f"no sensor {where} reports {rule.metric!r} (metrics: {have})"


def _no_axis(rule: Any, sensors: list[SensorEntry]) -> str:
    if rule.sensor is not None:
        axes = sensors[0].axes
        has = f"it has {', '.join(axes)}" if axes else "it has none: leave axis out"
        return f"sensor {rule.sensor!r} has no axis {rule.axis!r} ({has})"
    return f"no sensor reporting {rule.metric!r} has an axis {rule.axis!r}"


def _machine_data_problems(
    path: str, rule: SpectralBandRule, config: Any, machines: list[Any]
) -> list[str]:
    """A spectral band needs the running speed, and a bearing band the bearing too."""
    needs = ["running_speed_rpm"] + (["bearing"] if rule.band in BEARING_BANDS else [])
    needed = " and ".join(needs)
    index = {m.id: i for i, m in enumerate(config.machines)}
    lacking = []
    for machine in machines:
        missing = [n for n in needs if getattr(machine, n) is None]
        if missing:
            lacking.append(
                f"{path}.band: machines[{index[machine.id]}] ({machine.id!r}) has no "
                f"{' / '.join(missing)} (the {rule.band} band needs {needed})"
            )
    if rule.machine is None and len(lacking) < len(machines):
        return []  # a rule for every machine watches those that have the data
    return lacking
