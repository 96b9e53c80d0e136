"""Rollups maintained incrementally by the writer equal a recomputation from the raw values."""

from __future__ import annotations

import numpy as np
import pytest
from store_helpers import T0, sql

from runtime.readings import Reading
from runtime.store import Store


def _expected(ts: np.ndarray, values: np.ndarray, width: int) -> dict[float, tuple]:
    ts = np.round(ts * 1000) / 1000  # stored to the millisecond
    buckets = np.floor(ts / width) * width
    out = {}
    for b in np.unique(buckets):
        v = values[buckets == b]
        out[float(b)] = (v.min(), v.mean(), v.max(), v.size)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_numpy_over_raw_across_bucket_boundaries(tmp_path, seed):
    rng = np.random.default_rng(seed)
    series = [("s1", None), ("s1", "x"), ("s2", None)]
    # ~3 hours with random fractional times: many minute and hour boundaries, some buckets
    # with a single reading, values of both signs and large spread.
    data = {}
    with Store(tmp_path, flush_interval=60, batch_size=700) as store:
        for sensor, axis in series:
            n = int(rng.integers(3000, 6000))
            ts = np.sort(T0 - 1800 + rng.uniform(0, 3 * 3600, n))
            ts = np.unique(np.round(ts * 1000)) / 1000
            values = rng.normal(5, 3, ts.size) * rng.choice([1, 1000], ts.size)
            data[(sensor, axis)] = (ts, values)
        # Interleave series and send in random-sized calls, partly out of time order, with
        # flushes in between, so buckets are merged across many batches.
        pending = [
            Reading("motor-1", sensor, "vibration_rms", axis, float(v), "mm/s", float(t))
            for (sensor, axis), (ts, values) in data.items()
            for t, v in zip(ts, values, strict=True)
        ]
        order = rng.permutation(len(pending))
        pos = 0
        while pos < len(order):
            step = int(rng.integers(1, 900))
            store.add_readings(pending[i] for i in order[pos : pos + step])
            if rng.random() < 0.3:
                store.flush()
            pos += step
        store.flush()

        for resolution, width in (("1m", 60), ("1h", 3600)):
            rows = list(store.iter_readings(None, None, resolution=resolution, chunk_size=333))
            for (sensor, axis), (ts, values) in data.items():
                want = _expected(ts, values, width)
                got = {r.ts: r for r in rows if (r.sensor_id, r.axis) == (sensor, axis)}
                assert sorted(got) == sorted(want)
                for bucket, (lo, mean, hi, n) in want.items():
                    row = got[bucket]
                    assert (row.min, row.max, row.count) == (lo, hi, n)
                    assert row.value == pytest.approx(mean, rel=1e-9, abs=1e-9)
            assert store.count_readings(resolution=resolution) == len(rows)
        # The rollups agree with the raw rows actually stored, through the analysts' views too.
        assert sql(tmp_path, "SELECT sum(count) FROM rollups_1h") == [(len(pending),)]
        assert sql(tmp_path, "SELECT count(*) FROM readings") == [(len(pending),)]


def test_replayed_readings_do_not_count_twice(tmp_path):
    with Store(tmp_path, flush_interval=60) as store:
        batch = [
            Reading("m", "s", "temperature", None, float(i), "°C", T0 + i * 7.5) for i in range(100)
        ]
        store.add_readings(batch)
        store.flush()
        store.add_readings(batch[40:60])  # replay (e.g. a resend after a restart)
        store.add_readings(batch[:5] + batch[:5])
        store.flush()
        rows = store.query_readings(None, None, resolution="1h").rows
        assert sum(r.count for r in rows) == 100
        assert store.stats()["duplicate_rows"] == 30


def test_negative_times_bucket_by_floor(tmp_path):
    with Store(tmp_path) as store:
        store.add_readings(
            [
                Reading("m", "s", "temperature", None, v, "°C", t)
                for t, v in ((-0.5, 1.0), (0.5, 3.0))
            ]
        )
        store.flush()
        rows = store.query_readings(None, None, resolution="1m").rows
        assert [(r.ts, r.count, r.value) for r in rows] == [(-60.0, 1, 1.0), (0.0, 1, 3.0)]
