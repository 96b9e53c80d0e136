"""Fieldbus maps for SCADA import: the Modbus register map in the format a tool imports."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from ...fieldbus.config import ModbusConfig
from ...fieldbus.exports import MEDIA_TYPES, export_map
from ...fieldbus.registermap import ModbusMapError, build_register_map
from .. import slashes
from ..deps import Ctx, Reader
from ..errors import ApiError

router = APIRouter(tags=["fieldbus"])

MapFormat = Literal["json", "csv", "xml", "ignition", "markdown"]
FILE_NAMES = {"csv": "csv", "xml": "xml", "ignition": "json", "markdown": "md"}


@slashes.get(
    router,
    "/fieldbus/modbus/map",
    summary="Modbus register map",
    description="The register map the device's Modbus server serves, built from the running "
    "config: `json` (default; every detail), `csv` (register, parameter, type, registers, "
    "unit, access: for Rockwell-style import), `xml` (a tag list for WinCC-style import), "
    "`ignition` (Ignition tag JSON for its Modbus TCP driver) or `markdown` (the table of "
    "docs/modbus.md). Register numbers are 1-based (40001 is PDU address 0). The same "
    "files come from `esocore modbus-map --format ...`.",
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
                "text/markdown": {"schema": {"type": "string"}},
            }
        }
    },
)
def modbus_map(
    ctx: Ctx,
    _: Reader,
    format: MapFormat = "json",
    device_name: str = Query(
        "EsoCore_Edge", max_length=64, description="device name in XML and Ignition"
    ),
) -> Response:
    config = ctx.config.current.modbus if ctx.config is not None else ModbusConfig()
    try:
        regmap = build_register_map(config, ctx.catalog)
    except ModbusMapError as exc:
        message = "the configured register map does not fit the plant"
        raise ApiError(409, message, exc.problems) from None
    headers = {}
    if format in FILE_NAMES:
        headers["Content-Disposition"] = f'attachment; filename="modbus-map.{FILE_NAMES[format]}"'
    return Response(
        export_map(regmap, config, format, device_name),
        media_type=MEDIA_TYPES[format],
        headers=headers,
    )
