"""Store: what goes in comes out (readings, spectra, events), batching, input checks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from store_helpers import T0, reading, sql

from runtime.readings import Reading
from runtime.store import (
    ALL_AXES,
    SCHEMA_VERSION,
    InvalidCursorError,
    Store,
    StoreClosedError,
    StoreError,
    StoreLockedError,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path, flush_interval=60) as s:
        yield s


def test_readings_round_trip_with_every_field(store):
    given = [
        Reading("motor-1", "motor-1-accel", "vibration_rms", None, 2.5, "mm/s", T0 + 0.125),
        Reading("motor-1", "motor-1-accel", "vibration_rms", "x", 1.25, "mm/s", T0 + 0.125),
        Reading("pump-2", "pump-2-temp", "temperature", None, 41.0, "°C", T0 + 1),
    ]
    assert store.add_readings(given) == 3
    store.flush()
    rows = store.query_readings(None, None).rows
    got = [Reading(r.device_id, r.sensor_id, r.metric, r.axis, r.value, r.unit, r.ts) for r in rows]
    assert got == given
    assert rows[0].timestamp == "2023-11-14T22:13:20.125Z"
    assert (rows[0].min, rows[0].max, rows[0].count) == (2.5, 2.5, 1)


def test_many_small_calls_are_one_batch_after_one_flush(tmp_path):
    with Store(tmp_path, flush_interval=60, batch_size=100_000) as store:
        for i in range(2000):
            store.add_readings([reading(i), reading(i, axis="x")])
        assert store.stats()["commits"] == 0  # nothing due yet: interval long, batch not full
        store.flush()
        assert store.stats()["commits"] == 1
        assert store.count_readings() == 4000
        assert sql(tmp_path, "SELECT count(*) FROM reading_values") == [(4000,)]


def test_batch_size_triggers_a_commit_without_flush(tmp_path):
    with Store(tmp_path, flush_interval=60, batch_size=50) as store:
        for start in (0, 40, 80):
            store.add_readings(reading(i) for i in range(start, start + 40))
        store.flush()
        # 80 rows reached the batch size and were committed on their own; flush() did the rest
        assert store.stats()["commits"] == 2
        assert store.count_readings() == 120


def test_writes_from_many_threads(store):
    def work(k):
        for i in range(200):
            store.add_readings([reading(i, sensor=f"s{k}")])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    assert store.count_readings() == 1600
    assert store.count_readings(sensor_ids=["s3"]) == 200


def test_filters_and_the_axes_sentinel(store):
    store.add_readings(
        reading(i, sensor=s, axis=a, metric=m)
        for i in range(10)
        for s in ("s1", "s2")
        for a in (None, "x", "y")
        for m in ("vibration_rms", "accel_peak")
    )
    store.flush()

    def count(start=None, end=None, **filters):
        return len(store.query_readings(start, end, limit=10_000, **filters).rows)

    assert count() == 120
    assert count(axes=ALL_AXES) == 120
    assert count(axes=[None]) == 40
    assert count(axes=["x", None]) == 80
    assert count(sensor_ids=["s2"], metrics=["accel_peak"], axes=["y"]) == 10
    assert count(device_ids=["nope"]) == 0
    assert count(start=T0 + 2, end=T0 + 5) == 36  # [start, end)
    assert store.count_readings(T0 + 2, T0 + 5, axes=[None]) == 12
    with pytest.raises(TypeError, match="ambiguous"):
        store.query_readings(None, None, axes=None)
    with pytest.raises(TypeError, match="collection"):
        store.query_readings(None, None, sensor_ids="s1")
    with pytest.raises(ValueError, match="resolution"):
        store.query_readings(None, None, resolution="5m")
    with pytest.raises(ValueError, match="limit"):
        store.query_readings(None, None, limit=0)


def test_duplicate_series_and_time_keeps_the_first_value(store):
    store.add_readings([reading(1, value=1.0), reading(1, value=99.0)])
    store.flush()
    store.add_readings([reading(1, value=42.0)])
    store.flush()
    rows = store.query_readings(None, None).rows
    assert [r.value for r in rows] == [1.0]
    assert store.stats()["duplicate_rows"] == 2
    assert store.query_readings(None, None, resolution="1m").rows[0].count == 1


def test_non_finite_values_are_skipped_and_bad_types_refused(store):
    assert store.add_readings([reading(1, value=float("nan")), reading(2, value=np.inf)]) == 0
    assert store.stats()["rejected_rows"] == 2
    bad = Reading("motor-1", 7, "vibration_rms", None, 1.0, "mm/s", T0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sensor_id"):
        store.add_readings([reading(3), bad])
    store.flush()
    assert store.count_readings() == 0  # nothing of the refused call was queued


def test_spectra_latest_per_sensor_axis_kind(store):
    for k, ts in enumerate((T0, T0 + 60, T0 + 30)):  # stored out of time order
        for kind in ("spectrum", "envelope"):
            for axis in ("x", "y"):
                amps = np.full(8, k, dtype=np.float32)
                store.add_spectrum("s1", axis, ts, kind, 0.5, amps, [(np.float32(10.0), k)])
    buffer = np.arange(4, dtype=np.float64)
    store.add_spectrum("s2", None, T0, "spectrum", 2.0, buffer, [])
    buffer[:] = -1  # the caller reuses its buffer: the store copied it
    store.flush()

    latest = store.latest_spectrum("s1", "y", "envelope")
    assert latest is not None and latest.ts == T0 + 60
    assert latest.amplitudes.dtype == np.float32 and np.all(latest.amplitudes == 1)
    assert latest.peaks == ((10.0, 1),)
    np.testing.assert_allclose(latest.frequencies[:3], [0, 0.5, 1.0])
    other = store.latest_spectrum("s2", None, "spectrum")
    assert other is not None and list(other.amplitudes) == [0, 1, 2, 3]
    assert store.latest_spectrum("s1", "z", "spectrum") is None
    every = store.latest_spectra("s1")
    assert [(s.axis, s.kind, s.ts) for s in every] == [
        ("x", "envelope", T0 + 60),
        ("x", "spectrum", T0 + 60),
        ("y", "envelope", T0 + 60),
        ("y", "spectrum", T0 + 60),
    ]
    with pytest.raises(ValueError, match="kind"):
        store.add_spectrum("s1", "x", T0, "cepstrum", 1.0, np.zeros(2), [])  # type: ignore[arg-type]


def test_events_by_time_kind_and_cursor(store):
    kinds = ["boot", "sensor_fault", "fifo_overflow", "config_changed"]
    for i in range(40):
        store.log_event(
            kinds[i % 4], T0 + i // 2, f"event {i}", sensor_id="s1", data={"i": np.int64(i)}
        )
    store.flush()
    page = store.events(limit=15)
    assert len(page.rows) == 15 and page.next_cursor
    walked = list(page.rows)
    while page.next_cursor:
        page = store.events(limit=15, cursor=page.next_cursor)
        walked += page.rows
    assert [e.data["i"] for e in walked] == list(range(40))
    faults = store.events(T0 + 5, T0 + 15, kinds=["sensor_fault"]).rows
    assert [e.message for e in faults] == [f"event {i}" for i in range(13, 30, 4)]
    newest = store.events(limit=3, newest_first=True).rows
    assert [e.message for e in newest] == ["event 39", "event 38", "event 37"]
    assert newest[0].timestamp == "2023-11-14T22:13:39.000Z"
    other = store.events(limit=1).next_cursor
    with pytest.raises(InvalidCursorError):
        store.events(kinds=["boot"], cursor=other)


def test_cursor_from_other_filters_or_garbage_is_refused(store):
    store.add_readings(reading(i) for i in range(10))
    store.flush()
    cursor = store.query_readings(None, None, limit=3).next_cursor
    with pytest.raises(InvalidCursorError, match="different filters"):
        store.query_readings(None, None, limit=3, cursor=cursor, resolution="1m")
    with pytest.raises(InvalidCursorError):
        store.query_readings(None, None, limit=3, cursor="not-a-cursor!")
    with pytest.raises(ValueError):  # InvalidCursorError is a ValueError: a 400 for the API
        store.query_readings(None, None, cursor="e30")


def test_summary_for_status(store):
    store.add_readings(reading(i, axis=a) for i in range(100) for a in (None, "x"))
    store.add_readings([reading(5, sensor="t1", metric="temperature")])
    store.log_event("boot", T0, "started")
    store.flush()
    summary = store.summary()
    assert summary.schema_version == SCHEMA_VERSION
    assert summary.machines == ["motor-1"]
    assert summary.sensors == [("motor-1", "s1"), ("motor-1", "t1")]
    assert summary.metrics == ["temperature", "vibration_rms"]
    assert (summary.first_ts, summary.last_ts) == (T0, T0 + 99)
    assert summary.counts["reading_values"] == 201
    assert summary.counts["event_log"] == 1
    last = {(s.sensor_id, s.metric, s.axis): s.last.value for s in summary.series}
    assert last == {
        ("s1", "vibration_rms", None): 99,
        ("s1", "vibration_rms", "x"): 99,
        ("t1", "temperature", None): 5,
    }
    assert [e.kind for e in summary.recent_events] == ["boot"]
    assert summary.file_bytes > 0 and summary.used_bytes > 0
    assert summary.writer["committed_rows"] == 201


def test_closed_store_refuses_writes_and_close_flushes(tmp_path):
    store = Store(tmp_path, flush_interval=60)
    store.add_readings(reading(i) for i in range(10))
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosedError):
        store.add_readings([reading(11)])
    with Store(tmp_path, readonly=True) as again:
        assert again.count_readings() == 10


def test_one_writer_per_directory_readers_any_time(tmp_path):
    with Store(tmp_path) as writer:
        with pytest.raises(StoreLockedError, match="another EsoCore process"):
            Store(tmp_path)
        writer.add_readings([reading(1)])
        writer.flush()
        with Store(tmp_path, readonly=True) as reader:
            assert reader.count_readings() == 1
            with pytest.raises(StoreError, match="read-only"):
                reader.add_readings([reading(2)])
    Store(tmp_path).close()  # the lock went with the first writer


def test_readonly_open_of_a_missing_database(tmp_path):
    with pytest.raises(StoreError, match="no database"):
        Store(tmp_path / "nowhere", readonly=True)
