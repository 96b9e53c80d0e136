"""Machine health: one score and status per machine from its active alerts, its ISO 20816
zone and its sensors, shown by REST (`/devices/...`), the fieldbus status registers and the UI.

    score   100 with nothing to report; capped by the worst active alert (warning 70, alert
            40, critical 15), by the ISO zone of the worst accelerometer (B 85, C 60, D 30)
            and by a sensor that is faulted or silent (50); minus 3 per further active alert.
    status  ok | warning | alert | critical: the worst of the active alerts' severities (info
            counts as ok), the zone (C warning, D alert) and the sensors (stale warning,
            fault or offline alert).
"""

from __future__ import annotations

from typing import Any

from ..catalog import Catalog, MachineEntry
from ..live import LiveState
from ..readings import iso_utc
from .iso20816 import zone as iso_zone
from .store import AlertRow

STATUSES = ("ok", "warning", "alert", "critical")
SEVERITY_CAP = {"info": 95, "warning": 70, "alert": 40, "critical": 15}
SEVERITY_STATUS = {"info": "ok", "warning": "warning", "alert": "alert", "critical": "critical"}
ZONE_CAP = {"A": 100, "B": 85, "C": 60, "D": 30}
ZONE_STATUS = {"A": "ok", "B": "ok", "C": "warning", "D": "alert"}
SENSOR_CAP = {"stale": 50, "offline": 50, "fault": 50}
SENSOR_STATUS = {
    "ok": "ok",
    "starting": "ok",
    "stale": "warning",
    "offline": "alert",
    "fault": "alert",
}
EXTRA_ALERT_PENALTY = 3


def worst_status(statuses: list[str]) -> str:
    return max(statuses, key=STATUSES.index, default="ok")


def machine_health(
    machine: MachineEntry,
    catalog: Catalog,
    live: LiveState,
    active: list[AlertRow],
    mode: str = "running",
) -> dict[str, Any]:
    mine = [a for a in active if a.device_id == machine.id]
    zone = machine_zone(machine, catalog, live)
    sensors = {
        s.sensor_id: s.state for s in live.sensor_statuses() if s.sensor_id in machine.sensor_ids
    }
    caps = [100]
    statuses = ["ok"]
    if mine:
        worst = max(mine, key=lambda a: STATUSES.index(SEVERITY_STATUS[a.severity]))
        caps.append(SEVERITY_CAP[worst.severity] - EXTRA_ALERT_PENALTY * (len(mine) - 1))
        statuses += [SEVERITY_STATUS[a.severity] for a in mine]
    if zone is not None:
        caps.append(ZONE_CAP[zone])
        statuses.append(ZONE_STATUS[zone])
    for state in sensors.values():
        caps.append(SENSOR_CAP.get(state, 100))
        statuses.append(SENSOR_STATUS.get(state, "alert"))
    if not sensors:
        caps.append(0)
        statuses.append("alert")
    forecasts = [a.forecast_at for a in mine if a.forecast_at is not None]
    return {
        "score": max(0, min(caps)),
        "status": worst_status(statuses),
        "active_alerts": len(mine),
        "iso_zone": zone,
        "mode": mode,
        "forecast_threshold_at": iso_utc(min(forecasts)) if forecasts else None,
        "sensors": sensors,
    }


def machine_zone(machine: MachineEntry, catalog: Catalog, live: LiveState) -> str | None:
    """The worst ISO 20816 zone among the machine's accelerometers (overall velocity)."""
    zones = []
    for sensor_id in machine.sensor_ids:
        sensor = catalog.sensor(sensor_id)
        if sensor is None or "vibration_rms" not in sensor.metrics:
            continue
        reading = live.value(sensor_id, "vibration_rms")
        if reading is not None:
            zones.append(iso_zone(reading.value, machine.iso_group, machine.foundation))
    return max(zones) if zones else None
