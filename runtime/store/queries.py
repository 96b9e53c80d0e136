"""The read side: a pool of read-only connections and every query the front ends need.

History pages are keyset-paged on (ts, series id), never OFFSET: each page starts strictly
after the last row of the previous one, so walking a long history gives no gaps and no
repeats while the writer keeps inserting, and page 1000 costs what page 1 costs. Rows of
several series come out merged in time order by SQLite itself: one indexed range scan per
series, combined by a compound SELECT that SQLite evaluates as a streaming merge
("MERGE (UNION ALL)" in EXPLAIN QUERY PLAN), so a page reads about ``limit`` rows however
much history is stored.
"""

from __future__ import annotations

import contextlib
import heapq
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from . import codec
from .records import (
    ALL_AXES,
    ColumnChunk,
    Event,
    HistoryRow,
    Page,
    Resolution,
    SeriesInfo,
    StoredSpectrum,
    _AllAxes,
)
from .schema import connect_reader, describe

_FOREVER = 2**62
_TABLES = {"raw": "reading_values", "1m": "rollup_1m", "1h": "rollup_1h"}
_COLUMNS = {
    "raw": "ts_ms, series_id, value",
    "1m": "ts_ms, series_id, sum / count, min, max, count",
    "1h": "ts_ms, series_id, sum / count, min, max, count",
}
_SPECTRUM_COLUMNS = "sensor_id, axis, kind, ts_ms, bin_width_hz, data"
_EVENT_COLUMNS = "id, ts_ms, kind, device_id, sensor_id, message, data"
_new_row = tuple.__new__

Axes = Collection[str | None] | _AllAxes


class Reader:
    """Read-only connections for any thread: borrowed per query, returned to a small pool."""

    def __init__(self, path: Path, pool_size: int = 4) -> None:
        self.path = path
        self._pool_size = pool_size
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._group = 400  # series per compound SELECT, lowered to SQLite's limits on connect
        # series id -> (device_id, sensor_id, metric, axis or None, unit); ids never change.
        self._series: dict[int, tuple[str, str, str, str | None, str]] = {}

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = connect_reader(self.path)
            self._group = _merge_group_size(conn)
        try:
            yield conn
        except sqlite3.Error as exc:
            raise describe(self.path, exc) from exc
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with self._lock:
                keep = not self._closed and len(self._idle) < self._pool_size
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- series ----------------------------------------------------------------------------

    def series_meta(
        self, conn: sqlite3.Connection, ids: Collection[int]
    ) -> dict[int, tuple[str, str, str, str | None, str]]:
        if any(sid not in self._series for sid in ids):
            fresh = {
                sid: (device, sensor, metric, axis or None, unit)
                for sid, device, sensor, metric, axis, unit in conn.execute(
                    "SELECT id, device_id, sensor_id, metric, axis, unit FROM series"
                )
            }
            self._series = fresh  # replaced whole: readers on other threads see old or new
        return self._series

    def select_series(
        self,
        conn: sqlite3.Connection,
        device_ids: Collection[str] | None,
        sensor_ids: Collection[str] | None,
        metrics: Collection[str] | None,
        axes: Axes,
    ) -> list[int]:
        where, params = series_filter(device_ids, sensor_ids, metrics, axes)
        return [
            row[0] for row in conn.execute(f"SELECT id FROM series {where} ORDER BY id", params)
        ]

    # -- history ---------------------------------------------------------------------------

    def history_page(
        self,
        start: float | None,
        end: float | None,
        *,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        limit: int = 1000,
        cursor: str | None = None,
        resolution: Resolution = "raw",
        columns: bool = False,
    ) -> Page:
        """One keyset page; ``rows`` is a list of HistoryRow, or one ColumnChunk if
        ``columns`` (numpy arrays, no per-row objects: the fast path for big exports)."""
        table = _table(resolution)
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        fp = _history_fingerprint(resolution, device_ids, sensor_ids, metrics, axes)
        after = None if cursor is None else codec.decode_cursor(cursor, "history", fp, 2)
        start_ms, end_ms = _range_ms(start, end)
        with self.connection() as conn:
            conn.execute("BEGIN")  # one snapshot for the series list and every group
            ids = self.select_series(conn, device_ids, sensor_ids, metrics, axes)
            raw = _merged(
                conn,
                table,
                _COLUMNS[resolution],
                ids,
                after,
                start_ms,
                end_ms,
                limit + 1,
                self._group,
            )
            meta = self.series_meta(conn, {row[1] for row in raw})
            conn.execute("COMMIT")
        more = len(raw) > limit
        del raw[limit:]
        next_cursor = None
        if more:
            last = raw[-1]
            next_cursor = codec.encode_cursor("history", fp, (last[0], last[1]))
        if columns:
            return Page(_to_columns(raw, meta, resolution), next_cursor)
        return Page(_to_rows(raw, meta, resolution), next_cursor)

    def iter_history(
        self,
        start: float | None,
        end: float | None,
        *,
        chunk_size: int = 10_000,
        columns: bool = False,
        **filters: Any,
    ) -> Iterator[Any]:
        """Chunks of a whole range; each chunk is one short read, none holds a snapshot open."""
        cursor = None
        while True:
            page = self.history_page(
                start, end, limit=chunk_size, cursor=cursor, columns=columns, **filters
            )
            if len(page.rows):
                yield page.rows
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def count_history(
        self,
        start: float | None,
        end: float | None,
        *,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        resolution: Resolution = "raw",
    ) -> int:
        table = _table(resolution)
        unfiltered = device_ids is None and sensor_ids is None and metrics is None
        with self.connection() as conn:
            if unfiltered and axes is ALL_AXES and start is None and end is None:
                return _counter(conn, table)
            where, params = series_filter(device_ids, sensor_ids, metrics, axes)
            start_ms, end_ms = _range_ms(start, end)
            return conn.execute(
                f"SELECT count(*) FROM {table} WHERE series_id IN (SELECT id FROM series {where}) "
                "AND ts_ms >= ? AND ts_ms < ?",
                (*params, start_ms, end_ms),
            ).fetchone()[0]

    # -- spectra ---------------------------------------------------------------------------

    def latest_spectrum(self, sensor_id: str, axis: str | None, kind: str) -> StoredSpectrum | None:
        with self.connection() as conn:
            row = conn.execute(
                f"SELECT {_SPECTRUM_COLUMNS} FROM spectra WHERE sensor_id = ? AND axis = ? "
                "AND kind = ? ORDER BY ts_ms DESC, id DESC LIMIT 1",
                (sensor_id, axis or "", kind),
            ).fetchone()
        return None if row is None else _spectrum(row)

    def latest_spectra(self, sensor_id: str) -> list[StoredSpectrum]:
        """The latest of each (axis, kind) stored for a sensor, by axis then kind."""
        found = []
        with self.connection() as conn:
            conn.execute("BEGIN")
            position = ("", "")
            first = True
            while True:  # skip-scan the index: one seek per (axis, kind), however many rows
                key = conn.execute(
                    "SELECT axis, kind FROM spectra WHERE sensor_id = ? "
                    f"{'AND (axis, kind) >= (?, ?)' if first else 'AND (axis, kind) > (?, ?)'} "
                    "ORDER BY axis, kind LIMIT 1",
                    (sensor_id, *position),
                ).fetchone()
                if key is None:
                    break
                first, position = False, key
                row = conn.execute(
                    f"SELECT {_SPECTRUM_COLUMNS} FROM spectra WHERE sensor_id = ? AND axis = ? "
                    "AND kind = ? ORDER BY ts_ms DESC, id DESC LIMIT 1",
                    (sensor_id, *key),
                ).fetchone()
                found.append(_spectrum(row))
            conn.execute("COMMIT")
        return found

    # -- events ----------------------------------------------------------------------------

    def events(
        self,
        start: float | None = None,
        end: float | None = None,
        kinds: Collection[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
        *,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        newest_first: bool = False,
    ) -> Page:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        fp = codec.fingerprint(
            "events", _norm(kinds), _norm(device_ids), _norm(sensor_ids), newest_first
        )
        start_ms, end_ms = _range_ms(start, end)
        clauses, params = ["ts_ms >= ?", "ts_ms < ?"], [start_ms, end_ms]
        for column, values in (
            ("kind", kinds),
            ("device_id", device_ids),
            ("sensor_id", sensor_ids),
        ):
            if values is not None:
                values = _as_list(values, column)
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if cursor is not None:
            ts_ms, event_id = codec.decode_cursor(cursor, "events", fp, 2)
            clauses.append("(ts_ms, id) < (?, ?)" if newest_first else "(ts_ms, id) > (?, ?)")
            params.extend((ts_ms, event_id))
        order = "DESC" if newest_first else "ASC"
        with self.connection() as conn:
            raw = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM event_log WHERE {' AND '.join(clauses)} "
                f"ORDER BY ts_ms {order}, id {order} LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
        more = len(raw) > limit
        del raw[limit:]
        next_cursor = None
        if more:
            next_cursor = codec.encode_cursor("events", fp, (raw[-1][1], raw[-1][0]))
        return Page([_event(row) for row in raw], next_cursor)

    # -- status ----------------------------------------------------------------------------

    def series_overview(self, conn: sqlite3.Connection) -> list[SeriesInfo]:
        """Every series with its oldest raw time and latest raw value: index seeks only."""
        out = []
        for sid, device, sensor, metric, axis, unit, first, last, value in conn.execute(
            "SELECT s.id, s.device_id, s.sensor_id, s.metric, s.axis, s.unit, "
            "(SELECT ts_ms FROM reading_values WHERE series_id = s.id ORDER BY ts_ms LIMIT 1), "
            "r.ts_ms, r.value "
            "FROM series AS s LEFT JOIN reading_values AS r ON r.series_id = s.id AND r.ts_ms = "
            "(SELECT ts_ms FROM reading_values WHERE series_id = s.id ORDER BY ts_ms DESC LIMIT 1) "
            "ORDER BY s.device_id, s.sensor_id, s.metric, s.axis, s.id"
        ):
            del sid
            latest = None
            if last is not None:
                latest = HistoryRow(
                    last / 1000, device, sensor, metric, axis or None, unit, value, value, value, 1
                )
            out.append(
                SeriesInfo(
                    device,
                    sensor,
                    metric,
                    axis or None,
                    unit,
                    None if first is None else first / 1000,
                    latest,
                )
            )
        return out


# -- helpers -------------------------------------------------------------------------------


def series_filter(
    device_ids: Collection[str] | None,
    sensor_ids: Collection[str] | None,
    metrics: Collection[str] | None,
    axes: Axes,
) -> tuple[str, list[str]]:
    """WHERE clause on the series table. Each filter is a collection (None = no filter)."""
    clauses, params = [], []
    for column, values in (
        ("device_id", device_ids),
        ("sensor_id", sensor_ids),
        ("metric", metrics),
    ):
        if values is not None:
            values = _as_list(values, column)
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    if axes is None:
        raise TypeError(
            "axes=None is ambiguous: pass ALL_AXES for every axis, or [None] for the overall "
            "value only"
        )
    if not isinstance(axes, _AllAxes):
        values = ["" if a is None else a for a in _as_list(axes, "axes", allow_none=True)]
        clauses.append(f"axis IN ({', '.join('?' * len(values))})")
        params.extend(values)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _as_list(values: Any, name: str, allow_none: bool = False) -> list[Any]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a collection of strings, not a single string")
    out = list(values)
    for v in out:
        if not (isinstance(v, str) or (allow_none and v is None)):
            raise TypeError(f"{name} must contain strings, got {v!r}")
    return out


def _norm(values: Collection[Any] | None) -> list[str] | None:
    if values is None:
        return None
    return sorted("" if v is None else str(v) for v in values)


def _history_fingerprint(
    resolution: str,
    device_ids: Collection[str] | None,
    sensor_ids: Collection[str] | None,
    metrics: Collection[str] | None,
    axes: Axes,
) -> str:
    axes_key = "*" if isinstance(axes, _AllAxes) else _norm(axes)  # type: ignore[arg-type]
    return codec.fingerprint(
        "history", resolution, _norm(device_ids), _norm(sensor_ids), _norm(metrics), axes_key
    )


def _table(resolution: str) -> str:
    try:
        return _TABLES[resolution]
    except KeyError:
        raise ValueError(f"resolution must be one of raw, 1m, 1h; got {resolution!r}") from None


def _range_ms(start: float | None, end: float | None) -> tuple[int, int]:
    """[start, end) in epoch ms, rounded exactly as stored timestamps are."""
    start_ms = -_FOREVER if start is None else round(start * 1000)
    end_ms = _FOREVER if end is None else round(end * 1000)
    return start_ms, end_ms


def _merge_group_size(conn: sqlite3.Connection) -> int:
    compound = conn.getlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT)
    variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(400, compound, (variables - 1) // 3))


def _merged(
    conn: sqlite3.Connection,
    table: str,
    columns: str,
    series_ids: Sequence[int],
    after: tuple[int, ...] | None,
    start_ms: int,
    end_ms: int,
    limit: int,
    group_size: int,
) -> list[tuple[Any, ...]]:
    """Up to ``limit`` rows of the given series after the keyset position, in (ts, id) order."""
    arms = []
    for sid in series_ids:
        lo = start_ms
        if after is not None:
            # (ts, sid) > (c_ts, c_sid): the same ts is still to come for later series only.
            lo = max(lo, after[0] if sid > after[1] else after[0] + 1)
        if lo < end_ms:
            arms.append((sid, lo, end_ms))
    if not arms:
        return []
    arm = f"SELECT {columns} FROM {table} WHERE series_id = ? AND ts_ms >= ? AND ts_ms < ?"
    cursors = []
    for i in range(0, len(arms), group_size):
        group = arms[i : i + group_size]
        sql = " UNION ALL ".join([arm] * len(group)) + " ORDER BY 1, 2 LIMIT ?"
        params = [p for a in group for p in a]
        params.append(limit)
        cursors.append(conn.execute(sql, params))
    if len(cursors) == 1:
        return cursors[0].fetchall()
    # (ts, series id) is unique, so tuples never compare beyond their first two fields.
    return list(islice(heapq.merge(*cursors), limit))


def _to_rows(
    raw: list[tuple[Any, ...]],
    meta: dict[int, tuple[str, str, str, str | None, str]],
    resolution: str,
) -> list[HistoryRow]:
    if resolution == "raw":
        return [_new_row(HistoryRow, (ts / 1000, *meta[sid], v, v, v, 1)) for ts, sid, v in raw]
    return [
        _new_row(HistoryRow, (ts / 1000, *meta[sid], mean, lo, hi, n))
        for ts, sid, mean, lo, hi, n in raw
    ]


_RAW_DTYPE = np.dtype([("ts", "<i8"), ("sid", "<i8"), ("value", "<f8")])
_ROLLUP_DTYPE = np.dtype(
    [
        ("ts", "<i8"),
        ("sid", "<i8"),
        ("value", "<f8"),
        ("min", "<f8"),
        ("max", "<f8"),
        ("count", "<i8"),
    ]
)


def _to_columns(
    raw: list[tuple[Any, ...]],
    meta: dict[int, tuple[str, str, str, str | None, str]],
    resolution: str,
) -> ColumnChunk:
    dtype = _RAW_DTYPE if resolution == "raw" else _ROLLUP_DTYPE
    table = np.fromiter(raw, dtype=dtype, count=len(raw))
    value = table["value"].copy()
    if resolution == "raw":
        low, high, count = value, value, np.ones(len(raw), dtype=np.int64)
    else:
        low, high, count = table["min"].copy(), table["max"].copy(), table["count"].copy()
    sids = table["sid"].copy()
    return ColumnChunk(
        ts=table["ts"] / 1000.0,
        series_id=sids,
        value=value,
        min=low,
        max=high,
        count=count,
        series={int(sid): meta[int(sid)] for sid in np.unique(sids)},
    )


def _counter(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (f"rows.{table}",)).fetchone()
    return int(row[0])


def counters(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        key.removeprefix("rows."): int(value)
        for key, value in conn.execute(
            "SELECT key, value FROM store_meta WHERE key LIKE 'rows.%' ORDER BY key"
        )
    }


def _spectrum(row: tuple[Any, ...]) -> StoredSpectrum:
    sensor_id, axis, kind, ts_ms, bin_width_hz, data = row
    amplitudes, peaks = codec.unpack_spectrum(data)
    return StoredSpectrum(
        sensor_id, axis or None, kind, ts_ms / 1000, bin_width_hz, amplitudes, peaks
    )


def _event(row: tuple[Any, ...]) -> Event:
    event_id, ts_ms, kind, device_id, sensor_id, message, data = row
    return Event(event_id, ts_ms / 1000, kind, message, device_id, sensor_id, codec.from_json(data))
