"""Retention by age and by size, in small steps, relative to the caller's clock."""

from __future__ import annotations

import numpy as np
import pytest
from store_helpers import T0, sql

from runtime.readings import Reading
from runtime.store import RetentionPolicy, Store
from runtime.store import writer as writer_module

DAY = 86_400.0
TABLES = ("reading_values", "rollup_1m", "rollup_1h", "spectra", "event_log")


def _fill(store, days: float, step: float, sensors=("s1", "s2")) -> int:
    """Readings every `step` seconds over `days` ending at T0, plus a spectrum and an event
    every hour. Returns the number of readings."""
    ts = np.arange(T0 - days * DAY, T0, step)
    for sensor in sensors:
        store.add_readings(
            Reading("motor-1", sensor, "vibration_rms", None, float(i % 7), "mm/s", float(t))
            for i, t in enumerate(ts)
        )
    for t in np.arange(T0 - days * DAY, T0, 3600.0):
        store.add_spectrum("s1", "x", float(t), "spectrum", 1.0, np.ones(256, np.float32), [])
        store.log_event("heartbeat", float(t), "tick")
    store.flush()
    return ts.size * len(sensors)


def _counters_match(path) -> None:
    counters = dict(sql(path, "SELECT key, value FROM store_meta WHERE key LIKE 'rows.%'"))
    for table in TABLES:
        assert counters[f"rows.{table}"] == sql(path, f"SELECT count(*) FROM {table}")[0][0]


def _oldest(path, table: str) -> float:
    return sql(path, f"SELECT min(ts_ms) FROM {table}")[0][0] / 1000


def test_age_retention_per_table_rollups_outlive_raw(tmp_path):
    policy = RetentionPolicy(
        raw_days=1,
        rollup_1m_days=2,
        rollup_1h_days=3,
        spectra_days=0.5,
        events_days=1.5,
        max_size_mb=None,
    )
    with Store(tmp_path, retention=policy, flush_interval=60, retention_chunk=997) as store:
        total = _fill(store, days=4, step=60.0)
        before_1h = store.count_readings(resolution="1h")
        report = store.apply_retention(T0).result(timeout=30)
        assert report.complete and not report.size_limited
        assert _oldest(tmp_path, "reading_values") >= T0 - 1 * DAY
        assert _oldest(tmp_path, "reading_values") < T0 - 1 * DAY + 60
        # a bucket goes once all of it is older than the cutoff
        assert T0 - 2 * DAY - 60 < _oldest(tmp_path, "rollup_1m") <= T0 - 2 * DAY
        assert T0 - 3 * DAY - 3600 < _oldest(tmp_path, "rollup_1h") <= T0 - 3 * DAY
        assert _oldest(tmp_path, "spectra") >= T0 - 0.5 * DAY
        assert _oldest(tmp_path, "event_log") >= T0 - 1.5 * DAY
        # Rollups still cover the time whose raw readings are gone.
        assert store.count_readings(end=T0 - 1.5 * DAY, resolution="1m") > 0
        assert store.count_readings(end=T0 - 1.5 * DAY) == 0
        assert report.deleted["reading_values"] == total - store.count_readings()
        assert 0 < store.count_readings(resolution="1h") < before_1h
        _counters_match(tmp_path)
        # Nothing left to do a second time; the ages follow the caller's clock, not the wall's.
        again = store.apply_retention(T0).result(timeout=30)
        assert sum(again.deleted.values()) == 0
        later = store.apply_retention(T0 + 10 * DAY).result(timeout=30)
        assert store.count_readings() == 0 and store.count_readings(resolution="1h") == 0
        assert later.deleted["event_log"] > 0
        _counters_match(tmp_path)


def test_readings_older_than_deleted_raw_are_refused(tmp_path):
    with Store(tmp_path, retention=RetentionPolicy(raw_days=1, max_size_mb=None)) as store:
        _fill(store, days=2, step=600.0, sensors=("s1",))
        store.apply_retention(T0).result(timeout=30)
        counted = sum(r.count for r in store.iter_readings(None, None, resolution="1h"))
        late = Reading("motor-1", "s1", "vibration_rms", None, 1.0, "mm/s", T0 - 1.5 * DAY)
        fresh = Reading("motor-1", "s1", "vibration_rms", None, 1.0, "mm/s", T0 + 1)
        store.add_readings([late, fresh])
        store.flush()
        assert store.stats()["late_rows"] == 1
        assert store.count_readings(T0 - 2 * DAY, T0 - DAY) == 0
        assert store.count_readings(T0, T0 + 2) == 1
        # the late reading's hour was not counted a second time
        assert sum(r.count for r in store.iter_readings(None, None, resolution="1h")) == counted + 1


def test_retention_deletes_in_chunks_while_the_writer_keeps_committing(tmp_path, monkeypatch):
    """A long clean-up is many short transactions; readings queued meanwhile are committed
    between two of them, not after the whole run."""
    seen = []
    original = writer_module.retention.run

    def observed_run(conn, policy, now, report, chunk):
        steps = original(conn, policy, now, report, chunk)
        for n, _ in enumerate(steps):
            if n == 0:  # running in the writer thread: queue fresh data mid-run
                store.add_readings([Reading("m", "new", "temperature", None, 1.0, "°C", T0)])
            seen.append((sum(report.deleted.values()), store.stats()["committed_rows"]))
            yield

    monkeypatch.setattr(writer_module.retention, "run", observed_run)
    policy = RetentionPolicy(raw_days=1, max_size_mb=None)
    with Store(tmp_path, retention=policy, flush_interval=1e-9, retention_chunk=500) as store:
        total = _fill(store, days=3, step=60.0, sensors=("s1",))
        committed = store.stats()["committed_rows"]
        report = store.apply_retention(T0).result(timeout=30)
        deleted = [d for d, _ in seen]
        assert len(seen) >= 5
        assert all(b - a <= 500 for a, b in zip([0, *deleted], deleted, strict=False))
        assert seen[1][1] == committed + 1  # committed right after the first step
        assert report.complete
        assert report.deleted["reading_values"] == total - 1440  # all but the last day


def test_size_limit_removes_oldest_raw_first_and_keeps_rollups(tmp_path):
    with Store(tmp_path, flush_interval=60, retention_chunk=2000) as store:
        _fill(store, days=3, step=5.0, sensors=("s1", "s2", "s3"))  # ~155k readings
        used = store.summary().used_bytes
        rollups = store.count_readings(resolution="1m")
        spectra = sql(tmp_path, "SELECT count(*) FROM spectra")[0][0]
        limit_mb = used * 0.6 / 2**20
        store.retention = RetentionPolicy(
            raw_days=None,
            rollup_1m_days=None,
            rollup_1h_days=None,
            spectra_days=None,
            events_days=None,
            max_size_mb=limit_mb,
        )
        report = store.apply_retention(T0).result(timeout=30)
        assert report.size_limited and not report.over_limit
        assert report.used_bytes_after <= limit_mb * 2**20
        assert store.summary().used_bytes <= limit_mb * 2**20
        # The oldest raw went; the newest raw, every rollup and every spectrum stayed.
        assert _oldest(tmp_path, "reading_values") > T0 - 2.5 * DAY
        assert store.count_readings(T0 - 60, T0) == 3 * 12
        assert store.count_readings(resolution="1m") == rollups
        assert sql(tmp_path, "SELECT count(*) FROM spectra")[0][0] == spectra
        store.flush()
        kinds = [e.kind for e in store.events(kinds=["store_retention"]).rows]
        assert kinds == ["store_retention"]
        _counters_match(tmp_path)


def test_size_limit_then_spectra_then_minute_rollups(tmp_path):
    with Store(tmp_path, flush_interval=60, retention_chunk=5000) as store:
        _fill(store, days=3, step=5.0, sensors=("s1", "s2", "s3"))
        hours = store.count_readings(resolution="1h")
        store.retention = RetentionPolicy(
            raw_days=None,
            rollup_1m_days=None,
            rollup_1h_days=None,
            spectra_days=None,
            events_days=None,
            max_size_mb=0.05,
        )
        report = store.apply_retention(T0).result(timeout=30)
        assert report.size_limited
        assert store.count_readings() == 0
        assert sql(tmp_path, "SELECT count(*) FROM spectra") == [(0,)]
        assert report.deleted["rollup_1m"] > 0
        assert store.count_readings(resolution="1h") == hours  # the last resort is never touched
        assert report.over_limit  # 1h rollups and events alone exceed 50 kB: say so
        store.flush()  # the retention's own event is written after the report (as above)
        _counters_match(tmp_path)
        # After a big clean-up the file shrinks (auto_vacuum=INCREMENTAL), no VACUUM needed.
        assert sql(tmp_path, "PRAGMA freelist_count")[0][0] < 300


def test_policy_validation():
    with pytest.raises(ValueError, match="raw_days <= rollup_1m_days"):
        RetentionPolicy(raw_days=10, rollup_1m_days=5)
    with pytest.raises(ValueError, match="max_size_mb"):
        RetentionPolicy(max_size_mb=0)
    assert RetentionPolicy(raw_days=None, rollup_1m_days=None, rollup_1h_days=None)
