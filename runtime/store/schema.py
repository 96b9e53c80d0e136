"""Schema, migrations and connections.

The schema version lives in ``PRAGMA user_version``; ``MIGRATIONS[i]`` takes a database from
version ``i`` to ``i + 1`` and runs in one transaction together with the version bump, so a
crash mid-migration leaves the previous version intact. Never edit a released migration:
append a new one. The views at the end are the documented interface for analysts
(docs/database.md); the base tables behind them may change between versions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from .errors import StoreCorruptError, StoreError, StoreVersionError

#: "ESOC": marks the file as ours, so a foreign SQLite file is refused rather than altered.
APPLICATION_ID = 0x45534F43

# 1m and 1h rollups share one layout: one row per series per bucket, mean = sum / count.
_ROLLUP_TABLE = """
CREATE TABLE {name} (
    series_id INTEGER NOT NULL,
    ts_ms     INTEGER NOT NULL,  -- bucket start, epoch milliseconds
    count     INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID
"""

_ISO = "strftime('%Y-%m-%dT%H:%M:%fZ', {col} / 1000.0, 'unixepoch')"

_ROLLUP_VIEW = """
CREATE VIEW {view} AS
SELECT {iso} AS timestamp,
       s.device_id AS device_id, s.sensor_id AS sensor_id, s.metric AS metric,
       NULLIF(s.axis, '') AS axis,
       r.min AS min, r.sum / r.count AS mean, r.max AS max, r.count AS count,
       s.unit AS unit
FROM {table} AS r JOIN series AS s ON s.id = r.series_id
"""

_V1 = [
    """
    CREATE TABLE series (
        id        INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        sensor_id TEXT NOT NULL,
        metric    TEXT NOT NULL,
        axis      TEXT NOT NULL,  -- '' = the overall value (NULL would defeat UNIQUE)
        unit      TEXT NOT NULL,
        UNIQUE (device_id, sensor_id, metric, axis, unit)
    )
    """,
    """
    CREATE TABLE reading_values (
        series_id INTEGER NOT NULL,
        ts_ms     INTEGER NOT NULL,  -- epoch milliseconds, UTC
        value     REAL NOT NULL,
        PRIMARY KEY (series_id, ts_ms)
    ) WITHOUT ROWID
    """,
    _ROLLUP_TABLE.format(name="rollup_1m"),
    _ROLLUP_TABLE.format(name="rollup_1h"),
    """
    CREATE TABLE spectra (
        id           INTEGER PRIMARY KEY,
        sensor_id    TEXT NOT NULL,
        axis         TEXT NOT NULL,  -- '' = no axis
        kind         TEXT NOT NULL CHECK (kind IN ('spectrum', 'envelope')),
        ts_ms        INTEGER NOT NULL,
        bin_width_hz REAL NOT NULL,
        n_bins       INTEGER NOT NULL,
        data         BLOB NOT NULL  -- msgpack {"amplitudes": float32 LE bytes, "peaks": [...]}
    )
    """,
    "CREATE INDEX spectra_latest ON spectra (sensor_id, axis, kind, ts_ms)",
    "CREATE INDEX spectra_time ON spectra (ts_ms)",
    """
    CREATE TABLE event_log (
        id        INTEGER PRIMARY KEY,
        ts_ms     INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        device_id TEXT,
        sensor_id TEXT,
        message   TEXT NOT NULL,
        data      TEXT  -- JSON object or NULL
    )
    """,
    "CREATE INDEX event_log_time ON event_log (ts_ms)",
    "CREATE INDEX event_log_kind ON event_log (kind, ts_ms)",
    # Row counters kept by the writer in the same transactions as the rows themselves, so
    # `esocore status` never counts a hundred million rows; 'raw_floor_ms' is the oldest raw
    # time still accepted (older raw data was removed by retention and is already in rollups).
    "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
    """
    INSERT INTO store_meta (key, value) VALUES
        ('rows.reading_values', 0), ('rows.rollup_1m', 0), ('rows.rollup_1h', 0),
        ('rows.spectra', 0), ('rows.event_log', 0), ('raw_floor_ms', NULL)
    """,
    f"""
    CREATE VIEW readings AS
    SELECT {_ISO.format(col="r.ts_ms")} AS timestamp,
           s.device_id AS device_id, s.sensor_id AS sensor_id, s.metric AS metric,
           NULLIF(s.axis, '') AS axis, r.value AS value, s.unit AS unit
    FROM reading_values AS r JOIN series AS s ON s.id = r.series_id
    """,
    _ROLLUP_VIEW.format(view="rollups_1m", table="rollup_1m", iso=_ISO.format(col="r.ts_ms")),
    _ROLLUP_VIEW.format(view="rollups_1h", table="rollup_1h", iso=_ISO.format(col="r.ts_ms")),
    f"""
    CREATE VIEW events AS
    SELECT {_ISO.format(col="ts_ms")} AS timestamp, kind, device_id, sensor_id, message, data
    FROM event_log
    """,
]

Migration = list[str] | Callable[[sqlite3.Connection], None]

#: MIGRATIONS[i] upgrades version i to i + 1. Append only.
MIGRATIONS: list[Migration] = [_V1]
SCHEMA_VERSION = len(MIGRATIONS)


def describe(path: Path, exc: BaseException) -> StoreError:
    """Turn an sqlite3 exception into a store error that names the file and says what to do."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and (
        "malformed" in text or "not a database" in text or "corrupt" in text
    ):
        return StoreCorruptError(
            f"{path}: the database file is damaged or is not a database ({text}); "
            "move it aside to start a new one, or restore a snapshot"
        )
    return StoreError(f"{path}: {text}")


def connect_writer(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open (creating if needed) the database for the single writer and migrate it."""
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
    except sqlite3.Error as exc:
        raise describe(path, exc) from exc
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        _check_identity(conn, path)
        # Only effective before the first table exists, i.e. on a new file.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{path}: could not switch to WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA journal_size_limit = 67108864")  # truncate a WAL grown past 64 MB
        migrate(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise describe(path, exc) from exc
    except StoreError:
        conn.close()
        raise
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: it cannot write even by mistake, and never blocks the writer."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, cached_statements=600
        )
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA query_only = 1")
    except sqlite3.Error as exc:
        raise describe(path, exc) from exc
    return conn


def check_readable_version(conn: sqlite3.Connection, path: Path) -> int:
    """For read-only opens: the file must be ours and at exactly this software's version."""
    try:
        _check_identity(conn, path, allow_empty=False)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise describe(path, exc) from exc
    if version > SCHEMA_VERSION:
        raise _future(path, version)
    if version < SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path}: schema version {version} is older than this software's "
            f"{SCHEMA_VERSION}; start the device (esocore run) once to upgrade it"
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply every pending migration in order; refuse a database from a newer release."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise _future(path, version)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        step = MIGRATIONS[target - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another opener may have migrated meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                conn.execute("COMMIT")
                continue
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
            if target == 1:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _future(path: Path, version: int) -> StoreVersionError:
    return StoreVersionError(
        f"{path}: schema version {version} was written by a newer EsoCore Edge (this one "
        f"knows up to version {SCHEMA_VERSION}); upgrade the software, or use another "
        "--data-dir"
    )


def _check_identity(conn: sqlite3.Connection, path: Path, *, allow_empty: bool = True) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return
    n_objects = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    if app_id == 0 and n_objects == 0 and allow_empty:
        return
    raise StoreCorruptError(
        f"{path}: this SQLite file is not an EsoCore database (application_id {app_id:#x}, "
        f"{n_objects} schema objects); point --data-dir at another directory"
    )
