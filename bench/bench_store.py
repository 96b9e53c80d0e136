"""Store benchmarks (issue 4): insert rate through the batched writer, a 1000-point history
page out of 1 million stored readings, and streaming 1 million rows with iter_readings (row
objects) and iter_reading_columns (numpy arrays).

    .venv/bin/python -m pytest bench/bench_store.py --benchmark-only \
        --benchmark-columns=min,median,max,rounds

Not collected by the normal test run (bench/ is outside testpaths, the file is not test_*).
"""

from __future__ import annotations

import itertools
import random

import pytest

from runtime.readings import Reading
from runtime.store import Store

T0 = 1_700_000_000.0
N_SERIES = 20  # 5 machines x (overall + x, y, z) vibration_rms
PER_SERIES = 50_000  # 1 million readings, one per second per series
FRAME = 40  # readings per add_readings call: what one analysis frame hands over


def _series():
    for machine in range(5):
        for axis in (None, "x", "y", "z"):
            yield (f"motor-{machine}", f"motor-{machine}-accel", axis)


def _readings(start: float, seconds: int) -> list[Reading]:
    return [
        Reading(device, sensor, "vibration_rms", axis, 1.0 + (i % 97) / 10, "mm/s", start + i)
        for i in range(seconds)
        for device, sensor, axis in _series()
    ]


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    path = tmp_path_factory.mktemp("store-bench")
    with Store(path, batch_size=50_000) as store:
        for chunk in range(0, PER_SERIES, 5_000):
            store.add_readings(_readings(T0 + chunk, 5_000))
        store.flush()
        assert store.count_readings() == N_SERIES * PER_SERIES
    with Store(path, readonly=True) as store:
        yield store


def test_insert_rate(benchmark, tmp_path):
    """100k readings handed over in frames of 40 and committed (add_readings + flush)."""
    n_seconds = 100_000 // N_SERIES
    rounds = itertools.count()
    with Store(tmp_path) as store:

        def setup():
            batch = _readings(T0 + next(rounds) * n_seconds, n_seconds)
            return (batch,), {}

        def insert(batch):
            for i in range(0, len(batch), FRAME):
                store.add_readings(batch[i : i + FRAME])
            store.flush()

        benchmark.pedantic(insert, setup=setup, rounds=5, iterations=1)
        benchmark.extra_info["readings_per_s"] = round(100_000 / benchmark.stats.stats.median)


def test_add_readings_caller_cost(benchmark, tmp_path):
    """What the pipeline pays per frame of 40 readings (queueing only, the writer does the rest)."""
    frames = iter(_readings(T0 + 2 * k, 2) for k in range(100_000))
    with Store(tmp_path) as store:

        def setup():
            return (next(frames),), {}

        benchmark.pedantic(store.add_readings, setup=setup, rounds=2000, iterations=1)


@pytest.mark.parametrize("scope", ["all_series", "one_series"])
def test_history_page_1000_of_1m(benchmark, million, scope):
    rng = random.Random(1)
    filters = {"sensor_ids": ["motor-2-accel"], "axes": [None]} if scope == "one_series" else {}

    def page():
        start = T0 + rng.uniform(0, PER_SERIES - 2_000)
        rows = million.query_readings(start, None, limit=1000, **filters).rows
        assert len(rows) == 1000

    benchmark.pedantic(page, rounds=200, iterations=1, warmup_rounds=5)


def test_history_next_page_by_cursor(benchmark, million):
    cursor = million.query_readings(None, None, limit=1000).next_cursor
    state = {"cursor": cursor}

    def page():
        result = million.query_readings(None, None, limit=1000, cursor=state["cursor"])
        state["cursor"] = result.next_cursor
        assert len(result.rows) == 1000

    benchmark.pedantic(page, rounds=200, iterations=1, warmup_rounds=5)


def test_iter_readings_1m(benchmark, million):
    def stream():
        n = 0
        for _ in million.iter_readings(None, None):
            n += 1
        assert n == N_SERIES * PER_SERIES

    benchmark.pedantic(stream, rounds=3, iterations=1)


def test_iter_reading_columns_1m(benchmark, million):
    def stream():
        n = sum(len(chunk) for chunk in million.iter_reading_columns(None, None))
        assert n == N_SERIES * PER_SERIES

    benchmark.pedantic(stream, rounds=3, iterations=1)
