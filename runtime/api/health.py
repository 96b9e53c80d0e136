"""Machine and device health as the API shows it.

Until alert rules exist, a machine's health comes from its sensors alone: every sensor
reporting is `ok` (score 100); a stale sensor lowers the score and makes it `warning`; a
faulted sensor makes it `alert`. The alerts issue replaces this with alert- and
ISO-zone-based health and keeps the same shape.
"""

from __future__ import annotations

from typing import Any

from ..catalog import MachineEntry

STATE_SCORE = {"ok": 100, "starting": 100, "stale": 60, "offline": 40, "fault": 30}
STATE_STATUS = {
    "ok": "ok",
    "starting": "ok",
    "stale": "warning",
    "offline": "alert",
    "fault": "alert",
}
STATUS_ORDER = ("ok", "warning", "alert", "critical")


def machine_health(ctx: Any, machine: MachineEntry) -> dict[str, Any]:
    states = [
        status.state
        for status in ctx.live.sensor_statuses()
        if status.sensor_id in machine.sensor_ids
    ]
    if not states:
        return {"score": 0, "status": "alert", "active_alerts": 0, "sensors": {}}
    score = min(STATE_SCORE.get(s, 0) for s in states)
    status = max((STATE_STATUS.get(s, "alert") for s in states), key=STATUS_ORDER.index)
    return {
        "score": score,
        "status": status,
        "active_alerts": 0,
        "sensors": {
            s.sensor_id: s.state
            for s in ctx.live.sensor_statuses()
            if s.sensor_id in machine.sensor_ids
        },
    }


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
            k: {kk: v[kk] for kk in ("score", "status", "active_alerts")}
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
