"""Shared helpers for the alert engine tests: a small plant config, its catalog, readings."""

from __future__ import annotations

from typing import Any

from runtime.alerts.engine import AlertEngine
from runtime.catalog import Catalog, SensorEntry
from runtime.config import DeviceConfig
from runtime.config.loader import validate_config
from runtime.live import SensorStatus
from runtime.readings import Reading

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z

ACCEL_METRICS = {
    "vibration_rms": "mm/s",
    "accel_rms": "m/s²",
    "velocity_1x": "mm/s",
    "envelope_bpfo": "m/s²",
    "envelope_bpfi": "m/s²",
}


def machine(mid: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": mid,
        "name": mid,
        "running_speed_rpm": 1480,
        "bearing": "6205",
        "sensors": [{"sensor": f"{mid}-accel"}, {"sensor": f"{mid}-temp"}],
    }
    data.update(extra)
    return data


def make_config(
    rules: list[dict[str, Any]] | None = None,
    builtin: bool = False,
    machines: list[dict[str, Any]] | None = None,
) -> DeviceConfig:
    data = {
        "machines": machines if machines is not None else [machine("motor-1")],
        "alerts": {"builtin_rules": builtin, "rules": rules or []},
    }
    return validate_config(data)


def catalog_for(config: DeviceConfig) -> Catalog:
    sensors = []
    for m in config.machines:
        for mount in m.sensors:
            if mount.sensor.endswith("-accel"):
                sensors.append(
                    SensorEntry(
                        mount.sensor,
                        mount.sensor,
                        "accel",
                        "iis3dwb",
                        m.id,
                        26667.0,
                        ("x", "y", "z"),
                        dict(ACCEL_METRICS),
                        1.0,
                    )
                )
            else:
                sensors.append(
                    SensorEntry(
                        mount.sensor,
                        mount.sensor,
                        "temperature",
                        "max31865",
                        m.id,
                        10.0,
                        (),
                        {"temperature": "°C"},
                        1.0,
                    )
                )
    return Catalog((), tuple(sensors))


def engine_for(rules: list[dict[str, Any]], **kwargs: Any) -> AlertEngine:
    config = make_config(rules, **kwargs)
    return AlertEngine(config, catalog_for(config))


def reading(
    value: float,
    t: float,
    metric: str = "vibration_rms",
    axis: str | None = None,
    sensor: str = "motor-1-accel",
    machine_id: str = "motor-1",
) -> Reading:
    unit = ACCEL_METRICS.get(metric, "°C")
    return Reading(machine_id, sensor, metric, axis, float(value), unit, T0 + t)


def feed(
    engine: AlertEngine, values: list[float], start: float = 0.0, step: float = 1.0, **kwargs: Any
) -> list:
    """Readings one `step` apart from `start` (seconds after T0); every Condition reported."""
    out = []
    for i, v in enumerate(values):
        out.extend(engine.on_readings([reading(v, start + i * step, **kwargs)]))
    return out


def status(sensor: str = "motor-1-temp", **fields: Any) -> SensorStatus:
    base: dict[str, Any] = {"state": "ok", "samples": 0, "overflows": 0}
    base.update(fields)
    return SensorStatus(sensor, "motor-1", "temperature", "max31865", **base)
