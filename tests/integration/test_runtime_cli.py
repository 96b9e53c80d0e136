"""The device's command line as a user runs it: real processes, real signals, real files."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ESOCORE = Path(sys.executable).parent / "esocore"
ROOT = Path(__file__).resolve().parents[2]


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ESOCORE), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(stream, predicate, timeout: float) -> list[str]:
    """Lines (or progress chunks) from `stream` until one satisfies `predicate`."""
    seen: list[str] = []
    done = threading.Event()

    def pump() -> None:
        buffer = ""
        while not done.is_set():
            ch = stream.read(1)
            if not ch:
                break
            if ch in "\r\n":
                seen.append(buffer)
                if predicate(buffer):
                    done.set()
                buffer = ""
            else:
                buffer += ch

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    assert done.wait(timeout), f"not seen within {timeout} s; got {seen[-5:]}"
    return seen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(path: Path, **device: object) -> Path:
    text = (ROOT / "runtime/config/defaults/sim.toml").read_text()
    for key, value in device.items():
        text = text.replace("[device]\n", f"[device]\n{key} = {json.dumps(value)}\n", 1)
    path.write_text(text)
    return path


def test_run_serves_until_sigterm_then_flushes(tmp_path):
    config = write_config(tmp_path / "device.toml", status_interval_s=1.0)
    proc = start(
        "run",
        "--config",
        str(config),
        "--data-dir",
        "d",
        "--http-host",
        "127.0.0.1",
        "--http-port",
        str(free_port()),
        "--modbus-host",
        "127.0.0.1",
        "--modbus-port",
        str(free_port()),
        cwd=tmp_path,
    )
    try:
        lines = read_until(proc.stdout, lambda line: "motor-1" in line and "mm/s" in line, 60)
        status = next(line for line in lines if "mm/s" in line)
        assert "motor-2" in status and "°C" in status and " A " in status
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "store flushed" in out
    report = json.loads(
        subprocess.run(
            [str(ESOCORE), "status", "--data-dir", "d", "--json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert report["machines"] == ["motor-1", "motor-2"]
    assert len(report["sensors"]) == 6
    assert report["recent_events"][0]["kind"] == "shutdown"
    db = sqlite3.connect(tmp_path / "d" / "esocore.db")
    try:
        kinds = [k for (k,) in db.execute("SELECT kind FROM events ORDER BY timestamp")]
    finally:
        db.close()
    assert kinds[0] == "boot" and kinds[-1] == "shutdown"
    metrics = {(v["sensor_id"], v["metric"]) for v in report["last_values"]}
    assert ("motor-1-accel", "vibration_rms") in metrics
    assert ("motor-2-temp", "temperature") in metrics


def test_invalid_config_is_refused_with_every_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[analysis]\nframe_length = 1000\n[[machines]]\nid = "Motor 1"\nname = "x"\n'
        '  [[machines.sensors]]\n  sensor = "motor-9-accel"\n'
        '[[machines]]\nid = "motor-2"\nname = "y"\nbogus = true\n'
    )
    proc = subprocess.run(
        [str(ESOCORE), "run", "--config", str(bad), "--data-dir", "d"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for problem in (
        "analysis.frame_length: must be a power of two",
        "machines[0].id: 'Motor 1' is not a valid id",
        "machines[1].bogus: unknown setting",
    ):
        assert problem in proc.stderr, proc.stderr
    assert not (tmp_path / "d").exists(), "a refused config must not start anything"


def test_config_naming_sensors_the_board_lacks_is_refused(tmp_path):
    config = write_config(tmp_path / "device.toml")
    text = config.read_text().replace('sensor = "motor-2-temp"', 'sensor = "motor-7-temp"')
    config.write_text(text)
    proc = subprocess.run(
        [str(ESOCORE), "sim", "--duration", "5s", "--config", str(config), "--data-dir", "d"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "machines[1].sensors[1].sensor: no sensor 'motor-7-temp' on this board" in proc.stderr


def test_sim_fault_option_and_bad_fault_specs(tmp_path):
    proc = subprocess.run(
        [
            str(ESOCORE),
            "sim",
            "--duration",
            "30s",
            "--quiet",
            "--data-dir",
            "d",
            "--fault",
            "motor-1:imbalance:0.9@10s",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "simulated 30s" in proc.stdout
    db = sqlite3.connect(tmp_path / "d" / "esocore.db")
    values = db.execute(
        "SELECT ts_ms, value FROM reading_values JOIN series ON series.id = series_id "
        "WHERE sensor_id='motor-1-accel' AND metric='vibration_rms' AND axis='' ORDER BY ts_ms"
    ).fetchall()
    db.close()
    first = values[0][0]
    early = [v for t, v in values if t - first < 8000]
    late = [v for t, v in values if t - first > 12000]
    assert min(late) > 3 * max(early)
    for spec, words in (
        ("motor-1:imbalance", "expected MACHINE:KIND:SEVERITY"),
        ("motor-1:imbalance:2", "severity must be from 0 to 1"),
        ("motor-9:imbalance:0.5", "no machine or sensor 'motor-9'"),
        ("motor-1:melting:0.5", "unknown fault 'melting'"),
        ("motor-1:imbalance:0.5@soon", "not a duration"),
    ):
        bad = subprocess.run(
            [str(ESOCORE), "sim", "--duration", "5s", "--data-dir", "e", "--fault", spec],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode == 2, (spec, bad.stderr)
        assert words in bad.stderr, (spec, bad.stderr)
        assert "Traceback" not in bad.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_kill_9_during_heavy_writing_leaves_a_consistent_database(tmp_path):
    proc = start("sim", "--duration", "2h", "--data-dir", "d", cwd=tmp_path)
    try:
        # Progress reaches 5 % = 6 virtual minutes: the writer has committed many batches.
        read_until(proc.stderr, lambda chunk: " 5.0%" in chunk or " 5.8%" in chunk, 120)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    db = sqlite3.connect(tmp_path / "d" / "esocore.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_series = db.execute(
            "SELECT series_id, count(*), min(ts_ms), max(ts_ms) FROM reading_values "
            "GROUP BY series_id"
        ).fetchall()
        # Every minute of raw data agrees with its rollup: no half-written batch survived.
        mismatched = db.execute(
            "SELECT count(*) FROM rollup_1m AS r WHERE r.count != (SELECT count(*) FROM "
            "reading_values AS v WHERE v.series_id = r.series_id AND v.ts_ms >= r.ts_ms "
            "AND v.ts_ms < r.ts_ms + 60000)"
        ).fetchone()[0]
    finally:
        db.close()
    assert mismatched == 0
    vibration = [c for sid, c, lo, hi in per_series if c > 250]
    assert vibration, "at least 5 virtual minutes of per-second readings were committed"
