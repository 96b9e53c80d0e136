"""Fieldbus: the Modbus register map in the format a SCADA tool imports, the `[modbus]` and
`[profibus]` sections read and changed on their own (as the web UI's Fieldbus page does), and
what the front ends really run now."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response

from ...fieldbus.config import ModbusConfig
from ...fieldbus.exports import MEDIA_TYPES, export_map
from ...fieldbus.profibus.config import ProfibusConfig
from ...fieldbus.registermap import ModbusMapError, build_register_map
from .. import slashes
from ..deps import Ctx, Reader, Writer
from ..errors import ApiError, bad_request
from ._both import route
from .config import _service as config_service
from .config import body_spec

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


_REFUSED = {
    400: {"description": "The body is not a JSON object"},
    422: {"description": "The section is invalid or names what the plant lacks (every problem)"},
}
_APPLIED = (
    "Checked with the whole config (422 lists every problem by path, e.g. "
    "`modbus.registers[2].sensor: ...`, and nothing changes), written to the config file "
    "and applied to the running front end while acquisition runs on: `applied` is "
    "`fieldbus` and `fieldbus.<section>.action` says what was done: `updated` (bound into "
    "the running server), `started`, `restarted` (new listener), `stopped`, `off`, or "
    "`failed` with `error` (a port taken, a serial line that cannot be opened; the device "
    "runs on without it, and GET /fieldbus/status shows it). Command-line overrides of the "
    "section stop applying."
)


async def _section_body(request: Request, section: str) -> dict[str, Any]:
    try:
        body = json.loads(await request.body(), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request(f"send the [{section}] section as a JSON object")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


async def _put_section(request: Request, ctx: Any, key_id: str, section: str) -> dict[str, Any]:
    body = await _section_body(request, section)

    def change(data: dict[str, Any]) -> None:
        data[section] = body

    answer = await config_service(ctx).edit(change, key_id)
    answer[section] = answer.pop("config")[section]
    return answer


@slashes.get(router, "/fieldbus/modbus/config", summary="Modbus settings")
def get_modbus_config(ctx: Ctx, _: Reader) -> dict[str, Any]:
    """The config's `[modbus]` section (server, TCP, RTU, register map: `registers` is null
    for the documented default map). What runs now: GET /fieldbus/status."""
    return config_service(ctx).current.modbus.model_dump(mode="json")


@route(
    router,
    "PUT",
    "/fieldbus/modbus/config",
    summary="Change the Modbus settings",
    description="Replace the `[modbus]` section. " + _APPLIED,
    openapi_extra=body_spec(
        ModbusConfig,
        "The whole `[modbus]` section, as GET gives it",
        {"enabled": True, "unit_id": 1, "tcp": {"enabled": True, "port": 5020}},
    ),
    responses=_REFUSED,
)
async def put_modbus_config(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    return await _put_section(request, ctx, principal.key_id, "modbus")


@slashes.get(router, "/fieldbus/profibus/config", summary="PROFIBUS DP settings")
def get_profibus_config(ctx: Ctx, _: Reader) -> dict[str, Any]:
    """The config's `[profibus]` section (port, station address, baud, ident number,
    modules: null for one health module per machine). What runs now: GET /fieldbus/status."""
    return config_service(ctx).current.profibus.model_dump(mode="json")


@route(
    router,
    "PUT",
    "/fieldbus/profibus/config",
    summary="Change the PROFIBUS DP settings",
    description="Replace the `[profibus]` section. " + _APPLIED,
    openapi_extra=body_spec(
        ProfibusConfig,
        "The whole `[profibus]` section, as GET gives it",
        {"enabled": False, "address": 8, "baud": 19200, "ident_number": 3790},
    ),
    responses=_REFUSED,
)
async def put_profibus_config(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    return await _put_section(request, ctx, principal.key_id, "profibus")


@slashes.get(
    router,
    "/fieldbus/status",
    summary="Fieldbus front ends now",
    responses={503: {"description": "No fieldbus front ends run in this process"}},
)
async def fieldbus_status(ctx: Ctx, _: Reader) -> dict[str, Any]:
    """What the front ends really run, which may differ from the config: `modbus` (TCP host
    and the port actually bound, or `error` saying why not; RTU serial device and line; unit
    id, writes, map) and `profibus` (serial port, station address, baud, ident number, and
    the DP state `Wait_Prm` / `Wait_Cfg` / `Data_Exchange` with the master's address while
    running; `address_from` is `config`, `command_line` or `switch`, and with the board's
    address switch `address_switch` is its raw reading: `value` and each line's `levels`,
    bit 0 first, also when the reading was refused (126, 127)). `settings_from` is
    `command_line` while `esocore run` flags (`overrides`) still apply, `config` once the
    section was changed through the API or none were given."""
    if ctx.fieldbus is None:
        raise ApiError(503, "no fieldbus front ends run in this process")
    return await ctx.fieldbus.status()
