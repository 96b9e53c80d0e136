"""kill -9 during heavy writing: the database opens, is intact, and holds everything that a
flush() had confirmed before the kill (the documented bound: only the unflushed batch is lost)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runtime.store import DB_FILENAME, Store

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, threading, time
import numpy as np
from runtime.readings import Reading
from runtime.store import Store

data_dir, base = sys.argv[1], float(sys.argv[2])
store = Store(data_dir, flush_interval=0.02, batch_size=3000)
lock = threading.Lock()
queued = 0

def produce():
    global queued
    i = 0
    while True:
        batch = [
            Reading("motor-1", f"s{k}", "vibration_rms", axis, float(i), "mm/s", base + i * 0.001)
            for k in range(4) for axis in (None, "x", "y", "z")
        ]
        with lock:
            store.add_readings(batch)
            queued += len(batch)
        if i % 50 == 0:
            store.add_spectrum("s0", "x", base + i * 0.001, "spectrum", 1.0, np.ones(512), [])
            store.log_event("heartbeat", base + i * 0.001, f"row {i}")
        i += 1
        while store.stats()["queued_rows"] > 20_000:  # keep the queue bounded (back-pressure)
            time.sleep(0.001)

threading.Thread(target=produce, daemon=True).start()
while True:
    with lock:
        n = queued
    store.flush()
    print(n, flush=True)  # every one of these n readings is committed
"""


def _run_child_and_kill(script: Path, data_dir: Path, base: float, flushes: int) -> int:
    """Start the writer, SIGKILL it right after its `flushes`-th confirmed flush (while it
    keeps writing), and return the last count it confirmed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data_dir), str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60, proc.kill)  # bounded even if the child hangs
    watchdog.start()
    last, seen = 0, 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            last = int(line)
            seen += 1
            if seen >= flushes:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        watchdog.cancel()
        proc.kill()
        _, err = proc.communicate(timeout=30)
    assert seen >= flushes, f"child ended early: {err[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    return last


@pytest.mark.slow
def test_kill_9_during_heavy_writing_loses_at_most_the_unflushed_batch(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    data_dir = tmp_path / "data"
    rng = random.Random(20_816)
    confirmed = 0
    for round_ in range(3):  # each round restarts on the database the previous kill left
        confirmed += _run_child_and_kill(
            script, data_dir, 1.7e9 + round_ * 1e6, flushes=rng.randint(3, 25)
        )
        conn = sqlite3.connect(data_dir / DB_FILENAME)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            raw = conn.execute("SELECT count(*) FROM reading_values").fetchone()[0]
            assert raw >= confirmed
            # every transaction is whole: rollups and counters agree with the raw rows
            assert conn.execute("SELECT sum(count) FROM rollup_1m").fetchone()[0] == raw
            assert conn.execute("SELECT sum(count) FROM rollup_1h").fetchone()[0] == raw
            counters = dict(conn.execute("SELECT key, value FROM store_meta"))
            assert counters["rows.reading_values"] == raw
            assert (
                counters["rows.spectra"]
                == conn.execute("SELECT count(*) FROM spectra").fetchone()[0]
            )
        finally:
            conn.close()
    with Store(data_dir) as store:  # the lock died with the process; writing works again
        store.add_readings([])
        assert store.count_readings() >= confirmed
