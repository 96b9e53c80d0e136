"""The single writer: one thread owns the only writing connection and commits in batches.

Callers on any thread (or coroutine) put items on a queue and return at once. The thread
commits everything pending in one transaction when ``batch_size`` rows are pending, when the
oldest pending row has waited ``flush_interval`` seconds (monotonic clock: a durability bound
in real time, whatever the simulated time), or when someone calls ``flush()``. Between
commits it runs retention in bounded steps, so deletes never hold back new data for long.

Durability: a committed batch survives a kill -9 of the process (it is in the WAL file).
What a kill -9 loses is what was still queued: at most ``flush_interval`` seconds of data
(or ``batch_size`` rows, whichever comes first) while the writer keeps up. With
``synchronous=NORMAL`` a power loss or OS crash can additionally lose the transactions
committed since the last WAL checkpoint, but never leaves a damaged database.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import retention
from .codec import to_json
from .errors import StoreClosedError, StoreError
from .retention import raw_floor
from .schema import describe

log = logging.getLogger(__name__)

# (device_id, sensor_id, metric, axis or "", unit)
SeriesKey = tuple[str, str, str, str, str]
ReadingRow = tuple[SeriesKey, int, float]  # (key, ts_ms, value)
SpectrumRow = tuple[str, str, str, int, float, int, bytes]
EventRow = tuple[int, str, str | None, str | None, str, str | None]

_UPSERT = """
INSERT INTO main.{table} (series_id, ts_ms, count, sum, min, max)
SELECT series_id, ts_ms - ((ts_ms % {w}) + {w}) % {w}, count(*), sum(value), min(value), max(value)
FROM temp.batch WHERE true GROUP BY 1, 2
ON CONFLICT (series_id, ts_ms) DO UPDATE SET
    count = count + excluded.count,
    sum = sum + excluded.sum,
    min = min(min, excluded.min),
    max = max(max, excluded.max)
"""

_NEW_BUCKETS = """
SELECT count(*) FROM (
    SELECT DISTINCT series_id, ts_ms - ((ts_ms % {w}) + {w}) % {w} AS bucket FROM temp.batch
) AS k
WHERE NOT EXISTS (
    SELECT 1 FROM main.{table} AS r WHERE r.series_id = k.series_id AND r.ts_ms = k.bucket
)
"""


class Waiter:
    """Released by the writer once the items queued before it are committed (or failed)."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None

    def release(self, error: BaseException | None = None) -> None:
        if error is not None and self.error is None:
            self.error = error
        self.done.set()


@dataclass
class WriterStats:
    """Counters for health pages and metrics; read without locking (approximate is fine)."""

    queued_rows: int = 0  # accepted by add_readings, not yet committed or dropped
    committed_rows: int = 0
    commits: int = 0
    duplicate_rows: int = 0  # same series and ts as a stored row: first write wins
    late_rows: int = 0  # older than the raw floor (already removed by retention)
    rejected_rows: int = 0  # NaN or infinite values
    dropped_rows: int = 0  # queue over max_queued_rows, or lost to a failed commit
    failed_commits: int = 0
    last_error: str | None = None
    last_commit_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Writer:
    """Owns the writing connection and the thread; the Store is its only user."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        flush_interval: float,
        batch_size: int,
        max_queued_rows: int,
        retention_chunk: int,
    ) -> None:
        self._conn = conn
        self._path = path
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_queued_rows = max_queued_rows
        self.retention_chunk = retention_chunk
        self.stats = WriterStats()
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders "closed?" checks against the close item
        self._closed = False
        self._series: dict[SeriesKey, int] = {}
        conn.execute(
            "CREATE TEMP TABLE batch (series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, "
            "value REAL NOT NULL, PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID"
        )
        for sid, *key in conn.execute(
            "SELECT id, device_id, sensor_id, metric, axis, unit FROM series"
        ):
            self._series[tuple(key)] = sid  # type: ignore[index]
        # Pending work, touched only by the writer thread.
        self._rows: list[ReadingRow] = []
        self._spectra: list[SpectrumRow] = []
        self._events: list[EventRow] = []
        self._first_pending: float | None = None
        self._flush_waiters: list[Waiter] = []
        self._job_waiters: list[Waiter] = []
        self._jobs: deque[tuple[retention.RetentionPolicy, float, Future[Any]]] = deque()
        self._job: tuple[Iterator[None], retention.RetentionReport, Future[Any]] | None = None
        self._thread = threading.Thread(target=self._run, name="esocore-store-writer", daemon=True)
        self._thread.start()

    # -- called from any thread ------------------------------------------------------------

    def put_rows(self, rows: list[ReadingRow]) -> int:
        with self._lock:
            self._check_open()
            room = self.max_queued_rows - self.stats.queued_rows
            if len(rows) > room:
                self.stats.dropped_rows += len(rows) - max(room, 0)
                rows = rows[: max(room, 0)]
            if rows:
                self.stats.queued_rows += len(rows)
                self._queue.put(("rows", rows))
        return len(rows)

    def count_rejected(self, n: int) -> None:
        with self._lock:
            self.stats.rejected_rows += n

    def put(self, kind: str, item: Any) -> None:
        with self._lock:
            self._check_open()
            self._queue.put((kind, item))

    def flush(self, timeout: float | None = None) -> None:
        waiter = Waiter()
        self.put("flush", waiter)
        self._wait(waiter, timeout, "flush")

    def close(self, timeout: float | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiter = Waiter()
            self._queue.put(("close", waiter))
        try:
            self._wait(waiter, timeout, "close")
        finally:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{self._path}: the store is closed")

    def _wait(self, waiter: Waiter, timeout: float | None, what: str) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not waiter.done.wait(0.5 if deadline is None else min(0.5, timeout or 0.5)):
            if not self._thread.is_alive():
                raise StoreError(f"{self._path}: the writer thread has stopped")
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreError(f"{self._path}: {what} timed out after {timeout} s")
        if waiter.error is not None:
            raise StoreError(f"{self._path}: {what} failed: {waiter.error}") from waiter.error

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        closing: Waiter | None = None
        try:
            while True:
                item = self._next_item(closing is not None)
                while item is not None:
                    closing = self._handle(item) or closing
                    if len(self._rows) >= self.batch_size:
                        break
                    item = self._next_item(True)
                if self._due() or (closing is not None and self._pending()):
                    self._commit()
                elif self._flush_waiters:
                    self._release(self._flush_waiters)
                if closing is not None and self._queue.empty():
                    break
                if self._job is not None or self._jobs:
                    self._retention_step()
        except BaseException as exc:  # never die silently: fail every waiter
            log.exception("store writer crashed")
            self.stats.last_error = f"writer crashed: {exc!r}"
            self._abandon(exc)
            raise
        finally:
            if self._pending():
                self._commit()
            self._abandon(None)
            if closing is not None:
                closing.release()
            self._conn.close()

    def _next_item(self, nowait: bool) -> tuple[str, Any] | None:
        try:
            if nowait or self._job is not None or self._jobs:
                return self._queue.get_nowait()
            if self._first_pending is None:
                return self._queue.get()
            wait = self._first_pending + self.flush_interval - time.monotonic()
            return self._queue.get(timeout=max(wait, 0.0))
        except queue.Empty:
            return None

    def _handle(self, item: tuple[str, Any]) -> Waiter | None:
        kind, payload = item
        if kind == "rows":
            self._rows.extend(payload)
        elif kind == "spectrum":
            self._spectra.append(payload)
        elif kind == "event":
            self._events.append(payload)
        elif kind == "flush":
            # Retention queued before this flush must finish before it returns.
            (self._job_waiters if self._job or self._jobs else self._flush_waiters).append(payload)
        elif kind == "retention":
            self._jobs.append(payload)
        elif kind == "close":
            return payload
        if kind in ("rows", "spectrum", "event") and self._first_pending is None:
            self._first_pending = time.monotonic()
        return None

    def _pending(self) -> bool:
        return bool(self._rows or self._spectra or self._events)

    def _due(self) -> bool:
        if not self._pending():
            return False
        if self._flush_waiters or len(self._rows) >= self.batch_size:
            return True
        assert self._first_pending is not None
        return time.monotonic() >= self._first_pending + self.flush_interval

    def _release(self, waiters: list[Waiter], error: BaseException | None = None) -> None:
        for waiter in waiters:
            waiter.release(error)
        waiters.clear()

    def _abandon(self, error: BaseException | None) -> None:
        """Closing or crashing: unblock everyone; unfinished retention reports complete=False."""
        if self._job is not None:
            self._job[0].close()
            self._job[2].set_result(self._job[1])
            self._job = None
        while self._jobs:
            _, now, future = self._jobs.popleft()
            future.set_result(retention.RetentionReport(now=now))
        self._release(self._flush_waiters, error)
        self._release(self._job_waiters, error)

    def _commit(self) -> None:
        rows, spectra, events = self._rows, self._spectra, self._events
        self._rows, self._spectra, self._events = [], [], []
        self._first_pending = None
        started = time.perf_counter()
        new_keys: list[SeriesKey] = []
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            inserted = self._insert_rows(rows, new_keys) if rows else 0
            if spectra:
                conn.executemany(
                    "INSERT INTO spectra (sensor_id, axis, kind, ts_ms, bin_width_hz, n_bins, "
                    "data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    spectra,
                )
            if events:
                conn.executemany(
                    "INSERT INTO event_log (ts_ms, kind, device_id, sensor_id, message, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    events,
                )
            self._bump({"spectra": len(spectra), "event_log": len(events)})
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for key in new_keys:
                self._series.pop(key, None)
            error = describe(self._path, exc)
            log.error("store commit failed, %d readings lost: %s", len(rows), error)
            self.stats.failed_commits += 1
            with self._lock:
                self.stats.dropped_rows += len(rows)
                self.stats.queued_rows -= len(rows)
            self.stats.last_error = str(error)
            self._release(self._flush_waiters, error)
            return
        with self._lock:
            self.stats.queued_rows -= len(rows)
        self.stats.committed_rows += inserted
        self.stats.commits += 1
        self.stats.last_commit_seconds = time.perf_counter() - started
        self._release(self._flush_waiters)

    def _insert_rows(self, rows: list[ReadingRow], new_keys: list[SeriesKey]) -> int:
        conn = self._conn
        series = self._series
        params = []
        for key, ts_ms, value in rows:
            sid = series.get(key)
            if sid is None:
                sid = conn.execute(
                    "INSERT INTO series (device_id, sensor_id, metric, axis, unit) "
                    "VALUES (?, ?, ?, ?, ?)",
                    key,
                ).lastrowid
                assert sid is not None
                series[key] = sid
                new_keys.append(key)
            params.append((sid, ts_ms, value))
        unique = conn.executemany("INSERT OR IGNORE INTO temp.batch VALUES (?, ?, ?)", params)
        duplicates = len(params) - unique.rowcount
        floor = raw_floor(conn)
        late = 0
        if floor is not None:
            late = conn.execute("DELETE FROM temp.batch WHERE ts_ms < ?", (floor,)).rowcount
        duplicates += conn.execute(
            "DELETE FROM temp.batch WHERE EXISTS (SELECT 1 FROM main.reading_values AS r "
            "WHERE r.series_id = batch.series_id AND r.ts_ms = batch.ts_ms)"
        ).rowcount
        inserted = conn.execute(
            "INSERT INTO main.reading_values (series_id, ts_ms, value) "
            "SELECT series_id, ts_ms, value FROM temp.batch"
        ).rowcount
        counts = {"reading_values": inserted}
        for table, width in (("rollup_1m", 60_000), ("rollup_1h", 3_600_000)):
            counts[table] = conn.execute(_NEW_BUCKETS.format(table=table, w=width)).fetchone()[0]
            conn.execute(_UPSERT.format(table=table, w=width))
        conn.execute("DELETE FROM temp.batch")
        self._bump(counts)
        self.stats.duplicate_rows += duplicates
        self.stats.late_rows += late
        return inserted

    def _bump(self, deltas: dict[str, int]) -> None:
        changes = [(n, f"rows.{table}") for table, n in deltas.items() if n]
        if changes:
            self._conn.executemany("UPDATE store_meta SET value = value + ? WHERE key = ?", changes)

    def _retention_step(self) -> None:
        if self._job is None:
            policy, now, future = self._jobs.popleft()
            report = retention.RetentionReport(now=now)
            steps = retention.run(self._conn, policy, now, report, self.retention_chunk)
            self._job = (steps, report, future)
        steps, report, future = self._job
        try:
            next(steps)
            return
        except StopIteration:
            self._job = None
            if report.size_limited:
                self._log_size_retention(report)
            future.set_result(report)
        except sqlite3.Error as exc:
            self._job = None
            error = describe(self._path, exc)
            log.error("retention failed: %s", error)
            self.stats.last_error = str(error)
            future.set_exception(error)
        if not self._jobs:
            if self._pending():
                self._flush_waiters.extend(self._job_waiters)
                self._job_waiters.clear()
                self._commit()
            else:
                self._release(self._job_waiters)

    def _log_size_retention(self, report: retention.RetentionReport) -> None:
        deleted = {table: n for table, n in report.deleted.items() if n}
        before, after = report.used_bytes_before >> 20, report.used_bytes_after >> 20
        message = f"database over its size limit: removed {deleted} ({before} -> {after} MB)"
        if report.over_limit:
            message += "; still over the limit, raise store.retention.max_size_mb"
        log.warning(message)
        self._events.append(
            (
                round(report.now * 1000),
                "store_retention",
                None,
                None,
                message,
                to_json({"deleted": deleted, "over_limit": report.over_limit}),
            )
        )
        if self._first_pending is None:
            self._first_pending = time.monotonic()
