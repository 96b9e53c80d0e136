"""Schema versioning, refusing what is not ours, the analysts' views and snapshots."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from store_helpers import T0, reading, sql

from runtime.store import (
    DB_FILENAME,
    SCHEMA_VERSION,
    Store,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from runtime.store import schema as schema_module


def test_new_database_is_created_at_the_current_version(tmp_path):
    Store(tmp_path / "data").close()
    path = tmp_path / "data"
    assert sql(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sql(path, "PRAGMA application_id") == [(schema_module.APPLICATION_ID,)]
    assert sql(path, "PRAGMA journal_mode") == [("wal",)]
    assert sql(path, "PRAGMA auto_vacuum") == [(2,)]  # incremental
    names = {n for (n,) in sql(path, "SELECT name FROM sqlite_schema WHERE type = 'view'")}
    assert names == {"readings", "rollups_1m", "rollups_1h", "events"}


def test_migrations_apply_in_order_at_open(tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        store.add_readings([reading(1)])
    applied = []

    def v3(conn):
        applied.append(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute("INSERT INTO extra (note) VALUES ('from v3')")

    v2 = ["CREATE TABLE extra (note TEXT)", "INSERT INTO extra (note) VALUES ('from v2')"]
    monkeypatch.setattr(schema_module, "MIGRATIONS", [*schema_module.MIGRATIONS, v2, v3])
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    with Store(tmp_path) as store:
        assert store.count_readings() == 1  # data kept across the upgrade
    assert applied == [SCHEMA_VERSION + 1]
    assert sql(tmp_path, "SELECT note FROM extra") == [("from v2",), ("from v3",)]
    assert sql(tmp_path, "PRAGMA user_version") == [(SCHEMA_VERSION + 2,)]


def test_a_failing_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    Store(tmp_path).close()
    broken = ["CREATE TABLE half_done (x)", "THIS IS NOT SQL"]
    monkeypatch.setattr(schema_module, "MIGRATIONS", [*schema_module.MIGRATIONS, broken])
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=DB_FILENAME):
        Store(tmp_path)
    assert sql(tmp_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sql(tmp_path, "SELECT name FROM sqlite_schema WHERE name = 'half_done'") == []
    monkeypatch.undo()
    Store(tmp_path).close()  # the lock was released: the directory is usable again


def test_a_database_from_a_newer_release_is_refused(tmp_path):
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    for readonly in (False, True):
        with pytest.raises(StoreVersionError, match=r"newer EsoCore Edge.*upgrade") as info:
            Store(tmp_path, readonly=readonly)
        assert str(tmp_path / DB_FILENAME) in str(info.value)


def test_garbage_and_foreign_files_are_refused_by_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / DB_FILENAME).write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreCorruptError, match="damaged or is not a database") as info:
        Store(tmp_path / "a")
    assert str(tmp_path / "a" / DB_FILENAME) in str(info.value)

    (tmp_path / "b").mkdir()
    foreign = sqlite3.connect(tmp_path / "b" / DB_FILENAME)
    foreign.execute("CREATE TABLE customers (name TEXT)")
    foreign.commit()
    foreign.close()
    with pytest.raises(StoreCorruptError, match="not an EsoCore database"):
        Store(tmp_path / "b")
    assert sql(tmp_path / "b", "SELECT name FROM sqlite_schema") == [("customers",)]  # untouched


def test_damaged_pages_give_a_clear_error(tmp_path):
    with Store(tmp_path) as store:
        store.add_readings(reading(i) for i in range(20_000))
    path = tmp_path / DB_FILENAME
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # wreck every b-tree page header
        data[offset : offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match=DB_FILENAME), Store(tmp_path, readonly=True) as s:
        s.query_readings(None, None)


def test_views_are_queryable_read_only_while_the_device_writes(tmp_path):
    with Store(tmp_path, flush_interval=60) as store:
        store.add_readings([reading(0.25, axis="x", value=1.5), reading(61, value=2.5)])
        store.log_event("sensor_fault", T0, "no answer", "motor-1", "s1", {"errno": 5})
        store.add_spectrum("s1", "x", T0, "spectrum", 1.0, np.zeros(4), [])
        store.flush()
        uri = f"file:{tmp_path / DB_FILENAME}?mode=ro"
        conn = sqlite3.connect(uri, uri=True)
        try:
            cur = conn.execute("SELECT * FROM readings ORDER BY timestamp")
            assert [d[0] for d in cur.description] == [
                "timestamp",
                "device_id",
                "sensor_id",
                "metric",
                "axis",
                "value",
                "unit",
            ]
            assert cur.fetchall() == [
                ("2023-11-14T22:13:20.250Z", "motor-1", "s1", "vibration_rms", "x", 1.5, "mm/s"),
                ("2023-11-14T22:14:21.000Z", "motor-1", "s1", "vibration_rms", None, 2.5, "mm/s"),
            ]
            cur = conn.execute("SELECT * FROM rollups_1m ORDER BY timestamp, axis")
            assert [d[0] for d in cur.description] == [
                "timestamp",
                "device_id",
                "sensor_id",
                "metric",
                "axis",
                "min",
                "mean",
                "max",
                "count",
                "unit",
            ]
            assert cur.fetchall()[0] == (
                "2023-11-14T22:13:00.000Z",
                "motor-1",
                "s1",
                "vibration_rms",
                "x",
                1.5,
                1.5,
                1.5,
                1,
                "mm/s",
            )
            assert conn.execute("SELECT count(*) FROM rollups_1h").fetchone() == (2,)
            assert conn.execute(
                "SELECT timestamp, kind, sensor_id, message, json_extract(data, '$.errno') "
                "FROM events"
            ).fetchall() == [("2023-11-14T22:13:20.000Z", "sensor_fault", "s1", "no answer", 5)]
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                conn.execute("DELETE FROM reading_values")
            # the writer is not blocked by the open reader
            store.add_readings([reading(200)])
            store.flush()
            assert conn.execute("SELECT count(*) FROM readings").fetchone() == (3,)
        finally:
            conn.close()


def test_snapshot_is_consistent_and_self_contained(tmp_path):
    with Store(tmp_path / "live", flush_interval=0.01) as store:
        store.add_readings(reading(i, axis=a) for i in range(30_000) for a in (None, "x"))
        store.log_event("boot", T0, "hello")
        store.flush()
        store.add_readings(reading(i) for i in range(30_000, 31_000))  # still writing
        (tmp_path / "copy").mkdir()
        dest = store.snapshot(tmp_path / "copy" / "snap.db")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["snap.db"]
    conn = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        raw = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        assert 60_000 <= raw <= 61_000
        # one consistent moment: counters, rollups and raw rows agree
        assert conn.execute("SELECT sum(count) FROM rollups_1m").fetchone()[0] == raw
        assert conn.execute(
            "SELECT value FROM store_meta WHERE key = 'rows.reading_values'"
        ).fetchone() == (raw,)
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
    finally:
        conn.close()
