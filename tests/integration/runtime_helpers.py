"""Running the device in virtual time from tests, and reading back what it stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from drivers.clock import VirtualClock
from runtime.fault_option import FaultSpec
from runtime.session import Session, open_session

START_UTC = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def open_sim(data_dir: Path, seed: int = 0, faults: list[FaultSpec] | None = None):
    clock = VirtualClock(0.0)
    session = open_session(
        None, "sim", str(data_dir), clock, lambda t: START_UTC + t, seed, faults or []
    )
    return session, clock


def advance(session: Session, clock: VirtualClock, until: float) -> None:
    session.device.scheduler.run_until(until, clock.set)


def simulate(
    data_dir: Path, seconds: float, seed: int = 0, faults: list[FaultSpec] | None = None
) -> Session:
    session, clock = open_sim(data_dir, seed, faults)
    try:
        advance(session, clock, seconds)
    finally:
        session.close()
    return session


def rows(data_dir: Path, sql: str, *params: object) -> list[tuple]:
    db = sqlite3.connect(f"file:{data_dir / 'esocore.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def series(
    data_dir: Path, sensor: str, metric: str, axis: str | None = None
) -> list[tuple[float, float]]:
    """(seconds since the start, value) of one stored series, in time order."""
    found = rows(
        data_dir,
        "SELECT ts_ms, value FROM reading_values JOIN series ON series.id = series_id "
        "WHERE sensor_id = ? AND metric = ? AND axis = ? ORDER BY ts_ms",
        sensor,
        metric,
        "" if axis is None else axis,  # the store keeps the overall value under axis ''
    )
    return [(ts / 1000.0 - START_UTC, value) for ts, value in found]
