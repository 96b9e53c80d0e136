"""The Store: one SQLite file per data directory, one writer thread, read connections for all.

    store = Store(data_dir, retention=RetentionPolicy(raw_days=30))
    store.add_readings(readings)          # any thread, never blocks
    store.apply_retention(clock.now())    # runs in the writer thread, in small steps
    page = store.query_readings(t0, t1, sensor_ids=["motor-1-accel"], limit=1000)
    store.close()                         # flushes

Writes are queued and committed in batches by the writer (see writer.py for the durability
bound: a kill -9 loses at most the last unflushed batch). Queries use separate read-only
connections, safe from any thread; they block for milliseconds, so from the asyncio loop call
them through a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from . import codec, schema
from .errors import StoreError, StoreLockedError
from .queries import Axes, Reader, counters
from .records import (
    ALL_AXES,
    ColumnChunk,
    HistoryRow,
    Page,
    Resolution,
    SpectrumKind,
    StoredSpectrum,
    Summary,
)
from .retention import RetentionPolicy, RetentionReport, used_bytes
from .writer import ReadingRow, SeriesKey, Writer

try:
    import fcntl
except ImportError:  # pragma: no cover - not Linux
    fcntl = None  # type: ignore[assignment]

DB_FILENAME = "esocore.db"


class Store:
    """History of readings, rollups, spectra and events in ``DATA_DIR/esocore.db``.

    ``readonly=True`` opens an existing database without a writer (for ``esocore status`` or
    tools) and works while a device process writes to it.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        retention: RetentionPolicy | None = None,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        max_queued_rows: int = 1_000_000,
        retention_chunk: int = 5000,
        synchronous: str = "NORMAL",
        readonly: bool = False,
        read_pool_size: int = 4,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
        if batch_size < 1 or retention_chunk < 1 or max_queued_rows < 1:
            raise ValueError("batch_size, retention_chunk and max_queued_rows must be >= 1")
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_FILENAME
        self.readonly = readonly
        self._retention = retention or RetentionPolicy()
        self._writer: Writer | None = None
        self._lock_fd: int | None = None
        self._known_keys: set[SeriesKey] = set()
        self._close_lock = threading.Lock()
        self._closed = False
        if readonly:
            if not self.path.exists():
                raise StoreError(f"{self.path}: no database here (wrong --data-dir?)")
            self._reader = Reader(self.path, read_pool_size)
            with self._reader.connection() as conn:
                schema.check_readable_version(conn, self.path)
            return
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.data_dir}: cannot create the data directory: {exc}") from exc
        self._lock_fd = _lock_exclusive(self.path)
        try:
            conn = schema.connect_writer(self.path, synchronous=synchronous.upper())
            self._writer = Writer(
                conn,
                self.path,
                flush_interval=flush_interval,
                batch_size=batch_size,
                max_queued_rows=max_queued_rows,
                retention_chunk=retention_chunk,
            )
        except BaseException:
            _unlock(self._lock_fd)
            raise
        self._reader = Reader(self.path, read_pool_size)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self, timeout: float | None = None) -> None:
        """Commit everything queued, stop the writer and release the data directory."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self._writer is not None:
                self._writer.close(timeout)
        finally:
            self._reader.close()
            if self._lock_fd is not None:
                _unlock(self._lock_fd)
                self._lock_fd = None

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued before this call is committed (and any retention run
        queued before it has finished). Raises StoreError if that commit failed."""
        self._require_writer().flush(timeout)

    # -- writing (any thread, never blocks) ------------------------------------------------

    def add_readings(self, readings: Iterable[Any]) -> int:
        """Queue readings (``runtime.readings.Reading`` or anything with its fields).

        Returns how many were queued: NaN/infinite values are skipped (counted in stats), and
        when ``max_queued_rows`` are already waiting the excess is dropped (counted too) rather
        than growing memory without bound. Raises TypeError before queuing anything if an id,
        metric, axis or unit is not a string. Timestamps are kept to the millisecond; a
        second reading for the same series at the same millisecond is ignored.
        """
        writer = self._require_writer()
        rows: list[ReadingRow] = []
        rejected = 0
        known = self._known_keys
        isfinite = math.isfinite
        for r in readings:
            value = float(r.value)
            if not isfinite(value):
                rejected += 1
                continue
            axis = r.axis
            key = (r.device_id, r.sensor_id, r.metric, "" if axis is None else axis, r.unit)
            if key not in known:
                _check_key(key)
                known.add(key)
            rows.append((key, round(float(r.ts) * 1000), value))
        if rejected:
            writer.count_rejected(rejected)
        return writer.put_rows(rows) if rows else 0

    def add_spectrum(
        self,
        sensor_id: str,
        axis: str | None,
        ts: float,
        kind: SpectrumKind,
        bin_width_hz: float,
        amplitudes: Any,
        peaks: Sequence[Any] = (),
    ) -> None:
        """Queue a spectrum snapshot; the array is copied now, so the caller may reuse it."""
        writer = self._require_writer()
        if kind not in ("spectrum", "envelope"):
            raise ValueError(f"kind must be 'spectrum' or 'envelope', got {kind!r}")
        if not isinstance(sensor_id, str) or not (axis is None or isinstance(axis, str)):
            raise TypeError("sensor_id must be a string and axis a string or None")
        if not (bin_width_hz > 0 and math.isfinite(bin_width_hz)):
            raise ValueError(f"bin_width_hz must be a positive number, got {bin_width_hz!r}")
        n_bins, blob = codec.pack_spectrum(amplitudes, peaks)
        writer.put(
            "spectrum",
            (sensor_id, axis or "", kind, _ts_ms(ts), float(bin_width_hz), n_bins, blob),
        )

    def log_event(
        self,
        kind: str,
        ts: float,
        message: str,
        device_id: str | None = None,
        sensor_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Queue an event (boot, sensor_fault, fifo_overflow, config_changed, ...)."""
        writer = self._require_writer()
        if not isinstance(kind, str) or not kind:
            raise ValueError("event kind must be a non-empty string")
        for name, value in (("device_id", device_id), ("sensor_id", sensor_id)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a string or None")
        writer.put(
            "event", (_ts_ms(ts), kind, device_id, sensor_id, str(message), codec.to_json(data))
        )

    # -- retention -------------------------------------------------------------------------

    @property
    def retention(self) -> RetentionPolicy:
        return self._retention

    @retention.setter
    def retention(self, policy: RetentionPolicy) -> None:
        """Replace the policy (config change); the next apply_retention uses it."""
        if not isinstance(policy, RetentionPolicy):
            raise TypeError("retention must be a RetentionPolicy")
        self._retention = policy

    def apply_retention(self, now: float) -> Future[RetentionReport]:
        """Queue a retention run relative to ``now`` (epoch seconds, the caller's clock).

        Returns at once; the writer thread deletes in chunks of ``retention_chunk`` rows per
        transaction between batches. The future resolves to a RetentionReport.
        """
        future: Future[RetentionReport] = Future()
        self._require_writer().put("retention", (self._retention, float(now), future))
        return future

    # -- queries (any thread) --------------------------------------------------------------

    def query_readings(
        self,
        start: float | None,
        end: float | None,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        limit: int = 1000,
        cursor: str | None = None,
        resolution: Resolution = "raw",
    ) -> Page:
        """One page of history in [start, end) (epoch seconds; None = unbounded), ordered by
        time, ties by series. Filters are collections (None = all); in ``axes`` None means the
        overall value. Pass the returned ``next_cursor`` back (with the same filters and
        resolution) for the next page; it is None after the last one. Rollup rows have the
        bucket start as ``ts`` and the mean as ``value``. Raises InvalidCursorError (a
        ValueError) for a cursor from other filters, ValueError for a bad limit/resolution.
        """
        return self._reader.history_page(
            start,
            end,
            device_ids=device_ids,
            sensor_ids=sensor_ids,
            metrics=metrics,
            axes=axes,
            limit=limit,
            cursor=cursor,
            resolution=resolution,
        )

    def iter_readings(
        self,
        start: float | None,
        end: float | None,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        resolution: Resolution = "raw",
        chunk_size: int = 10_000,
    ) -> Iterator[HistoryRow]:
        """Every row of a range, streamed: ``chunk_size`` rows in memory at a time, each
        chunk one short keyset query (no read transaction stays open while the consumer,
        e.g. a slow HTTP client, takes its time)."""
        for chunk in self.iter_reading_chunks(
            start, end, device_ids, sensor_ids, metrics, axes, resolution, chunk_size
        ):
            yield from chunk

    def iter_reading_chunks(
        self,
        start: float | None,
        end: float | None,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        resolution: Resolution = "raw",
        chunk_size: int = 10_000,
    ) -> Iterator[list[HistoryRow]]:
        """Like iter_readings, a list per chunk (handy for Parquet row groups)."""
        return self._reader.iter_history(
            start,
            end,
            chunk_size=chunk_size,
            device_ids=device_ids,
            sensor_ids=sensor_ids,
            metrics=metrics,
            axes=axes,
            resolution=resolution,
        )

    def iter_reading_columns(
        self,
        start: float | None,
        end: float | None,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        resolution: Resolution = "raw",
        chunk_size: int = 50_000,
    ) -> Iterator[ColumnChunk]:
        """The same rows as iter_readings as numpy column chunks, without a Python object
        per row: the fast path for Parquet/Arrow exports (series as dictionary codes)."""
        return self._reader.iter_history(
            start,
            end,
            chunk_size=chunk_size,
            columns=True,
            device_ids=device_ids,
            sensor_ids=sensor_ids,
            metrics=metrics,
            axes=axes,
            resolution=resolution,
        )

    def count_readings(
        self,
        start: float | None = None,
        end: float | None = None,
        device_ids: Collection[str] | None = None,
        sensor_ids: Collection[str] | None = None,
        metrics: Collection[str] | None = None,
        axes: Axes = ALL_AXES,
        resolution: Resolution = "raw",
    ) -> int:
        """Exact count. Free without filters and bounds (a counter); otherwise an index walk
        over the matching rows (tens of ms per million rows)."""
        return self._reader.count_history(
            start,
            end,
            device_ids=device_ids,
            sensor_ids=sensor_ids,
            metrics=metrics,
            axes=axes,
            resolution=resolution,
        )

    def latest_spectrum(
        self, sensor_id: str, axis: str | None, kind: SpectrumKind = "spectrum"
    ) -> StoredSpectrum | None:
        return self._reader.latest_spectrum(sensor_id, axis, kind)

    def latest_spectra(self, sensor_id: str) -> list[StoredSpectrum]:
        """The latest snapshot of every (axis, kind) stored for the sensor."""
        return self._reader.latest_spectra(sensor_id)

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
        """Events in [start, end), keyset-paged like query_readings (rows are Event)."""
        return self._reader.events(
            start,
            end,
            kinds,
            limit,
            cursor,
            device_ids=device_ids,
            sensor_ids=sensor_ids,
            newest_first=newest_first,
        )

    def summary(self, recent_events: int = 10) -> Summary:
        """What is stored, for ``esocore status``: index seeks and counters, no table scans."""
        with self._reader.connection() as conn:
            conn.execute("BEGIN")
            series = self._reader.series_overview(conn)
            counts = counters(conn)
            used = used_bytes(conn)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("COMMIT")
        events = self.events(limit=recent_events, newest_first=True).rows if recent_events else []
        firsts = [s.first_ts for s in series if s.first_ts is not None]
        lasts = [s.last.ts for s in series if s.last is not None]
        return Summary(
            path=str(self.path),
            schema_version=version,
            machines=sorted({s.device_id for s in series}),
            sensors=sorted({(s.device_id, s.sensor_id) for s in series}),
            metrics=sorted({s.metric for s in series}),
            first_ts=min(firsts) if firsts else None,
            last_ts=max(lasts) if lasts else None,
            counts=counts,
            series=series,
            recent_events=events,
            file_bytes=self.file_bytes(),
            used_bytes=used,
            writer=self.stats(),
        )

    def stats(self) -> dict[str, Any] | None:
        """Writer counters (queued, committed, dropped, errors ...); None when read-only."""
        return None if self._writer is None else self._writer.stats.as_dict()

    def file_bytes(self) -> int:
        """Bytes on disk: the database file plus its write-ahead log."""
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.path.getsize(f"{self.path}{suffix}")
        return total

    def snapshot(self, dest_path: str | os.PathLike[str]) -> Path:
        """A consistent copy of the whole database (SQLite backup API, one read snapshot),
        written beside ``dest_path`` and renamed into place; the device keeps writing
        meanwhile. The copy is a self-contained file (rollback journal, no -wal needed)."""
        dest = Path(dest_path)
        partial = dest.with_name(dest.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            target = sqlite3.connect(partial)
            try:
                with self._reader.connection() as source:
                    source.backup(target)  # pages=-1: one step, so one consistent snapshot
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
            os.replace(partial, dest)
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"snapshot of {self.path} to {dest} failed: {exc}") from exc
        except OSError:
            partial.unlink(missing_ok=True)
            raise
        return dest

    def _require_writer(self) -> Writer:
        if self._writer is None:
            raise StoreError(f"{self.path}: opened read-only; writing is not possible")
        return self._writer


def _check_key(key: SeriesKey) -> None:
    names = ("device_id", "sensor_id", "metric", "axis", "unit")
    for name, value in zip(names, key, strict=True):
        if not isinstance(value, str):
            raise TypeError(f"reading {name} must be a string, got {value!r}")
    for name, value in zip(names[:3], key[:3], strict=True):
        if not value:
            raise ValueError(f"reading {name} must not be empty")


def _ts_ms(ts: float) -> int:
    value = float(ts)
    if not math.isfinite(value):
        raise ValueError(f"timestamp must be a finite number of seconds, got {ts!r}")
    return round(value * 1000)


def _lock_exclusive(path: Path) -> int | None:
    """One writer per data directory, across processes; the OS drops the lock on kill -9."""
    if fcntl is None:  # pragma: no cover
        return None
    lock_path = f"{path}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{lock_path}: cannot create the lock file: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StoreLockedError(
            f"{path}: another EsoCore process is writing to this database; stop it or use "
            "another --data-dir (read-only access works meanwhile)"
        ) from None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock
