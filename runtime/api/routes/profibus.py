"""The PROFIBUS DP slave's GSD file, as the running config describes it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ...fieldbus.profibus.config import ProfibusConfig
from ...fieldbus.profibus.gsd import gsd_name, gsd_text
from ...fieldbus.profibus.slave import ProfibusModuleError, build_modules
from .. import slashes
from ..deps import Ctx, Reader
from ..errors import ApiError

router = APIRouter(tags=["fieldbus"])


@slashes.get(
    router,
    "/fieldbus/profibus/gsd",
    summary="PROFIBUS DP GSD file",
    description="The GSD file of the device's DP slave, built from the running config: one "
    "module per configured machine (or the `[profibus]` module list), the ident number, "
    "supported baud rates with their max TSDR, user parameters. Import it into the "
    "engineering tool (STEP 7 / TIA Portal, Codesys, TwinCAT). The same file comes from "
    "`esocore gsd`.",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def profibus_gsd(ctx: Ctx, _: Reader) -> Response:
    config = ctx.config.current.profibus if ctx.config is not None else ProfibusConfig()
    try:
        modules = build_modules(config, ctx.catalog)
    except ProfibusModuleError as exc:
        message = "the configured PROFIBUS modules do not fit the plant"
        raise ApiError(409, message, exc.problems) from None
    return Response(
        gsd_text(config, modules).encode("ascii"),
        media_type="text/plain; charset=us-ascii",
        headers={"Content-Disposition": f'attachment; filename="{gsd_name(config)}"'},
    )
