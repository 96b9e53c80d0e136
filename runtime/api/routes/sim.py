"""Fault injection into the running simulated plant (404 on a real board), for demos,
training and hardware-in-the-loop tests.

The plant is read by the acquisition tasks on the device's loop, so every handler does its
work with the plant there (ctx.on_device), between two scheduler tasks, and needs no lock.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...readings import iso_utc
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, not_found
from ._both import route

router = APIRouter(tags=["simulation"])


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    machine: str = Field(
        description="machine id (machine faults), or sensor or machine id (sensor faults)",
        examples=["motor-1"],
    )
    kind: str = Field(description="see GET /sim/fault-kinds", examples=["bearing_outer"])
    severity: float = Field(ge=0, le=1, allow_inf_nan=False, examples=[0.6])
    ramp_s: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="seconds to reach full severity"
    )


def _plant(ctx: Any) -> Any:
    if ctx.plant is None:
        raise ApiError(404, "this device runs on real hardware: there is no simulated plant")
    return ctx.plant


def fault_view(fault: Any, plant: Any, ctx: Any) -> dict[str, Any]:
    now = plant.clock.now()
    offset = ctx.utc_now() - now  # plant clock -> UTC
    return {
        "id": fault.id,
        "machine": fault.target,
        "kind": fault.kind,
        "severity": fault.severity,
        "ramp_s": fault.ramp_s,
        "level": fault.level(now),
        "started_at": iso_utc(fault.at + offset),
        "cleared_at": None if fault.cleared_at is None else iso_utc(fault.cleared_at + offset),
        "active": fault.cleared_at is None,
    }


@route(router, "GET", "/sim/faults", summary="Injected faults")
async def list_faults(ctx: Ctx, _: Reader) -> list[dict[str, Any]]:
    """Faults acting on the simulated plant now (or scheduled), with their current level."""
    plant = _plant(ctx)
    return await ctx.on_device(lambda: [fault_view(f, plant, ctx) for f in plant.faults()])


@route(router, "GET", "/sim/fault-kinds", summary="Fault kinds the plant simulates")
async def fault_kinds(ctx: Ctx, _: Reader) -> list[dict[str, str]]:
    plant = _plant(ctx)
    return [{"kind": k, "description": d} for k, d in plant.fault_kinds().items()]


@route(router, "POST", "/sim/faults", summary="Inject a fault", status_code=201)
async def inject_fault(request: FaultRequest, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    plant = _plant(ctx)

    def inject() -> tuple[str, dict[str, Any]]:
        fault_id = plant.inject_fault(
            request.machine, request.kind, request.severity, ramp_s=request.ramp_s
        )
        fault = next(f for f in plant.faults() if f.id == fault_id)
        return fault_id, fault_view(fault, plant, ctx)

    try:
        fault_id, view = await ctx.on_device(inject)
    except (KeyError, ValueError) as exc:  # FaultError is a ValueError
        message = str(exc).strip("'\"")
        raise ApiError(422, message, [message]) from None
    ctx.log_event(
        "sim_fault_injected",
        f"{request.kind} ({request.severity:g}) on {request.machine} by key {principal.key_id}",
        data={"fault_id": fault_id, "key_id": principal.key_id, **request.model_dump()},
    )
    return view


@route(router, "DELETE", "/sim/faults/{fault_id}", summary="Clear a fault")
async def clear_fault(fault_id: str, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    plant = _plant(ctx)

    def clear() -> dict[str, Any]:
        plant.clear_fault(fault_id)
        fault = next(f for f in plant.timeline.all() if f.id == fault_id)
        return fault_view(fault, plant, ctx)

    try:
        view = await ctx.on_device(clear)
    except (KeyError, ValueError):
        raise not_found("fault", fault_id) from None
    ctx.log_event(
        "sim_fault_cleared",
        f"fault {fault_id} cleared by key {principal.key_id}",
        data={"fault_id": fault_id, "key_id": principal.key_id},
    )
    return view
