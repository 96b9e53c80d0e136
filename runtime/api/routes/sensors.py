"""The sensors: what each measures, where it is mounted, and how it is doing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ...catalog import SensorEntry
from ...readings import iso_utc
from .. import slashes
from ..context import ApiContext
from ..deps import Ctx, Reader
from ..errors import not_found
from ..selection import id_list

router = APIRouter(tags=["sensors"])


class MetricInfo(BaseModel):
    metric: str
    unit: str


class Sensor(BaseModel):
    id: str
    name: str
    type: str  # accel | temperature | current | voltage
    chip: str
    device_id: str  # the machine it is mounted on
    device_name: str | None
    sample_rate_hz: float
    update_interval_s: float
    axes: list[str]
    metrics: list[MetricInfo]
    status: str  # starting | ok | stale | fault | offline
    last_error: str | None
    last_reading_time: str | None


def sensor_view(ctx: ApiContext, sensor: SensorEntry) -> dict[str, Any]:
    status = ctx.live.sensor_status(sensor.id)
    machine = ctx.catalog.machine(sensor.device_id)
    latest = ctx.live.latest(sensor_id=sensor.id, axis="all")
    return {
        "id": sensor.id,
        "name": sensor.name,
        "type": sensor.kind,
        "chip": sensor.chip,
        "device_id": sensor.device_id,
        "device_name": machine.name if machine else None,
        "sample_rate_hz": sensor.sample_rate_hz,
        "update_interval_s": sensor.update_interval_s,
        "axes": list(sensor.axes),
        "metrics": [{"metric": m, "unit": u} for m, u in sensor.metrics.items()],
        "status": status.state if status else "offline",
        "last_error": status.last_error if status else None,
        "last_reading_time": iso_utc(max(r.ts for r in latest)) if latest else None,
    }


def find_sensor(ctx: ApiContext, sensor_id: str) -> SensorEntry:
    sensor = ctx.catalog.sensor(sensor_id)
    if sensor is None:
        raise not_found("sensor", sensor_id)
    return sensor


@slashes.get(router, "/sensors/", summary="List all sensors", response_model=list[Sensor])
def list_sensors(
    ctx: Ctx,
    _: Reader,
    device_id: Annotated[
        list[str] | None, Query(description="only the sensors on these machines")
    ] = None,
    type: Annotated[
        list[str] | None, Query(description="only these kinds: accel, temperature, current")
    ] = None,
) -> list[dict[str, Any]]:
    machines = id_list(device_id)
    kinds = id_list(type)
    if machines:
        unknown = [m for m in machines if ctx.catalog.machine(m) is None]
        if unknown:
            raise not_found("machine", unknown[0])
    return [
        sensor_view(ctx, s)
        for s in ctx.catalog.sensors
        if (machines is None or s.device_id in machines) and (kinds is None or s.kind in kinds)
    ]


@slashes.get(
    router, "/sensors/{sensor_id}/", summary="Specific sensor details", response_model=Sensor
)
def get_sensor(sensor_id: str, ctx: Ctx, _: Reader) -> dict[str, Any]:
    return sensor_view(ctx, find_sensor(ctx, sensor_id))
