"""The board itself: /device/info and /device/health."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from fastapi import APIRouter

from ...readings import iso_utc
from ..deps import Ctx, Reader
from ..health import device_health

router = APIRouter(tags=["device"])


@router.get("/device/info", summary="Device details")
def device_info(ctx: Ctx, _: Reader) -> dict[str, Any]:
    info = ctx.info
    now = ctx.utc_now()
    return {
        "serial": info.serial,
        "model": info.model,
        "firmware_version": info.firmware_version,
        "hostname": info.hostname,
        "board": info.board,
        "simulated": info.simulated,
        "machines": len(ctx.catalog.machines),
        "sensors": len(ctx.catalog.sensors),
        "started_at": iso_utc(info.started_at),
        "uptime_s": round(now - info.started_at, 3),
        "time": iso_utc(now),
    }


@router.get("/device/health", summary="System health status")
def health(ctx: Ctx, _: Reader) -> dict[str, Any]:
    return device_health(ctx, _system_figures(ctx))


def _system_figures(ctx: Any) -> dict[str, Any]:
    load1, _, _ = os.getloadavg()
    cpus = os.cpu_count() or 1
    memory = _meminfo()
    disk = shutil.disk_usage(ctx.data_dir)
    return {
        "cpu_load_percent": round(100.0 * load1 / cpus, 1),
        "process_cpu_s": round(time.process_time(), 3),
        "memory_total_bytes": memory.get("MemTotal"),
        "memory_available_bytes": memory.get("MemAvailable"),
        "disk_total_bytes": disk.total,
        "disk_free_bytes": disk.free,
        "store_bytes": ctx.store.file_bytes(),
    }


def _meminfo() -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    values[name] = int(parts[0]) * 1024
    except OSError:
        pass
    return values
