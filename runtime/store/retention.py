"""Retention: by age per table, then by database size, in small transactions.

A retention run is a generator that commits a bounded chunk of deletes per step and then
yields, so the writer thread can commit the readings that arrived meanwhile between two steps:
a large clean-up never holds the write lock for long. All ages are relative to the ``now``
passed in (virtual time in the simulator), never to the wall clock.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

DAY_MS = 86_400_000
_WIDTH_MS = {"rollup_1m": 60_000, "rollup_1h": 3_600_000}
#: Size retention stops once the pages in use fall below this share of the limit, so that it
#: does not run again on the next few inserts.
SIZE_TARGET = 0.95
#: Free pages above this share of the file are returned to the filesystem after a run.
SHRINK_ABOVE = 0.10
#: A spectrum is kilobytes (one float32 per bin), a reading a few bytes: spectra are deleted
#: in chunks this many times smaller, to keep each transaction short.
SPECTRA_CHUNK_DIVISOR = 50


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of data is kept (None = forever) and the database size limit.

    Field names match the ``[store.retention]`` section of the device config, so
    ``RetentionPolicy(**config.store.retention.model_dump())`` works.
    """

    raw_days: float | None = 30
    rollup_1m_days: float | None = 365
    rollup_1h_days: float | None = 3650
    spectra_days: float | None = 90
    events_days: float | None = 365
    max_size_mb: float | None = 4096

    def __post_init__(self) -> None:
        for name in ("raw_days", "rollup_1m_days", "rollup_1h_days", "spectra_days"):
            _check_positive(name, getattr(self, name))
        _check_positive("events_days", self.events_days)
        _check_positive("max_size_mb", self.max_size_mb)

        def forever(days: float | None) -> float:
            return math.inf if days is None else days

        if not (
            forever(self.raw_days) <= forever(self.rollup_1m_days) <= forever(self.rollup_1h_days)
        ):
            raise ValueError("retention: keep raw_days <= rollup_1m_days <= rollup_1h_days")


def _check_positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"retention: {name} must be > 0 or None (keep forever), got {value!r}")


@dataclass
class RetentionReport:
    """What one run removed. ``complete`` is False if the store closed before it finished."""

    now: float
    deleted: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("reading_values", "rollup_1m", "rollup_1h", "spectra", "event_log"), 0
        )
    )
    used_bytes_before: int = 0
    used_bytes_after: int = 0
    size_limited: bool = False  # the size limit was exceeded and data was removed for it
    over_limit: bool = False  # still over the limit with only 1h rollups and events left
    complete: bool = False


def used_bytes(conn: sqlite3.Connection) -> int:
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return page_size * (pages - free)


def raw_floor(conn: sqlite3.Connection) -> int | None:
    return conn.execute("SELECT value FROM store_meta WHERE key = 'raw_floor_ms'").fetchone()[0]


def raise_raw_floor(conn: sqlite3.Connection, floor_ms: int) -> None:
    """Raw readings older than the floor are refused from now on: their time is already
    counted in rollups and retention removed its raw data, so accepting them would count twice."""
    conn.execute(
        "UPDATE store_meta SET value = max(coalesce(value, ?), ?) WHERE key = 'raw_floor_ms'",
        (floor_ms, floor_ms),
    )


def run(
    conn: sqlite3.Connection,
    policy: RetentionPolicy,
    now: float,
    report: RetentionReport,
    chunk: int,
) -> Iterator[None]:
    """The retention steps; each ``next()`` commits at most ``chunk`` deleted rows."""
    now_ms = round(now * 1000)
    report.used_bytes_before = used_bytes(conn)
    if policy.raw_days is not None:
        cutoff = now_ms - round(policy.raw_days * DAY_MS)
        yield from _delete_series_before(conn, "reading_values", cutoff, report, chunk)
    for table, days in (("rollup_1m", policy.rollup_1m_days), ("rollup_1h", policy.rollup_1h_days)):
        if days is not None:
            # A bucket goes only once all of it is older than the cutoff.
            cutoff = now_ms - round(days * DAY_MS) - _WIDTH_MS[table] + 1
            yield from _delete_series_before(conn, table, cutoff, report, chunk)
    for table, days in (("spectra", policy.spectra_days), ("event_log", policy.events_days)):
        if days is not None:
            cutoff = now_ms - round(days * DAY_MS)
            yield from _delete_rows_before(conn, table, cutoff, report, chunk)
    if policy.max_size_mb is not None:
        yield from _enforce_size(conn, round(policy.max_size_mb * 1024 * 1024), report, chunk)
    yield from _shrink(conn)
    report.used_bytes_after = used_bytes(conn)
    report.complete = True


def _bump(conn: sqlite3.Connection, table: str, delta: int) -> None:
    if delta:
        conn.execute(
            "UPDATE store_meta SET value = value + ? WHERE key = ?", (delta, f"rows.{table}")
        )


def _delete_series_before(
    conn: sqlite3.Connection, table: str, cutoff_ms: int, report: RetentionReport, chunk: int
) -> Iterator[None]:
    """Delete rows older than the cutoff from a (series_id, ts_ms) table, series by series."""
    series_ids = [row[0] for row in conn.execute("SELECT id FROM series ORDER BY id")]
    budget, deleted = chunk, 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        if table == "reading_values":
            raise_raw_floor(conn, cutoff_ms)
        for sid in series_ids:
            while True:
                # The ts of the budget-th oldest row bounds this delete to `budget` rows.
                row = conn.execute(
                    f"SELECT ts_ms FROM {table} WHERE series_id = ? AND ts_ms < ? "
                    "ORDER BY ts_ms LIMIT 1 OFFSET ?",
                    (sid, cutoff_ms, budget - 1),
                ).fetchone()
                upto = cutoff_ms if row is None else row[0] + 1
                n = conn.execute(
                    f"DELETE FROM {table} WHERE series_id = ? AND ts_ms < ?", (sid, upto)
                ).rowcount
                budget -= n
                deleted += n
                if budget <= 0:
                    _bump(conn, table, -deleted)
                    conn.execute("COMMIT")
                    report.deleted[table] += deleted
                    budget, deleted = chunk, 0
                    yield
                    conn.execute("BEGIN IMMEDIATE")
                if row is None:
                    break
        _bump(conn, table, -deleted)
        conn.execute("COMMIT")
        report.deleted[table] += deleted
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _delete_rows_before(
    conn: sqlite3.Connection, table: str, cutoff_ms: int, report: RetentionReport, chunk: int
) -> Iterator[None]:
    """Delete the oldest rows of a rowid table (spectra, event_log) older than the cutoff."""
    if table == "spectra":
        chunk = max(1, chunk // SPECTRA_CHUNK_DIVISOR)
    while True:
        n = _delete_oldest(conn, table, cutoff_ms, chunk)
        report.deleted[table] += n
        if n < chunk:
            return
        yield


def _delete_oldest(conn: sqlite3.Connection, table: str, cutoff_ms: int | None, n: int) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        deleted = conn.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
            "WHERE ts_ms < ? ORDER BY ts_ms LIMIT ?)",
            (cutoff_ms if cutoff_ms is not None else 2**62, n),
        ).rowcount
        _bump(conn, table, -deleted)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return deleted


def series_span(conn: sqlite3.Connection, table: str) -> tuple[int, int] | None:
    """Oldest and newest ts_ms in a (series_id, ts_ms) table: two index seeks per series."""
    row = conn.execute(
        f"SELECT min(first), max(last) FROM (SELECT "
        f"(SELECT ts_ms FROM {table} WHERE series_id = s.id ORDER BY ts_ms LIMIT 1) AS first, "
        f"(SELECT ts_ms FROM {table} WHERE series_id = s.id ORDER BY ts_ms DESC LIMIT 1) AS last "
        "FROM series AS s)"
    ).fetchone()
    return None if row[0] is None else (row[0], row[1])


def _enforce_size(
    conn: sqlite3.Connection, limit: int, report: RetentionReport, chunk: int
) -> Iterator[None]:
    """Over the limit: oldest raw readings first, then spectra, then 1-minute rollups."""
    if used_bytes(conn) <= limit:
        return
    report.size_limited = True
    target = int(limit * SIZE_TARGET)

    # Raw readings in time slices of 1/50 of their span, oldest first across all series.
    span = series_span(conn, "reading_values")
    if span is not None:
        step = max(60_000, (span[1] - span[0]) // 50 + 1)
        while used_bytes(conn) > target and span is not None:
            yield from _delete_series_before(conn, "reading_values", span[0] + step, report, chunk)
            span = series_span(conn, "reading_values")

    while used_bytes(conn) > target:
        n = _delete_oldest(conn, "spectra", None, max(1, chunk // SPECTRA_CHUNK_DIVISOR))
        report.deleted["spectra"] += n
        if n == 0:
            break
        yield

    # 1-minute rollups, but never a bucket that raw readings may still be added to.
    floor = raw_floor(conn)
    span = series_span(conn, "rollup_1m")
    if span is not None and floor is not None:
        limit_ms = floor - floor % 60_000
        step = max(60_000, (span[1] - span[0]) // 50 + 1)
        cut = span[0]
        while used_bytes(conn) > target and cut < limit_ms:
            cut = min(cut + step, limit_ms)
            yield from _delete_series_before(conn, "rollup_1m", cut, report, chunk)
    report.over_limit = used_bytes(conn) > limit


def _shrink(conn: sqlite3.Connection, pages_per_step: int = 2048) -> Iterator[None]:
    """Give free pages back to the filesystem when many are free (auto_vacuum=INCREMENTAL)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    if free <= max(256, SHRINK_ABOVE * pages):
        return
    while free > 0:
        conn.execute(f"PRAGMA incremental_vacuum({pages_per_step})").fetchall()
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        yield
