"""Shared helpers for the store tests: deterministic readings and direct SQL access."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runtime.readings import Reading
from runtime.store import DB_FILENAME

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def reading(
    i: int,
    *,
    sensor: str = "s1",
    axis: str | None = None,
    value: float | None = None,
    ts: float | None = None,
    metric: str = "vibration_rms",
) -> Reading:
    return Reading(
        device_id="motor-1",
        sensor_id=sensor,
        metric=metric,
        axis=axis,
        value=float(i) if value is None else value,
        unit="mm/s",
        ts=T0 + i if ts is None else ts,
    )


def sql(data_dir: Path, query: str, params: tuple = ()) -> list[tuple]:
    """Run a query on the database read-only, as an analyst would."""
    uri = f"file:{Path(data_dir) / DB_FILENAME}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def key(row) -> tuple:
    """Identity of a history row: its series and time."""
    return (row.ts, row.device_id, row.sensor_id, row.metric, row.axis, row.unit)
