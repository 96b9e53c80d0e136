"""From fault onset to the webhook at the CMMS, in real time (issue 6).

`esocore run` serves the default simulated plant with one webhook to a receiver in this
process, and a bearing rule on motor-2 without debounce (the built-in one waits 3 s on
purpose). Each run injects an outer-race fault (severity 0.8, no ramp) over the REST API and
times until the `raised` webhook arrives; then the fault is cleared and the alert left to
resolve before the next run. The analysis interval is the shipped 1 s (frames of 16384
samples, 0.61 s): a fault is in the next frame analysed, so detection takes up to one
interval plus the part of the frame that must hold the fault.

    .venv/bin/python bench/bench_alert_latency.py --runs 20 --json bench/results/alert_latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import Device, start_device
from harness import stop_all

from runtime.config import default_config_path, load_config

MACHINE = "motor-2"
TARGET_S = 1.5


class Arrivals:
    """A webhook receiver: the arrival time (monotonic) of every `raised` delivery."""

    def __init__(self) -> None:
        self.raised: list[float] = []
        self.changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-EsoCore-Event") == "raised":
                    with outer.changed:
                        outer.raised.append(arrived)
                        outer.changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/work-orders"

    def wait(self, count: int, timeout: float) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.raised) >= count, timeout):
                raise SystemExit(f"no webhook within {timeout} s")
            return self.raised[count - 1]


def write_config(path: Path, webhook_url: str) -> None:
    config = load_config(default_config_path("sim")).model_dump(mode="json", exclude_none=True)
    config["alerts"]["rules"] = [
        {
            "id": "bench-bpfo",
            "type": "spectral_band",
            "machine": MACHINE,
            "band": "bpfo",
            "alert": 1.5,
            "debounce_s": 0,
        }
    ]
    config["notifications"]["webhooks"] = [
        {
            "id": "cmms",
            "url": webhook_url,
            "severities": ["alert", "critical"],
            "events": ["raised"],
        }
    ]
    path.write_text(tomli_w.dumps(config))


def active_bench_alerts(device: Device) -> list[dict]:
    with device.session() as s:
        alerts = s.get(device.base_url + "/alerts/", timeout=30).json()
    return [a for a in alerts if a["rule_id"] == "bench-bpfo"]


def wait_until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"not within {timeout} s")
        time.sleep(0.2)


def one_run(device: Device, arrivals: Arrivals, number: int) -> float:
    with device.session() as s:
        onset = time.monotonic()
        made = s.post(
            device.base_url + "/sim/faults",
            json={"machine": MACHINE, "kind": "bearing_outer", "severity": 0.8},
            timeout=30,
        )
        made.raise_for_status()
        arrived = arrivals.wait(number, timeout=30)
        s.delete(device.base_url + f"/sim/faults/{made.json()['id']}", timeout=30)
    wait_until(lambda: not active_bench_alerts(device), 60)
    time.sleep(1.5)  # a frame or so of healthy signal before the next onset
    return arrived - onset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    load_before = os.getloadavg()
    arrivals = Arrivals()
    with tempfile.TemporaryDirectory(prefix="bench-alert-latency-") as tmp:
        where = Path(tmp)
        config = where / "device.toml"
        write_config(config, arrivals.url)
        device = start_device(where, where / "data", config, role="read-write")
        try:
            wait_until(lambda: device.health()["sensors"], 60)
            time.sleep(3.0)  # every sensor past its first frames
            latencies = [one_run(device, arrivals, n + 1) for n in range(args.runs)]
        finally:
            stop_all()
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "runs": args.runs,
        "latency_s": latencies,
        "median_s": statistics.median(latencies),
        "worst_s": max(latencies),
        "target_s": TARGET_S,
        "met": max(latencies) < TARGET_S,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    print(
        f"fault onset -> webhook arrival over {args.runs} runs: median "
        f"{result['median_s'] * 1000:.0f} ms, worst {result['worst_s'] * 1000:.0f} ms "
        f"(target < {TARGET_S * 1000:.0f} ms: {'met' if result['met'] else 'MISSED'}); "
        f"load {load_before[0]:.2f} -> {result['load_average_after'][0]:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
