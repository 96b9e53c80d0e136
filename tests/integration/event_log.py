"""Reading a running device's event log the way an analyst would: the documented `events`
view of DATA_DIR/esocore.db, opened read-only beside the device."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def events(data_dir: Path) -> list[dict[str, Any]]:
    uri = f"file:{data_dir / 'esocore.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as conn:
        rows = conn.execute(
            "SELECT timestamp, kind, device_id, sensor_id, message, data FROM events"
        ).fetchall()
    return [
        {
            "timestamp": ts,
            "kind": kind,
            "device_id": device_id,
            "sensor_id": sensor_id,
            "message": message,
            "data": json.loads(data) if data else None,
            "raw": f"{message} {data}",
        }
        for ts, kind, device_id, sensor_id, message, data in rows
    ]


def wait_for_events(
    data_dir: Path, match: Callable[[dict[str, Any]], bool], count: int = 1, timeout: float = 15
) -> list[dict[str, Any]]:
    """Events matching `match` once there are at least `count` (the store commits in
    batches, about once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in events(data_dir) if match(e)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def secret_of(key: str) -> str:
    """The secret part of `esk_<id>_<secret>`."""
    return key.split("_", 2)[2]


def key_id_of(key: str) -> str:
    return key.split("_", 2)[1]
