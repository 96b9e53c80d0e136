"""Alert rule engine benchmark: mean cost per reading with 10,000 rules loaded.

A synthetic plant of M machines, each with an accelerometer (56 series a frame, as on the
simulated board: 14 metrics, overall and per axis), a temperature and a current sensor. Every
machine gets the 5 built-in rules (ISO zone, BPFO, BPFI, temperature, sensor faults) and 3 user
rules (current threshold, temperature rate of change, vibration trend): 8 rules per machine, so
1,250 machines make 10,000 rules. Each tick (one second of reading time) every sensor publishes
one batch, as the pipeline does; about 1 in 12 readings is watched by a rule. A share of
machines (--faulty) has an outer-race defect, so raising and the 10 s updates are part of the
cost. 90 ticks include a minute boundary (trend points, forecasts) and rate-of-change buckets.

    .venv/bin/python bench/bench_alerts.py                # table
    .venv/bin/python bench/bench_alerts.py --json bench/results/alerts_eval.json

Readings are made before timing; only AlertEngine.on_readings is timed (time.perf_counter around
each tick's batches). Seeded, so the same arguments give the same readings.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.alerts.builtin import effective_rules
from runtime.alerts.engine import AlertEngine
from runtime.catalog import Catalog, SensorEntry
from runtime.config.loader import validate_config
from runtime.pipeline.vibration import UNITS
from runtime.readings import Reading

T0 = 1_767_225_600.0
RULES_PER_MACHINE = 8
ACCEL_METRICS = dict(UNITS)  # every figure an accelerometer publishes, with its unit
HEALTHY = {"vibration_rms": 1.2, "envelope_bpfo": 0.002, "envelope_bpfi": 0.002}


def plant(machines: int) -> tuple[Any, Catalog]:
    """Config (built-ins on + 3 user rules per machine) and catalog for `machines` machines."""
    mids = [f"m{i}" for i in range(machines)]
    rules = []
    for m in mids:
        rules += [
            {"id": f"{m}-current", "type": "threshold", "machine": m, "metric": "current_rms",
             "warning": 30.0, "alert": 35.0},
            {"id": f"{m}-temp-rate", "type": "rate_of_change", "machine": m,
             "metric": "temperature", "warning": 10.0},
            {"id": f"{m}-trend", "type": "trend", "machine": m, "metric": "vibration_rms",
             "warning": 0.5, "window_s": 3600},
        ]  # fmt: skip
    data = {
        "machines": [
            {
                "id": m,
                "name": m,
                "running_speed_rpm": 1480,
                "bearing": "6205",
                "sensors": [{"sensor": f"{m}-{kind}"} for kind in ("accel", "temp", "current")],
            }
            for m in mids
        ],
        "alerts": {"rules": rules},
    }
    config = validate_config(data)
    sensors = []
    for m in mids:
        sensors += [
            SensorEntry(f"{m}-accel", "", "accel", "iis3dwb", m, 26667.0, ("x", "y", "z"),
                        dict(ACCEL_METRICS), 1.0),
            SensorEntry(f"{m}-temp", "", "temperature", "max31865", m, 10.0, (),
                        {"temperature": "°C"}, 1.0),
            SensorEntry(f"{m}-current", "", "current", "ads131m04", m, 4000.0, (),
                        {"current_rms": "A"}, 1.0),
        ]  # fmt: skip
    return config, Catalog((), tuple(sensors))


def tick_batches(machines: int, tick: int, faulty: set[int], rng: random.Random) -> list[list]:
    """One second of publications: per machine an accelerometer frame and two slow readings."""
    ts = T0 + tick
    batches = []
    for i in range(machines):
        m = f"m{i}"
        frame = []
        for metric, unit in ACCEL_METRICS.items():
            base = HEALTHY.get(metric, 1.0)
            if metric == "envelope_bpfo" and i in faulty:
                base = 3.0
            for axis in (None, "x", "y", "z"):
                value = base * (1.0 + 0.02 * rng.random())
                frame.append(Reading(m, f"{m}-accel", metric, axis, value, unit, ts))
        batches.append(frame)
        temp = 40.0 + 0.1 * rng.random()
        batches.append([Reading(m, f"{m}-temp", "temperature", None, temp, "°C", ts)])
        current = 24.5 + 0.05 * rng.random()
        batches.append([Reading(m, f"{m}-current", "current_rms", None, current, "A", ts)])
    return batches


def run(rules: int, ticks: int, faulty_share: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    machines = max(1, rules // RULES_PER_MACHINE)
    config, catalog = plant(machines)
    started = time.perf_counter()
    engine = AlertEngine(config, catalog)
    compile_s = time.perf_counter() - started
    n_rules = len([r for r in effective_rules(config) if r.enabled])
    faulty = set(rng.sample(range(machines), int(machines * faulty_share)))
    watched = set(engine._index)
    elapsed = 0.0
    readings = matched = conditions = 0
    gc.collect()
    for tick in range(ticks):
        batches = tick_batches(machines, tick, faulty, rng)
        readings += sum(len(b) for b in batches)
        matched += sum((r.sensor_id, r.metric, r.axis) in watched for b in batches for r in b)
        gc.disable()
        t0 = time.perf_counter()
        for batch in batches:
            conditions += len(engine.on_readings(batch))
        elapsed += time.perf_counter() - t0
        gc.enable()
    # The floor: the same readings with no rule at all.
    empty = AlertEngine(validate_config({"alerts": {"builtin_rules": False}}), catalog)
    batches = tick_batches(machines, ticks, faulty, rng)
    t0 = time.perf_counter()
    for batch in batches:
        empty.on_readings(batch)
    floor = (time.perf_counter() - t0) / sum(len(b) for b in batches)
    return {
        "rules": n_rules,
        "targets": len(engine.targets()),
        "machines": machines,
        "ticks": ticks,
        "readings": readings,
        "watched_share": matched / readings,
        "conditions": conditions,
        "active_at_end": len(engine.active()),
        "compile_s": compile_s,
        "mean_us_per_reading": elapsed / readings * 1e6,
        "no_rules_us_per_reading": floor * 1e6,
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=10_000, help="rules loaded (default 10000)")
    parser.add_argument("--ticks", type=int, default=90, help="seconds of readings (default 90)")
    parser.add_argument("--faulty", type=float, default=0.02, help="share of faulty machines")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    result = run(args.rules, args.ticks, args.faulty, args.seed)
    rows = [
        ("rules loaded", f"{result['rules']:,}"),
        ("targets compiled", f"{result['targets']:,}"),
        ("compile time", f"{result['compile_s'] * 1e3:.0f} ms"),
        ("readings judged", f"{result['readings']:,}"),
        ("watched by a rule", f"{result['watched_share']:.1%}"),
        ("conditions reported", f"{result['conditions']:,}"),
        ("mean per reading", f"{result['mean_us_per_reading']:.3f} us"),
        ("same, no rules loaded", f"{result['no_rules_us_per_reading']:.3f} us"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        result["python"] = platform.python_version()
        result["machine"] = platform.machine()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
