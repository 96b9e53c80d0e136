"""Modbus TCP benchmark (issue 7): the device's server under polling load while it samples.

    .venv/bin/python bench/bench_modbus.py [--duration 5] [--rounds 2]
        [--json bench/results/modbus.json]

`esocore run` serves the default simulated plant (Modbus TCP on 127.0.0.1). In the same run a
bare pymodbus server (its own ModbusTcpServer over a SimDevice holding the same 16 registers,
in a process of its own) gets the same load. The load: an asyncio client process holding 1 or
10 connections, each sending read-holding-registers (16 registers from 40001) back to back;
every transaction is timed (send to last byte). Rounds alternate device / bare; the ratio of
the two rates is the figure. /api/v1/device/health before and after each device round says
whether acquisition overflowed or missed deadlines during the load.

Also, in this process: the cost of one read from the register image against rebuilding the
image for every read (what answering from the live state at request time costs).

Targets: device >= 0.8 x the bare server's rate, p99 < 5 ms at 10 clients, no overflow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from harness import ESOCORE, Process, free_port, stop_all

ROOT = Path(__file__).resolve().parent.parent
REQUEST = struct.pack(">BHH", 3, 0, 16)
CLIENTS = (1, 10)


# -- load --------------------------------------------------------------------------------------


async def _client(port: int, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    tid = 0
    try:
        while time.perf_counter() < until:
            tid = (tid + 1) & 0xFFFF
            started = time.perf_counter()
            writer.write(struct.pack(">HHHB", tid, 0, len(REQUEST) + 1, 1) + REQUEST)
            header = await reader.readexactly(7)
            body = await reader.readexactly(struct.unpack(">H", header[4:6])[0] - 1)
            latencies.append(time.perf_counter() - started)
            if body[0] != 3:
                raise SystemExit(f"unexpected answer {body.hex()}")
    finally:
        writer.close()


def load(port: int, clients: int, seconds: float) -> dict:
    """Runs in a process of its own (`--load`): prints a JSON result."""
    latencies: list[float] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, until, latencies) for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients,
        "transactions": len(latencies),
        "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1e3, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1e3, 3),
    }


def run_load(port: int, clients: int, seconds: float) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--load", str(port), str(clients), str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return json.loads(done.stdout)


# -- the bare pymodbus server ------------------------------------------------------------------


def serve_bare(port: int, registers: list[int]) -> None:
    """pymodbus's own server over the same registers (runs in `--bare` mode)."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def main() -> None:
        device = SimDevice(1, simdata=[SimData(0, values=registers, datatype=DataType.REGISTERS)])
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        print("bare pymodbus server ready", flush=True)
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        await stopped.wait()
        await server.shutdown()

    asyncio.run(main())


# -- image vs request time ---------------------------------------------------------------------


def image_cost(n: int = 20000) -> dict:
    """µs per 16-register read: from the image, and rebuilding the image every read."""
    from runtime.catalog import Catalog, MachineEntry, SensorEntry
    from runtime.fieldbus.config import ModbusConfig
    from runtime.fieldbus.datamodel import DataModel
    from runtime.fieldbus.registermap import build_register_map
    from runtime.fieldbus.source import SensorStatusSource
    from runtime.live import LiveState, SensorStatus
    from runtime.readings import Reading

    machines, sensors, readings = [], [], []
    for m in (1, 2):
        ids = (f"motor-{m}-accel", f"motor-{m}-temp", f"motor-{m}-current")
        machines.append(MachineEntry(f"motor-{m}", f"M{m}", "", "", "", None, None, 2, "", ids))
        for sensor_id, metric in zip(
            ids, ("vibration_rms", "temperature", "current_rms"), strict=True
        ):
            sensors.append(
                SensorEntry(sensor_id, "", "", "", f"motor-{m}", 1, (), {metric: "u"}, 1)
            )
            readings.append(Reading(f"motor-{m}", sensor_id, metric, None, 1.5, "u", time.time()))
    catalog = Catalog(tuple(machines), tuple(sensors))
    live = LiveState()
    for s in sensors:
        live.register_sensor(SensorStatus(s.id, s.device_id, "", "", "ok"))
    live.publish(readings)
    source = SensorStatusSource(live, catalog)
    regmap = build_register_map(ModbusConfig(), catalog)
    cached = DataModel(regmap, live, source)
    every = DataModel(regmap, live, source, refresh_s=0.0)
    out = {}
    for name, model in (("image_us", cached), ("rebuilt_every_read_us", every)):
        started = time.perf_counter()
        for _ in range(n):
            model.read_registers(0, 16)
        out[name] = round((time.perf_counter() - started) / n * 1e6, 2)
    return out


# -- the run -----------------------------------------------------------------------------------


def health(base: str, cert: Path, key: str) -> dict[str, int]:
    with requests.Session() as s:
        s.trust_env = False
        body = s.get(
            base + "/device/health", headers={"X-API-Key": key}, verify=str(cert), timeout=30
        ).json()
    return {
        "fifo_overflows": int(body["scheduler"]["fifo_overflows"]),
        "deadline_misses": int(body["scheduler"]["deadline_misses"]),
    }


def bench(args: argparse.Namespace) -> dict:
    where = Path(tempfile.mkdtemp(prefix="bench-modbus-"))
    config = where / "device.toml"
    shipped = ROOT / "runtime" / "config" / "defaults" / "sim.toml"
    config.write_text(shipped.read_text() + '\n[modbus.tcp]\nhost = "127.0.0.1"\n')
    http_port, modbus_port, bare_port = free_port(), free_port(), free_port()
    data_dir = where / "data"
    device = Process(
        [
            str(ESOCORE),
            "run",
            "--config",
            str(config),
            "--data-dir",
            str(data_dir),
            "--http-host",
            "127.0.0.1",
            "--http-port",
            str(http_port),
            "--modbus-port",
            str(modbus_port),
            "--quiet",
        ],
        "Modbus TCP at",
        where,
    )
    run = lambda *a: subprocess.run(  # noqa: E731
        [str(ESOCORE), *a, "--data-dir", str(data_dir)], capture_output=True, text=True, check=True
    )
    cert = where / "cert.pem"
    cert.write_text(run("cert", "export").stdout)
    key = (
        run("keys", "create", "--role", "read-only", "--description", "bench_modbus")
        .stdout.strip()
        .splitlines()[-1]
    )
    base = f"https://127.0.0.1:{http_port}/api/v1"
    # Registers as the device serves them once every sensor reported (bounded wait).
    deadline = time.monotonic() + 60
    while True:
        with socket.create_connection(("127.0.0.1", modbus_port), timeout=10) as sock:
            sock.sendall(struct.pack(">HHHB", 1, 0, 6, 1) + REQUEST)
            answer = sock.recv(64)
        registers = list(struct.unpack(">16H", answer[9:41]))
        if registers[0] != 0x7FC0 and registers[8] != 0x7FC0:  # no NaN any more
            break
        if time.monotonic() > deadline:
            raise SystemExit("the device shows no values after 60 s")
        time.sleep(0.2)
    bare = Process(
        [sys.executable, __file__, "--bare", str(bare_port), ",".join(map(str, registers))],
        "bare pymodbus server ready",
        where,
    )
    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_before": os.getloadavg(),
        },
        "duration_s": args.duration,
        "rounds": args.rounds,
        "runs": [],
    }
    try:
        idle_before = health(base, cert, key)
        time.sleep(args.duration)  # the idle reference: as long as one round, no load
        idle_after = health(base, cert, key)
        result["idle_counters"] = {k: idle_after[k] - idle_before[k] for k in idle_before}
        for _ in range(args.rounds):
            for clients in CLIENTS:
                before = health(base, cert, key)
                dev = run_load(modbus_port, clients, args.duration)
                after = health(base, cert, key)
                dev["counters"] = {k: after[k] - before[k] for k in before}
                ref = run_load(bare_port, clients, args.duration)
                result["runs"].append({"clients": clients, "device": dev, "bare": ref})
        result["machine"]["load_avg_after"] = os.getloadavg()
    finally:
        bare.stop()
        device.stop()
    result["image"] = image_cost()
    return result


def summary(result: dict) -> dict:
    out = {}
    for clients in CLIENTS:
        runs = [r for r in result["runs"] if r["clients"] == clients]

        def med(side: str, k: str, runs: list = runs) -> float:
            return statistics.median(r[side][k] for r in runs)

        out[str(clients)] = {
            "device_per_s": med("device", "per_s"),
            "bare_per_s": med("bare", "per_s"),
            "ratio": round(med("device", "per_s") / med("bare", "per_s"), 3),
            "device_p50_ms": med("device", "p50_ms"),
            "device_p99_ms": med("device", "p99_ms"),
            "bare_p50_ms": med("bare", "p50_ms"),
            "bare_p99_ms": med("bare", "p99_ms"),
            "fifo_overflows": sum(r["device"]["counters"]["fifo_overflows"] for r in runs),
            "deadline_misses": sum(r["device"]["counters"]["deadline_misses"] for r in runs),
        }
    return out


def report(result: dict) -> str:
    s = result["summary"]
    lines = [
        "| clients | device tx/s | bare pymodbus tx/s | ratio | device p50 / p99 ms | "
        "bare p50 / p99 ms | FIFO overflows / deadline misses under load |",
        "|---|---|---|---|---|---|---|",
    ]
    for clients, row in s.items():
        lines.append(
            f"| {clients} | {row['device_per_s']:.0f} | {row['bare_per_s']:.0f} | "
            f"{row['ratio']:.2f} | {row['device_p50_ms']:.2f} / {row['device_p99_ms']:.2f} | "
            f"{row['bare_p50_ms']:.2f} / {row['bare_p99_ms']:.2f} | "
            f"{row['fifo_overflows']} / {row['deadline_misses']} |"
        )
    idle = result["idle_counters"]
    image = result["image"]
    lines.append("")
    lines.append(
        f"Idle reference ({result['duration_s']} s, no load): {idle['fifo_overflows']} overflows, "
        f"{idle['deadline_misses']} deadline misses. One 16-register read: "
        f"{image['image_us']} µs from the register image, {image['rebuilt_every_read_us']} µs "
        "rebuilding it from the live state every read."
    )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        print(json.dumps(load(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        serve_bare(int(sys.argv[2]), [int(v) for v in sys.argv[3].split(",")])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=2, help="device/bare pairs per client count")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "modbus.json"))
    args = parser.parse_args()
    try:
        result = bench(args)
    finally:
        stop_all()
    result["summary"] = summary(result)
    met = {
        "ratio_at_least_0.8": all(r["ratio"] >= 0.8 for r in result["summary"].values()),
        "p99_under_5ms_at_10": result["summary"]["10"]["device_p99_ms"] < 5.0,
        "no_overflow_under_load": all(r["fifo_overflows"] == 0 for r in result["summary"].values()),
    }
    result["targets_met"] = met
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(report(result))
    print("targets met:", met)
    return 0


if __name__ == "__main__":
    sys.exit(main())
