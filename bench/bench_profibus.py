"""PROFIBUS DP benchmark (issue 8): the device's DP slave answering while the plant runs.

    .venv/bin/python bench/bench_profibus.py [--duration 5] [--samples 3000]
        [--json bench/results/profibus.json]

`esocore run` serves the default simulated plant with the DP slave on one end of a socat
pseudo-terminal pair (station 8, slave baud setting 1.5 Mbit/s so the min TSDR hold-off,
11 bit times, is negligible and what is measured is the software path). On the other end:

1. pyprofibus (DPM1, test-only peer) parameterises and configures the slave and runs
   Data_Exchange back to back for `--duration` seconds: cycles per second.
2. A probe on the same line (the master's address, frames made by pyprofibus's telegram
   classes, FCB toggled) sends one Data_Exchange request at a time and times from the end of
   the write to the first byte of the answer becoming readable: p50 / p99 / max.

/api/v1/device/health before and after says whether acquisition overflowed or missed deadlines
meanwhile. From p99 follows which baud rates the answer fits (in bit times, against the max
TSDR the GSD declares and against the 60 bit times ASIC slaves declare).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from harness import ESOCORE, Process, free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyprofibus.dp import DpTelegram_DataExchange_Req  # noqa: E402
from pyprofibus.fdl import FdlTelegram  # noqa: E402

from runtime.fieldbus.profibus.config import BAUD_RATES  # noqa: E402
from runtime.fieldbus.profibus.gsd import MIN_MAX_TSDR, max_tsdr  # noqa: E402
from tests.integration.profibus_master import MASTER_ADDRESS, Master, write_ini  # noqa: E402

STATION = 8
SLAVE_BAUD = 1500000
MODULES = ["Motor 1 Health", "Motor 2 Health"]
ANSWER_BYTES = 6 + 3 + 32  # SD2 frame around 32 input bytes


def cycles(master: Master, duration: float) -> dict[str, float]:
    """Data_Exchange back to back (the master's state machine spinning, as it would)."""
    if not master.run_until(lambda: master.received is not None, 15.0):
        raise SystemExit("pyprofibus did not reach Data_Exchange:\n" + master.messages.getvalue())
    start_count, start = master.exchanges, time.perf_counter()
    while time.perf_counter() - start < duration:
        master.turn()
    elapsed = time.perf_counter() - start
    done = master.exchanges - start_count
    return {"exchanges": done, "seconds": round(elapsed, 3), "per_s": round(done / elapsed, 1)}


def probe(master: Master, samples: int) -> list[float]:
    """Request end -> first answer byte, one Data_Exchange at a time (seconds)."""
    port = master.dpm.phy._CpPhySerial__serial
    frames = []
    for fcb in (0, FdlTelegram.FC_FCB):
        fdl = DpTelegram_DataExchange_Req(
            da=STATION, sa=MASTER_ADDRESS, du=bytearray(len(MODULES))
        ).toFdlTelegram()
        fdl.fc |= FdlTelegram.FC_FCV | fcb
        frames.append(bytes(fdl.getRawData()))
    fd = port.fileno()
    port.reset_input_buffer()
    times: list[float] = []
    for i in range(samples):
        port.write(frames[i % 2])
        sent = time.perf_counter()
        readable, _, _ = select.select([fd], [], [], 1.0)
        first = time.perf_counter()
        if not readable:
            raise SystemExit(f"no answer to request {i}")
        answer = b""
        deadline = time.monotonic() + 1.0
        while len(answer) < ANSWER_BYTES and time.monotonic() < deadline:
            select.select([fd], [], [], 0.1)
            answer += port.read(ANSWER_BYTES - len(answer))
        if len(answer) != ANSWER_BYTES or answer[0] != 0x68:
            raise SystemExit(f"bad answer to request {i}: {answer.hex()}")
        times.append(first - sent)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def consequence(p99_s: float) -> list[dict[str, object]]:
    rows = []
    for baud in BAUD_RATES:
        bits = p99_s * baud
        rows.append(
            {
                "baud": baud,
                "p99_bit_times": round(bits, 1),
                "declared_max_tsdr": max_tsdr(baud),
                "fits_declared": bits <= max_tsdr(baud),
                "fits_asic_60": bits <= MIN_MAX_TSDR,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="cycles phase, seconds")
    parser.add_argument("--samples", type=int, default=3000, help="timed requests")
    parser.add_argument("--json", default=str(ROOT / "bench/results/profibus.json"))
    args = parser.parse_args()
    if not shutil.which("socat"):
        raise SystemExit("socat (Debian package socat) is needed")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-profibus-") as tmp_name:
        tmp = Path(tmp_name)
        a, b = tmp / "ttyA", tmp / "ttyB"
        socat = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stderr=subprocess.DEVNULL,
        )
        device = None
        try:
            deadline = time.monotonic() + 10
            while not (a.exists() and b.exists()):
                if time.monotonic() > deadline or socat.poll() is not None:
                    raise SystemExit("socat did not start")
                select.select([], [], [], 0.05)
            port = free_port()
            device = Process(
                [
                    str(ESOCORE), "run", "--data-dir", str(tmp / "data"), "--quiet",
                    "--http-host", "127.0.0.1", "--http-port", str(port), "--no-tls",
                    "--modbus-host", "127.0.0.1", "--modbus-port", str(free_port()),
                    "--profibus-port", str(a), "--profibus-baud", str(SLAVE_BAUD),
                ],
                "PROFIBUS DP slave on",
                tmp,
            )  # fmt: skip
            base = f"http://127.0.0.1:{port}/api/v1"
            key = subprocess.run(
                [str(ESOCORE), "keys", "create", "--role", "read-only", "--data-dir",
                 str(tmp / "data"), "--description", "bench_profibus"],
                cwd=tmp, capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]  # fmt: skip
            deadline = time.monotonic() + 60
            while len(requests.get(base + "/telemetry/", headers={"X-API-Key": key}).json()) < 6:
                if time.monotonic() > deadline:
                    raise SystemExit("no telemetry")
                select.select([], [], [], 0.2)
            gsd = tmp / "device.gsd"
            gsd.write_bytes(
                requests.get(base + "/fieldbus/profibus/gsd", headers={"X-API-Key": key}).content
            )
            ini = write_ini(
                tmp / "master.ini", str(b), gsd, address=STATION, modules=MODULES,
                input_size=32, output_size=2, baud=SLAVE_BAUD, watchdog_ms=2000,
            )  # fmt: skip
            before = _health(base, key)
            master = Master(ini)
            try:
                rate = cycles(master, args.duration)
                times = probe(master, args.samples)
            finally:
                master.close()
            after = _health(base, key)
        finally:
            if device is not None:
                device.stop()
            socat.terminate()
            socat.wait(10)
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_before": list(load_before),
            "load_avg_after": list(os.getloadavg()),
        },
        "slave_baud_setting": SLAVE_BAUD,
        "modules": MODULES,
        "data_exchange": rate,
        "response": {
            "samples": len(times),
            "p50_ms": round(p50 * 1000, 3),
            "p99_ms": round(p99 * 1000, 3),
            "max_ms": round(max(times) * 1000, 3),
            "mean_ms": round(statistics.fmean(times) * 1000, 3),
        },
        "acquisition_during": {k: after[k] - before[k] for k in before},
        "baud_rates": consequence(p99),
    }
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


def _health(base: str, key: str) -> dict[str, int]:
    body = requests.get(base + "/device/health", headers={"X-API-Key": key}, timeout=30).json()
    return {
        "fifo_overflows": int(body["scheduler"]["fifo_overflows"]),
        "deadline_misses": int(body["scheduler"]["deadline_misses"]),
    }


if __name__ == "__main__":
    sys.exit(main())
