"""The monitored machines ("devices" in the integration guide) and their health.

`/device/...` is the board itself; `/devices/...` are the machines it watches.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ...catalog import MachineEntry
from .. import slashes
from ..context import ApiContext
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, not_found
from ..health import machine_health
from ._both import route

router = APIRouter(tags=["devices"])

HealthStatus = Literal["ok", "warning", "alert", "critical"]


HEALTH_FIELDS = ("score", "status", "active_alerts", "iso_zone", "mode", "forecast_threshold_at")
Mode = Literal["running", "stopped", "maintenance"]


class Health(BaseModel):
    score: int  # 0-100
    status: HealthStatus
    active_alerts: int
    iso_zone: Literal["A", "B", "C", "D"] | None  # worst accelerometer's ISO 20816 zone
    mode: Mode  # stopped or maintenance: no new alerts are raised
    forecast_threshold_at: str | None  # when a rising value is expected to cross its next level


class MachineHealth(Health):
    sensors: dict[str, str]  # sensor id -> sensor status


class ModeChange(BaseModel):
    mode: Mode


class Machine(BaseModel):
    id: str
    name: str
    equipment_id: str  # the CMMS / MES asset number
    location: str
    device_type: str
    running_speed_rpm: float | None
    bearing: str | None
    iso_group: int
    foundation: str
    sensor_ids: list[str]
    health: Health


def machine_view(ctx: ApiContext, machine: MachineEntry) -> dict[str, Any]:
    health = machine_health(ctx, machine)
    return {
        "id": machine.id,
        "name": machine.name,
        "equipment_id": machine.equipment_id,
        "location": machine.location,
        "device_type": machine.device_type,
        "running_speed_rpm": machine.running_speed_rpm,
        "bearing": machine.bearing,
        "iso_group": machine.iso_group,
        "foundation": machine.foundation,
        "sensor_ids": list(machine.sensor_ids),
        "health": {k: health[k] for k in HEALTH_FIELDS},
    }


def find_machine(ctx: ApiContext, machine_id: str) -> MachineEntry:
    machine = ctx.catalog.machine(machine_id)
    if machine is None:
        raise not_found("device", machine_id)
    return machine


@slashes.get(
    router,
    "/devices/",
    summary="List the monitored machines",
    description="`equipment_id` finds a machine by its CMMS/MES asset number (an empty list "
    "when none has it).",
    response_model=list[Machine],
)
def list_machines(
    ctx: Ctx,
    _: Reader,
    equipment_id: Annotated[str | None, Query(description="the asset number")] = None,
) -> list[dict[str, Any]]:
    return [
        machine_view(ctx, m)
        for m in ctx.catalog.machines
        if equipment_id is None or m.equipment_id == equipment_id
    ]


@slashes.get(
    router, "/devices/{device_id}/", summary="One monitored machine", response_model=Machine
)
def get_machine(device_id: str, ctx: Ctx, _: Reader) -> dict[str, Any]:
    return machine_view(ctx, find_machine(ctx, device_id))


@slashes.get(
    router,
    "/devices/{device_id}/health",
    summary="A machine's health",
    description="`score` 0-100, `status` ok | warning | alert | critical, `active_alerts`, "
    "the ISO 20816 zone, the machine's mode, the soonest forecast crossing and each sensor's "
    "status.",
    response_model=MachineHealth,
)
def get_machine_health(device_id: str, ctx: Ctx, _: Reader) -> dict[str, Any]:
    return machine_health(ctx, find_machine(ctx, device_id))


@route(
    router,
    "PUT",
    "/devices/{device_id}/mode",
    summary="Mark a machine running, stopped or in maintenance",
    response_model=MachineHealth,
)
def set_mode(device_id: str, change: ModeChange, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """While a machine is stopped or in maintenance no new alert is raised or escalated for
    it (alerts already raised clear as usual); `running` resumes. Kept across restarts."""
    machine = find_machine(ctx, device_id)
    if ctx.alerts is None:
        raise ApiError(503, "alerts are not available in this process")
    ctx.alerts.set_machine_mode(machine.id, change.mode, f"key:{principal.key_id}")
    return machine_health(ctx, machine)
