"""Web UI load and cost: dashboard and machine page in headless Chromium against a real device
(`esocore run`, TLS on loopback), and the device's extra CPU with 5 live dashboards open.

    .venv/bin/python bench/bench_ui.py [--seconds 20] [--rounds 3] [--loads 5]

Per page: DOMContentLoaded (navigation start to the end of the DOMContentLoaded handlers) and
the bytes transferred (the document and every asset, from the Resource Timing transferSize of
a cold load, empty cache), medians over --loads fresh browser contexts. CPU: the device
process's user+system time (/proc) over --seconds with no browser, then as long with 5
dashboards open (each on its own event stream, GET /api/v1/stream/, pushed readings and
health), --rounds times; the extra is the median of the paired differences. Targets: < 1 s,
< 500 KB, < 5 % of a core. Writes bench/results/ui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.integration.browser_ui import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.integration.device_server import ESOCORE, start_device  # noqa: E402

USER, PASSWORD = "bench", "bench-password-1"
MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return {dcl_ms: nav.domContentLoadedEventEnd - nav.startTime,
          bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
          resources: res.length};
}"""
# Counts changes of the first tile's vibration timestamp (one per pushed reading).
COUNT_UPDATES = """() => {
  window.__updates = 0;
  const span = document.querySelector('.tile [data-metric="vibration_rms"]');
  new MutationObserver(() => { window.__updates += 1; })
    .observe(span, {attributes: true, attributeFilter: ['data-ts']});
}"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_share(pid: int, seconds: float) -> float:
    start, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start) / (time.monotonic() - t0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="per window")
    parser.add_argument("--rounds", type=int, default=3, help="idle/busy window pairs")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        device = start_device(Path(tmp))
        try:
            subprocess.run(
                [
                    *(str(ESOCORE), "admin", "set-password", "--user", USER, "--role", "viewer"),
                    *("--password-stdin", "--data-dir", str(device.data_dir)),
                ],
                input=PASSWORD + "\n",
                text=True,
                check=True,
                capture_output=True,
            )
            result = run(device, args)
        finally:
            device.stop()
    out = ROOT / "bench" / "results" / "ui.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def run(device, args) -> dict:
    base = f"https://localhost:{device.port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        login = browser.new_context(ignore_https_errors=True, base_url=base)
        answer = login.request.post(
            "/api/v1/session/login", data={"username": USER, "password": PASSWORD}
        )
        assert answer.ok, answer.text()
        state = login.storage_state()
        login.close()

        pages = {}
        for name, path in [("dashboard", "/"), ("machine", "/machines/motor-1")]:
            samples = []
            for _ in range(args.loads):
                context = browser.new_context(
                    ignore_https_errors=True, base_url=base, storage_state=state
                )
                page = context.new_page()
                page.goto(path, wait_until="load")
                page.wait_for_timeout(300)
                samples.append(page.evaluate(MEASURE))
                context.close()
            pages[name] = {
                "path": path,
                "dom_content_loaded_ms": round(statistics.median(s["dcl_ms"] for s in samples), 1),
                "dom_content_loaded_ms_max": round(max(s["dcl_ms"] for s in samples), 1),
                "transferred_bytes": int(statistics.median(s["bytes"] for s in samples)),
                "resources": samples[0]["resources"],
            }

        # Idle and busy windows alternate, so slow drifts of the shared machine hit both;
        # the extra CPU is the median of the paired differences.
        rounds = []
        for _ in range(args.rounds):
            idle = cpu_share(device.process.pid, args.seconds)
            contexts = [_open_dashboard(browser, base, state) for _ in range(5)]
            updates_before = [_updates(c.pages[0]) for c in contexts]
            t0 = time.monotonic()
            busy = cpu_share(device.process.pid, args.seconds)
            elapsed = time.monotonic() - t0
            updates = [
                (_updates(c.pages[0]) - n) / elapsed
                for c, n in zip(contexts, updates_before, strict=True)
            ]
            for context in contexts:
                context.close()
            rounds.append({"idle": idle, "busy": busy, "updates_per_s": updates})
        browser.close()
    return {
        "benchmark": "bench/bench_ui.py",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}",
        "note": "loopback, TLS, cold loads (empty cache), medians over fresh contexts; CPU of "
        "the device process from /proc over the window; the machine is shared, so CPU "
        "figures carry the other users' noise",
        "pages": pages,
        "cpu": {
            "window_s": args.seconds,
            "rounds": len(rounds),
            "device_idle_core_share": [round(r["idle"], 4) for r in rounds],
            "device_with_5_dashboards_core_share": [round(r["busy"], 4) for r in rounds],
            "extra_for_5_dashboards_percent_of_core": round(
                statistics.median((r["busy"] - r["idle"]) * 100 for r in rounds), 2
            ),
            "dashboard_updates_per_s_each": [
                round(statistics.median(u), 2)
                for u in zip(*(r["updates_per_s"] for r in rounds), strict=True)
            ],
        },
        "targets": {"load_ms": 1000, "bytes": 500_000, "extra_cpu_percent": 5.0},
    }


def _open_dashboard(browser, base: str, state: dict):
    context = browser.new_context(ignore_https_errors=True, base_url=base, storage_state=state)
    page = context.new_page()
    page.goto("/")
    page.evaluate(COUNT_UPDATES)
    page.wait_for_selector('.tile [data-metric="vibration_rms"][data-ts]')
    return context


def _updates(page) -> int:
    """Times this dashboard's readings changed (proof that it keeps updating)."""
    return page.evaluate("() => window.__updates")


if __name__ == "__main__":
    sys.exit(main())
