"""Machine and device health as the API shows it (computed by runtime.alerts.health from
active alerts, the ISO 20816 zone and the sensors)."""

from __future__ import annotations

from typing import Any

from ..alerts.health import machine_health as health_of
from ..catalog import MachineEntry

STATUS_ORDER = ("ok", "warning", "alert", "critical")


def machine_health(ctx: Any, machine: MachineEntry) -> dict[str, Any]:
    alerts = ctx.alerts
    active = alerts.active_rows() if alerts is not None else []
    mode = alerts.machine_mode(machine.id) if alerts is not None else "running"
    return health_of(machine, ctx.catalog, ctx.live, active, mode)


def device_health(ctx: Any, system: dict[str, Any]) -> dict[str, Any]:
    machines = {m.id: machine_health(ctx, m) for m in ctx.catalog.machines}
    worst = max((h["status"] for h in machines.values()), key=STATUS_ORDER.index, default="ok")
    runtime = ctx.health()
    sensors = [
        {
            "sensor_id": s.sensor_id,
            "device_id": s.device_id,
            "status": s.state,
            "last_error": s.last_error,
            "overflows": s.overflows,
            "faults": s.faults,
        }
        for s in ctx.live.sensor_statuses()
    ]
    return {
        "status": worst,
        "machines": {
            k: {kk: v[kk] for kk in ("score", "status", "active_alerts", "iso_zone", "mode")}
            for k, v in machines.items()
        },
        "sensors": sensors,
        "scheduler": {
            "deadline_misses": runtime["deadline_misses"],
            "fifo_overflows": runtime["overflows"],
        },
        "dsp_backend": "c-kernel",
        "system": system,
    }
