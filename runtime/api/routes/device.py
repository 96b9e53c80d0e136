"""The board itself: /device/info, /device/health and /device/certificate."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from ...readings import iso_utc
from ..deps import Ctx, Reader
from ..errors import ApiError
from ..health import device_health
from ..tls import certificate_details

router = APIRouter(tags=["device"])


@router.get("/device/info", summary="Device details")
def device_info(ctx: Ctx, _: Reader) -> dict[str, Any]:
    info = ctx.info
    now = ctx.utc_now()
    config = getattr(ctx.config, "current", None)
    return {
        "serial": info.serial,
        "model": info.model,
        # The config's name and zone (both change live): what people call the device.
        "name": config.device.name if config is not None else info.hostname,
        "timezone": config.device.timezone if config is not None else "UTC",
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


class CertificateDetails(BaseModel):
    subject: str
    issuer: str
    self_signed: bool
    serial_number: str  # hexadecimal
    dns_names: list[str]
    ip_addresses: list[str]
    not_before: str
    not_after: str
    sha256_fingerprint: str  # colon-separated hex, as browsers show it
    pem: str  # the file, as `esocore cert export` prints it


PEM_TYPE = "application/x-pem-file"


@router.get(
    "/device/certificate",
    summary="The HTTPS certificate the device serves",
    description="The certificate file (PEM) the device's HTTPS listener serves, the same "
    "text `esocore cert export` prints: clients trust it (`REQUESTS_CA_BUNDLE`, "
    "`NODE_EXTRA_CA_CERTS`, `curl --cacert`). Sent as a download "
    "(`Content-Disposition: attachment`). `format=json` answers its details instead: "
    "subject, issuer, names, validity and SHA-256 fingerprint (compare it with what the "
    "browser shows), plus the PEM text. 404 when the device serves plain HTTP.",
    response_model=CertificateDetails,
    responses={200: {"content": {PEM_TYPE: {"schema": {"type": "string"}}}}},
)
def device_certificate(
    ctx: Ctx, _: Reader, format: Literal["pem", "json"] = "pem"
) -> Response | dict[str, Any]:
    pem = _served_certificate(ctx)
    if format == "json":
        return {**certificate_details(pem), "pem": pem.decode()}
    name = f"esocore-{ctx.info.hostname or ctx.info.serial}-cert.pem"
    return Response(
        pem, media_type=PEM_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _served_certificate(ctx: Any) -> bytes:
    """The served certificate file, or a 404/503 saying why there is none to show."""
    if ctx.tls_cert_file is None:
        raise ApiError(404, "the device serves plain HTTP (http.tls = false): no certificate")
    path = Path(ctx.tls_cert_file)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ApiError(503, f"{path}: cannot read the certificate ({exc.strerror})") from None
