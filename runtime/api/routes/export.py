"""Database access for BI tools: a consistent snapshot of the device's SQLite database."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ...store import StoreError
from .. import slashes
from ..deps import Ctx, Reader
from ..errors import ApiError
from ..timeparse import compact

router = APIRouter(tags=["export"])

BLOCK = 1 << 20
_one_at_a_time = threading.Lock()


@slashes.get(
    router,
    "/export/database",
    summary="Download a consistent snapshot of the database",
    description="The whole device database (SQLite) as one self-contained file, taken with "
    "SQLite's backup API while the device keeps writing; open it with any SQLite tool and "
    "read the documented views (`readings`, `rollups_1m`, `rollups_1h`, `events`). It holds "
    "measurements and the event log only (never API keys), so a read-only key suffices. One "
    "snapshot at a time (503 with Retry-After while another is taken); 507 when the data "
    "directory has no room for the copy.",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/vnd.sqlite3": {}}}},
)
def export_database(ctx: Ctx, _: Reader) -> StreamingResponse:
    if not _one_at_a_time.acquire(blocking=False):
        raise ApiError(
            503,
            "a database snapshot is being taken; try again shortly",
            headers={"Retry-After": "5"},
        )
    try:
        handle, size = _snapshot(ctx.store, Path(ctx.data_dir))
    finally:
        _one_at_a_time.release()
    name = f"esocore_{ctx.info.serial}_{compact(ctx.utc_now())}.db"
    return StreamingResponse(
        _blocks(handle),
        media_type="application/vnd.sqlite3",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
        },
    )


def _snapshot(store: object, data_dir: Path) -> tuple[BinaryIO, int]:
    """Snapshot into the data directory (same file system, so no RAM-backed /tmp fills up),
    opened and unlinked at once: the file goes away when the download ends, however it ends."""
    needed = store.file_bytes()  # type: ignore[attr-defined]
    free = shutil.disk_usage(data_dir).free
    if free < needed * 1.1 + (16 << 20):
        raise ApiError(
            507,
            f"not enough free space in the data directory for a snapshot ({needed} bytes "
            f"needed, {free} free)",
            code="insufficient_storage",
        )
    path = data_dir / f".snapshot-{uuid.uuid4().hex}.db"
    try:
        store.snapshot(path)  # type: ignore[attr-defined]
        handle = open(path, "rb")  # noqa: SIM115 - closed by _blocks
    except StoreError as exc:
        raise ApiError(503, f"snapshot failed: {exc}") from None
    finally:
        path.unlink(missing_ok=True)
    return handle, os.fstat(handle.fileno()).st_size


def _blocks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while block := handle.read(BLOCK):
            yield block
