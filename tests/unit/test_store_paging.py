"""Keyset paging: a long history walked page by page has no gaps and no repeats."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from store_helpers import T0, key

from runtime.readings import Reading
from runtime.store import Store

SERIES = [
    ("motor-1", "m1-accel", "vibration_rms", None),
    ("motor-1", "m1-accel", "vibration_rms", "x"),
    ("motor-1", "m1-accel", "vibration_rms", "y"),
    ("motor-1", "m1-temp", "temperature", None),
    ("pump-2", "p2-accel", "vibration_rms", None),
]


def _history(n_per_series: int, seed: int) -> list[Reading]:
    """Irregular times, shared timestamps across series (ties), 10k rows per series."""
    rng = np.random.default_rng(seed)
    out = []
    for device, sensor, metric, axis in SERIES:
        steps = rng.choice([0.5, 1.0, 1.0, 2.0], n_per_series)  # ms-aligned, so ties happen
        ts = T0 + np.cumsum(steps)
        out += [
            Reading(device, sensor, metric, axis, float(v), "mm/s", float(t))
            for t, v in zip(ts, rng.normal(size=n_per_series), strict=True)
        ]
    return out


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    path = tmp_path_factory.mktemp("paging")
    history = _history(10_000, seed=7)
    with Store(path, flush_interval=60, batch_size=20_000) as store:
        store.add_readings(history)
        store.flush()
    return path, history


def _walk(store, limit, start=None, end=None, **query):
    rows, cursor, pages = [], None, 0
    while True:
        page = store.query_readings(start, end, limit=limit, cursor=cursor, **query)
        rows += page.rows
        pages += 1
        assert len(page.rows) <= limit
        if page.next_cursor is None:
            return rows, pages
        assert len(page.rows) == limit
        cursor = page.next_cursor


def _assert_ordered_unique(rows):
    keys = [key(r) for r in rows]
    assert len(set(keys)) == len(keys), "a row was returned twice"
    times = [r.ts for r in rows]
    assert times == sorted(times), "rows out of time order"


def test_walk_50k_rows_across_series_no_gaps_no_repeats(filled):
    path, history = filled
    with Store(path, readonly=True) as store:
        rows, pages = _walk(store, 997)
        _assert_ordered_unique(rows)
        assert {key(r) for r in rows} == {
            (r.ts, r.device_id, r.sensor_id, r.metric, r.axis, r.unit) for r in history
        }
        assert pages == -(-len(history) // 997)
        # The same walk in one stream, and the same order as the pages.
        streamed = list(store.iter_readings(None, None, chunk_size=4096))
        assert streamed == rows


def test_column_chunks_carry_the_same_rows(filled):
    path, _ = filled
    with Store(path, readonly=True) as store:
        for resolution in ("raw", "1m"):
            rows = list(store.iter_readings(None, None, resolution=resolution, axes=["x", None]))
            chunks = list(
                store.iter_reading_columns(
                    None, None, resolution=resolution, axes=["x", None], chunk_size=7777
                )
            )
            assert sum(len(c) for c in chunks) == len(rows)
            rebuilt = [
                (float(t), *c.series[int(sid)], float(v), float(lo), float(hi), int(n))
                for c in chunks
                for t, sid, v, lo, hi, n in zip(
                    c.ts, c.series_id, c.value, c.min, c.max, c.count, strict=True
                )
            ]
            assert rebuilt == [tuple(r) for r in rows]


def test_walk_with_filters_and_range(filled):
    path, history = filled
    start, end = T0 + 1000, T0 + 6000.5
    want = {
        (r.ts, r.device_id, r.sensor_id, r.metric, r.axis, r.unit)
        for r in history
        if r.device_id == "motor-1" and r.axis in (None, "y") and start <= r.ts < end
    }
    with Store(path, readonly=True) as store:
        rows, _ = _walk(store, 500, start=start, end=end, device_ids=["motor-1"], axes=[None, "y"])
        _assert_ordered_unique(rows)
        assert {key(r) for r in rows} == want
        assert store.count_readings(start, end, device_ids=["motor-1"], axes=[None, "y"]) == len(
            want
        )


def test_many_series_merge_in_groups(filled):
    """Above SQLite's compound-select limit, groups of series are merged in Python."""
    path, history = filled
    with Store(path, readonly=True) as store:
        store._reader._group = 2  # force 3 groups for 5 series
        rows, _ = _walk(store, 1234)
        _assert_ordered_unique(rows)
        assert len(rows) == len(history)


def test_rollup_pages_walk_every_bucket(filled):
    path, history = filled
    with Store(path, readonly=True) as store:
        rows, _ = _walk(store, 50, resolution="1m")
        _assert_ordered_unique(rows)
        assert sum(r.count for r in rows) == len(history)
        assert len(rows) == store.count_readings(resolution="1m")


def test_walk_while_the_writer_inserts(tmp_path):
    """Rows stored before the walk all come back exactly once, whatever is added meanwhile,
    before, inside and after the walked range, in old and new series."""
    history = _history(10_000, seed=11)
    stop, inserting = threading.Event(), threading.Event()
    with Store(tmp_path, flush_interval=0.01, batch_size=2000) as store:
        store.add_readings(history)
        store.flush()
        rng = np.random.default_rng(3)

        def insert():
            i = 0
            while not stop.is_set() and i < 2000:
                ts = T0 + rng.uniform(-100, 30_000, 50)
                store.add_readings(
                    Reading("motor-1", "m1-accel", "vibration_rms", ax, 1.0, "mm/s", float(t))
                    for t in ts
                    for ax in (None, "z")
                )
                if i % 10 == 0:
                    store.flush()
                    inserting.set()
                i += 1

        writer = threading.Thread(target=insert)
        writer.start()
        try:
            assert inserting.wait(10)
            rows, _ = _walk(store, 1000)
        finally:
            stop.set()
            writer.join()
        _assert_ordered_unique(rows)
        before = {(r.ts, r.device_id, r.sensor_id, r.metric, r.axis, r.unit) for r in history}
        assert before <= {key(r) for r in rows}
        assert store.stats()["committed_rows"] > len(history)  # the writer did insert meanwhile
