"""REST API benchmark (issue 5): the device under HTTP load while it samples.

    .venv/bin/python bench/bench_api.py [--duration 10] [--rounds 3] [--connections 4]
        [--json bench/results/api_issue5.json]

1. `esocore run` serves the default simulated plant over HTTPS on 127.0.0.1. wrk (Debian;
   installed here when missing and run as root) loads `/api/v1/telemetry/` with a read-only
   key; in the same run a bare ASGI endpoint returning the same JSON bytes, served by the
   device's own server code (runtime.api.server: same uvicorn settings, socket options and
   certificate) in a process of its own, gets the same load. The
   ratio of the two throughputs is the figure: what the API's routing, key check and
   serialisation cost. Rounds alternate device / bare; /device/health before and after says
   whether acquisition overflowed or missed deadlines during the load.
2. A store filled with 1,000,000 readings through runtime.store.Store (20 overall series x
   50,000 s at 1 Hz, three days ago), then the device started on it: a history page of 1000
   points from a random start (all series, and one series), and the next page by its Link.
3. The same 1,000,000 rows exported with format=csv and format=parquet (time to the last
   byte, client side; the files are read back to check the row count).

Targets: telemetry >= 0.5 x bare throughput, p99 < 25 ms, no overflow; history page < 30 ms;
1M rows in < 5 s as CSV and < 3 s as Parquet.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from harness import ESOCORE, Process, free_port, stop_all

ROOT = Path(__file__).resolve().parent.parent

FILL_SERIES = [
    (machine, f"{machine}-accel", metric, unit)
    for machine in ("motor-1", "motor-2")
    for metric, unit in (
        ("vibration_rms", "mm/s"),
        ("accel_rms", "m/s²"),
        ("accel_peak", "m/s²"),
        ("crest_factor", ""),
        ("kurtosis", ""),
        ("hf_accel_rms", "m/s²"),
        ("dominant_freq", "Hz"),
        ("velocity_1x", "mm/s"),
        ("velocity_2x", "mm/s"),
        ("velocity_3x", "mm/s"),
    )
]
FILL_SECONDS = 50_000  # x 20 series = 1,000,000 readings
FILL_ROWS = len(FILL_SERIES) * FILL_SECONDS

TARGETS = {
    "telemetry_ratio_min": 0.5,
    "telemetry_p99_ms_max": 25.0,
    "history_page_ms_max": 30.0,
    "csv_export_s_max": 5.0,
    "parquet_export_s_max": 3.0,
}


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + "Z"


# -- processes -----------------------------------------------------------------------------


@dataclass
class Device:
    data_dir: Path
    port: int
    process: Process
    cert: Path
    key: str = ""

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/api/v1"

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.cert)
        s.headers["X-API-Key"] = self.key
        # The certificate names localhost and 127.0.0.1: both verify.
        return s

    def health(self) -> dict:
        with self.session() as s:
            return s.get(self.base_url + "/device/health", timeout=30).json()


def start_device(
    where: Path, data_dir: Path, config: Path | None = None, role: str = "read-only"
) -> Device:
    """`esocore run` on loopback (HTTPS and Modbus TCP on free ports), its certificate
    exported and a key of `role` made, as an integrator would."""
    port = free_port()
    process = Process(
        [
            str(ESOCORE),
            "run",
            "--data-dir",
            str(data_dir),
            "--http-host",
            "127.0.0.1",
            "--http-port",
            str(port),
            "--modbus-host",
            "127.0.0.1",
            "--modbus-port",
            str(free_port()),
            "--quiet",
            *(["--config", str(config)] if config is not None else []),
        ],
        "REST API at",
        where,
    )
    cert = where / f"device-{port}.pem"
    exported = subprocess.run(
        [str(ESOCORE), "cert", "export", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    cert.write_text(exported.stdout)
    made = subprocess.run(
        [
            str(ESOCORE),
            "keys",
            "create",
            "--role",
            role,
            "--description",
            "bench_api",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Device(data_dir, port, process, cert, made.stdout.strip().splitlines()[-1])


def wait_for_readings(device: Device, sensors: int) -> bytes:
    """The /telemetry/ body once every sensor has a reading (bounded)."""
    deadline = time.monotonic() + 60
    with device.session() as s:
        while time.monotonic() < deadline:
            response = s.get(device.base_url + "/telemetry/", timeout=10)
            rows = response.json()
            if len({r["sensor_id"] for r in rows}) >= sensors:
                return response.content
    raise SystemExit("no readings from every sensor within 60 s")


# -- the bare endpoint ---------------------------------------------------------------------


def serve_bare(body_file: str, port: int, certfile: str, keyfile: str) -> None:
    """A bare ASGI app returning fixed JSON bytes, served by the device's own server code
    (runtime.api.server.start_server: same uvicorn settings, socket and TLS)."""
    import asyncio

    from runtime.api.server import Listener, start_server

    body = Path(body_file).read_bytes()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def app(scope, receive, send):
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def main() -> None:
        await start_server(app, Listener("127.0.0.1", port, True), certfile, keyfile)
        print("bare: listening", flush=True)
        await asyncio.Event().wait()  # until SIGTERM ends the process

    asyncio.run(main())


def start_bare(where: Path, body: bytes, device: Device) -> tuple[Process, int]:
    body_file = where / "telemetry.json"
    body_file.write_bytes(body)
    port = free_port()
    process = Process(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve-bare",
            str(body_file),
            str(port),
            str(device.data_dir / "tls-cert.pem"),
            str(device.data_dir / "tls-key.pem"),
        ],
        "bare: listening",
        where,
    )
    return process, port


# -- wrk -----------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is needed: sudo apt-get install wrk")
    print("installing wrk (apt-get install wrk)", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or "wrk"


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk(binary: str, url: str, seconds: int, connections: int, headers: dict[str, str]) -> Load:
    args = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return Load(rps, p50, p99, total, errors)


# -- 1. telemetry under load ---------------------------------------------------------------


def acquisition_counters(health: dict) -> dict[str, int]:
    """Totals since the start, plus each sensor's overflows as `overflows:<sensor id>`."""
    counters = {
        "fifo_overflows": int(health["scheduler"]["fifo_overflows"]),
        "deadline_misses": int(health["scheduler"]["deadline_misses"]),
    }
    for sensor in health["sensors"]:
        counters[f"overflows:{sensor['sensor_id']}"] = int(sensor["overflows"])
    return counters


def per_sensor(counters: dict[str, int]) -> str:
    """'motor-1-current 51, ...' for the sensors that overflowed."""
    found = [
        f"{name.removeprefix('overflows:')} {n}"
        for name, n in sorted(counters.items())
        if name.startswith("overflows:") and n
    ]
    return ", ".join(found) or "none"


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before}


def bench_telemetry(where: Path, args: argparse.Namespace, binary: str) -> dict:
    device = start_device(where, where / "live-data")
    servers: list[Process] = []
    try:
        body = wait_for_readings(device, sensors=6)
        bare, bare_port = start_bare(where, body, device)
        servers.append(bare)
        urls = {
            "device": device.base_url + "/telemetry/",
            "bare": f"https://127.0.0.1:{bare_port}/api/v1/telemetry/",
        }
        headers = {"X-API-Key": device.key}
        # Overflows and misses with no HTTP load, over as long as the device is loaded.
        idle_before = acquisition_counters(device.health())
        time.sleep(args.duration * args.rounds)
        idle = grown(idle_before, acquisition_counters(device.health()))
        # Warm every server (TLS sessions, imports, caches) outside the measurement.
        for url in urls.values():
            wrk(binary, url, 2, args.connections, headers)
        rounds: dict[str, list[Load]] = {name: [] for name in urls}
        under_load: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, url in urls.items():
                before = acquisition_counters(device.health())
                rounds[name].append(wrk(binary, url, args.duration, args.connections, headers))
                if name == "device":
                    for counter, n in grown(before, acquisition_counters(device.health())).items():
                        under_load[counter] = under_load.get(counter, 0) + n
    finally:
        for server in servers:
            server.stop()
        device.process.stop()

    def median(name: str, figure: str) -> float:
        return statistics.median(getattr(load, figure) for load in rounds[name])

    result: dict = {
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "body_bytes": len(body),
        "rows": len(json.loads(body)),
        "runs": {name: [vars(load) for load in loads] for name, loads in rounds.items()},
        "errors": sum(load.errors for loads in rounds.values() for load in loads),
        "acquisition_idle": idle,
        "acquisition_under_load": under_load,
    }
    for name in rounds:
        result[f"{name}_rps"] = median(name, "requests_per_s")
        result[f"{name}_p50_ms"] = median(name, "p50_ms")
        result[f"{name}_p99_ms"] = median(name, "p99_ms")
    result["ratio"] = result["device_rps"] / result["bare_rps"]
    return result


# -- 2./3. history and exports on a million stored rows ------------------------------------


def fill_store(data_dir: Path, t0: float) -> float:
    """1,000,000 readings through Store, as the device's writer stores them; seconds taken."""
    from runtime.readings import Reading
    from runtime.store import Store

    started = time.perf_counter()
    chunk = 5_000
    with Store(data_dir, batch_size=50_000) as store:
        for offset in range(0, FILL_SECONDS, chunk):
            store.add_readings(
                [
                    Reading(
                        device, sensor, metric, None, 1.0 + ((i * 7 + k) % 97) / 10, unit, t0 + i
                    )
                    for i in range(offset, min(offset + chunk, FILL_SECONDS))
                    for k, (device, sensor, metric, unit) in enumerate(FILL_SERIES)
                ]
            )
        store.flush()
        stored = store.count_readings()
    if stored != FILL_ROWS:
        raise SystemExit(f"filled {stored} readings, expected {FILL_ROWS}")
    return time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_pages(device: Device, t0: float, n: int, params: dict[str, str]) -> dict:
    rng = random.Random(5)
    times: list[float] = []
    next_times: list[float] = []
    with device.session() as s:
        url = device.base_url + "/telemetry/history/"
        for i in range(n + 5):
            start = t0 + rng.randrange(0, FILL_SECONDS - 3600)
            query = {"start_time": iso(start), "end_time": iso(t0 + FILL_SECONDS), "limit": "1000"}
            began = time.perf_counter()
            response = s.get(url, params={**query, **params}, timeout=30)
            rows = response.json()
            took = time.perf_counter() - began
            if response.status_code != 200 or len(rows) != 1000:
                raise SystemExit(f"history page: {response.status_code} {len(rows)} rows")
            link = response.links.get("next", {}).get("url")
            if not link:
                raise SystemExit("history page without a Link to the next page")
            began = time.perf_counter()
            following = s.get(link, timeout=30)
            next_rows = following.json()
            next_took = time.perf_counter() - began
            if len(next_rows) != 1000 or next_rows[0]["timestamp"] < rows[-1]["timestamp"]:
                raise SystemExit("next page does not continue the first")
            if i >= 5:  # the first few warm the connection and SQLite's cache
                times.append(took * 1e3)
                next_times.append(next_took * 1e3)
    return {
        "pages": n,
        "median_ms": statistics.median(times),
        "p99_ms": _percentile(times, 0.99),
        "next_median_ms": statistics.median(next_times),
        "next_p99_ms": _percentile(next_times, 0.99),
    }


def time_export(device: Device, t0: float, fmt: str, where: Path) -> dict:
    params = {"start_time": iso(t0), "end_time": iso(t0 + FILL_SECONDS), "format": fmt}
    target = where / f"export.{fmt}"
    with device.session() as s:
        began = time.perf_counter()
        first_byte = None
        size = 0
        with (
            s.get(
                device.base_url + "/telemetry/history/", params=params, stream=True, timeout=120
            ) as response,
            open(target, "wb") as out,
        ):
            if response.status_code != 200:
                raise SystemExit(f"export {fmt}: {response.status_code} {response.text[:500]}")
            for block in response.iter_content(1 << 20):
                if first_byte is None:
                    first_byte = time.perf_counter() - began
                out.write(block)
                size += len(block)
        took = time.perf_counter() - began
    rows = count_rows(target, fmt)
    if rows != FILL_ROWS:
        raise SystemExit(f"export {fmt}: {rows} rows, expected {FILL_ROWS}")
    target.unlink()
    return {"seconds": took, "first_byte_s": first_byte, "bytes": size, "rows": rows}


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    # CSV: lines after the header; JSON: objects, counted by their first key (streamed: a
    # million parsed rows would take more memory than the export itself).
    needle = b"\n" if fmt == "csv" else b'{"timestamp":'
    found, tail = 0, b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            joined = tail + block
            found += joined.count(needle)
            keep = len(needle) - 1
            tail = joined[-keep:] if keep else b""
            found -= tail.count(needle)
    return found - 1 if fmt == "csv" else found


def bench_history(where: Path, args: argparse.Namespace) -> dict:
    data_dir = where / "million"
    t0 = float(int(time.time()) - 3 * 86400)  # inside raw retention (30 days)
    fill_s = fill_store(data_dir, t0)
    device = start_device(where, data_dir)
    acquisition: dict[str, dict[str, int]] = {}

    def counted(phase: str, work):
        before = acquisition_counters(device.health())
        result = work()
        acquisition[phase] = grown(before, acquisition_counters(device.health()))
        return result

    try:
        wait_for_readings(device, sensors=6)
        pages_all = counted("pages", lambda: time_pages(device, t0, args.pages, {}))
        pages_one = time_pages(
            device, t0, args.pages, {"sensor_id": "motor-1-accel", "metric": "vibration_rms"}
        )
        exports = {}
        for fmt in ("csv", "parquet", "json"):
            runs = counted(
                fmt,
                lambda fmt=fmt: [
                    time_export(device, t0, fmt, where) for _ in range(args.export_rounds)
                ],
            )
            exports[fmt] = {
                "runs": runs,
                "median_s": statistics.median(r["seconds"] for r in runs),
                "first_byte_s": statistics.median(r["first_byte_s"] for r in runs),
                "bytes": runs[0]["bytes"],
            }
    finally:
        device.process.stop()
    return {
        "fill_s": fill_s,
        "rows": FILL_ROWS,
        "page_all_series": pages_all,
        "page_one_series": pages_one,
        "exports": exports,
        "acquisition": acquisition,
    }


# -- report --------------------------------------------------------------------------------


def verdicts(result: dict) -> dict[str, bool]:
    t, h = result["telemetry"], result["history"]
    grew = t["acquisition_under_load"]
    return {
        "telemetry_ratio": t["ratio"] >= TARGETS["telemetry_ratio_min"],
        "telemetry_p99": t["device_p99_ms"] < TARGETS["telemetry_p99_ms_max"],
        "no_overflow_under_load": grew["fifo_overflows"] == 0,
        # "under 30 ms" for a page: judged on the median (the p99 is reported beside it).
        "history_page": h["page_all_series"]["median_ms"] < TARGETS["history_page_ms_max"],
        "csv_export": h["exports"]["csv"]["median_s"] < TARGETS["csv_export_s_max"],
        "parquet_export": h["exports"]["parquet"]["median_s"] < TARGETS["parquet_export_s_max"],
    }


def fmt_load(values) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def args_pages(history: dict) -> int:
    return history["page_all_series"]["pages"]


def report(result: dict) -> str:
    t, h = result["telemetry"], result["history"]
    met = result["verdicts"]

    def mark(ok: bool) -> str:
        return "met" if ok else "**missed**"

    grew, idle = t["acquisition_under_load"], t["acquisition_idle"]
    acq = h["acquisition"]
    pa, po = h["page_all_series"], h["page_one_series"]
    ex = h["exports"]
    lines = [
        "| what | figure | target | |",
        "|---|---|---|---|",
        f"| `/telemetry/` throughput ({t['connections']} connections) | "
        f"{t['device_rps']:.0f} req/s | | |",
        f"| bare ASGI endpoint, same JSON ({t['body_bytes']} bytes), same server code and TLS | "
        f"{t['bare_rps']:.0f} req/s | | |",
        f"| **ratio** device / bare | **{t['ratio']:.2f}** | ≥ 0.5 | "
        f"{mark(met['telemetry_ratio'])} |",
        f"| `/telemetry/` latency p50 / p99 | {t['device_p50_ms']:.1f} / "
        f"{t['device_p99_ms']:.1f} ms"
        f" (bare {t['bare_p50_ms']:.1f} / {t['bare_p99_ms']:.1f}) | p99 < 25 ms | "
        f"{mark(met['telemetry_p99'])} |",
        f"| FIFO overflows / deadline misses during the `/telemetry/` load | "
        f"{grew['fifo_overflows']} / {grew['deadline_misses']} (idle, as long: "
        f"{idle['fifo_overflows']} / {idle['deadline_misses']}) | 0 overflows | "
        f"{mark(met['no_overflow_under_load'])} |",
        f"| which sensors overflowed under the `/telemetry/` load | {per_sensor(grew)} | | |",
        f"| history page, 1000 of 1 M, all 20 series, random start: median / p99 | "
        f"{pa['median_ms']:.1f} / {pa['p99_ms']:.1f} ms | < 30 ms | {mark(met['history_page'])} |",
        f"| same, next page by its `Link` | {pa['next_median_ms']:.1f} / "
        f"{pa['next_p99_ms']:.1f} ms | | |",
        f"| history page, one series | {po['median_ms']:.1f} / {po['p99_ms']:.1f} ms | | |",
        f"| CSV export, 1 M rows ({ex['csv']['bytes'] / 1e6:.0f} MB) | "
        f"{ex['csv']['median_s']:.2f} s | < 5 s | {mark(met['csv_export'])} |",
        f"| Parquet export, 1 M rows ({ex['parquet']['bytes'] / 1e6:.1f} MB) | "
        f"{ex['parquet']['median_s']:.2f} s | < 3 s | {mark(met['parquet_export'])} |",
        f"| JSON export, 1 M rows ({ex['json']['bytes'] / 1e6:.0f} MB) | "
        f"{ex['json']['median_s']:.2f} s | | |",
        f"| FIFO overflows / deadline misses: {args_pages(h)} history pages | "
        f"{acq['pages']['fifo_overflows']} / {acq['pages']['deadline_misses']} "
        f"({per_sensor(acq['pages'])}) | | |",
    ]
    for fmt in ("csv", "parquet", "json"):
        lines.append(
            f"| FIFO overflows / deadline misses: {len(ex[fmt]['runs'])} {fmt} exports | "
            f"{acq[fmt]['fifo_overflows']} / {acq[fmt]['deadline_misses']} "
            f"({per_sensor(acq[fmt])}) | | |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per endpoint")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--pages", type=int, default=200, help="history pages timed")
    parser.add_argument("--export-rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--telemetry-only", action="store_true", help="skip the million-row history part"
    )
    parser.add_argument("--serve-bare", nargs=4, metavar=("BODY", "PORT", "CERT", "KEY"))
    args = parser.parse_args()
    if args.serve_bare:
        body, port, cert, key = args.serve_bare
        serve_bare(body, int(port), cert, key)
        return 0
    binary = ensure_wrk()
    try:
        return run_all(args, binary)
    finally:
        stop_all()


def run_all(args: argparse.Namespace, binary: str) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        where = Path(tmp)
        result: dict = {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "wrk": subprocess.run(
                    [binary, "--version"], capture_output=True, text=True
                ).stdout.splitlines()[0:1],
            },
            "load_average_before": os.getloadavg(),
            "telemetry": bench_telemetry(where, args, binary),
        }
        if args.telemetry_only:
            print(json.dumps(result["telemetry"], indent=2))
            return 0
        result["history"] = bench_history(where, args)
        result["load_average_after"] = os.getloadavg()
    result["verdicts"] = verdicts(result)
    text = report(result)
    text += (
        f"\n\nload average (1, 5, 15 min) before: {fmt_load(result['load_average_before'])}, "
        f"after: {fmt_load(result['load_average_after'])} on {os.cpu_count()} CPUs"
    )
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
