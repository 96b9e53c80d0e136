"""Runtime benchmark (issue 4): wideband sensors per core in real time, and `esocore sim` speed.

A plain script (not collected by pytest). Each measurement runs in a fresh child process; the
figures in docs/benchmarks.md ("Runtime (issue 4)") come from these commands:

    B=".venv/bin/python bench/bench_runtime.py"
    # 1a. CPU per sensor per simulated second in virtual time (noise-free), N accelerometers,
    #     with an instrumented run per N for the split
    $B virtual --sensors 1,10,50,100 --seconds 30 --repeat 3
    # 1b. real time, the process and all its threads pinned to core 1, 20 s windows after 5 s
    #     of warm-up; as shipped, then with SCHED_FIFO (others' processes cannot preempt the
    #     device: a dedicated core), then what-ifs (see --help)
    $B realtime --sensors 10,25,50 --repeat 2 --core 1
    $B realtime --rt --sensors 10,25,50,75,100 --repeat 3 --core 1
    $B realtime --rt --canned --sensors 50 --repeat 3 --core 1
    $B realtime --rt --canned --gc-freeze --sensors 50,75,100,150 --repeat 3 --core 1
    $B realtime --rt --canned --gc-freeze --yield-budget 0.002 --sensors 100 --repeat 3 --core 1
    $B realtime --rt --canned --gc-freeze --slow --sensors 50 --repeat 3 --core 1
    # 2. `esocore sim --duration 10m` speed-up: the default plant and variants of it
    $B sim --runs 5
    # 2b. where the time of those plants goes (instrumented, scaled to clean runs' CPU)
    $B breakdown --seconds 300 --repeat 3 --variants default,adc252,no-adc,accel-only

Every subcommand prints Markdown tables; `--json FILE` also writes the raw figures, and
`table KIND FILE...` prints the tables of saved figures again (bench/results/runtime_issue4.json
holds the recorded ones).

The generated plant (written to a temp dir at run time): N IIS3DWB accelerometers at 26.667 kHz,
each on its own simulated machine (alternately the `sim` board's pump motor and fan motor
specs, healthy), 16 per SPI bus; the device config mounts them with the default analysis
settings (frame 16384, 1 s update, spectra stored every 60 s), HTTP off. `--slow` adds the
`sim` board's slow chips (two MAX31865 and the shared ADS131M04 at 500 SPS). The real-time run
is `esocore run`'s loop (Device.use_worker_thread, switch interval 0.5 ms, run_realtime)
without the REST server.

What is timed:
- process CPU (all threads) and CPU per thread (`time.pthread_getcpuclockid`): the loop thread
  (scheduler, drivers, decode, ring writes; in a simulation also the chip models), the analysis
  worker (dsp_ext kernel, readings, live state, store queueing), the store writer;
- synthesis: the chip models making signal blocks (every miss of a `hal_sim` block cache, and
  the MAX31865 model's conversion), timed at run time by wrapping `LruCache.get`'s `make` and
  `Max31865Model.code_at` with a per-thread CPU timer; a real board does not pay for it;
- breakdowns (virtual time only) wrap more functions with a cheap wall-clock timer, each
  counted exclusive of the others: simulated SPI bus + chip register models, acquisition
  (driver, decode, ring) per chip, analysis kernel, analysis in Python, publishing, scheduler;
  the parts are scaled to add up to an uninstrumented run's process CPU;
- real time: overflows (live sensor status), deadline misses (scheduler stats, reset after the
  warm-up), frames analysed vs due, each acquisition run's (end - release) / period, cyclic GC
  pauses (gc.callbacks), and other processes' CPU on our core (/proc/stat minus our own).

Nothing in runtime/, board/, hal_sim/ or drivers/ is changed: the wrappers and what-ifs are
installed on the classes in the child process only.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PER_BUS = 16  # chip selects per generated SPI bus (the board model's maximum)
ODR = 26667.0

# -- TOML for generated boards and configs ----------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_scalar(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any]) -> str:
    """Enough TOML for board files and device configs: tables, arrays of tables, inline
    tables for small leaf dicts."""
    lines: list[str] = []

    def leafy(d: dict) -> bool:
        return not any(isinstance(v, dict) or _is_table_list(v) for v in d.values())

    def emit(path: str, table: dict[str, Any], header: str | None) -> None:
        if header:
            lines.append("")
            lines.append(header)
        nested = []
        for key, value in table.items():
            table_like = isinstance(value, dict) and not (leafy(value) and path)
            if table_like or _is_table_list(value):
                nested.append((key, value))
            else:
                lines.append(f"{key} = {_scalar(value)}")
        for key, value in nested:
            sub = f"{path}.{key}" if path else key
            if isinstance(value, dict):
                emit(sub, value, f"[{sub}]")
            else:
                for item in value:
                    emit(sub, item, f"[[{sub}]]")

    emit("", data, None)
    return "\n".join(lines).lstrip() + "\n"


# -- plants -----------------------------------------------------------------------------------


def _sim_files() -> tuple[dict[str, Any], dict[str, Any]]:
    board = tomllib.loads((ROOT / "board" / "sim.toml").read_text(encoding="utf-8"))
    config = tomllib.loads(
        (ROOT / "runtime" / "config" / "defaults" / "sim.toml").read_text(encoding="utf-8")
    )
    return board, config


def generated_plant(directory: Path, n: int, slow: bool = False) -> tuple[Path, Path]:
    """Board and device config with n IIS3DWB on n machines (see the module docstring)."""
    sim_board, sim_config = _sim_files()
    machine_specs = sim_board["board"]["machines"]
    machine_configs = sim_config["machines"]
    buses = max(1, -(-n // PER_BUS))
    spi = {f"spi{b}": {"chip_selects": PER_BUS} for b in range(buses)}
    machines, sensors, mounts = [], [], []
    for i in range(n):
        template = i % 2
        mid = f"m{i:03d}"
        spec = dict(machine_specs[template], id=mid, name=f"Machine {i}")
        machines.append(spec)
        sid = f"a{i:03d}"
        sensors.append(
            {
                "id": sid,
                "name": f"Accelerometer {i}",
                "chip": "iis3dwb",
                "bus": f"spi{i // PER_BUS}",
                "cs": i % PER_BUS,
                "machine": mid,
                "range_g": 16,
                "mounting": {"x": "radial_horizontal", "y": "radial_vertical", "z": "axial"},
            }
        )
        mc = machine_configs[template]
        mounts.append(
            {
                "id": mid,
                "name": f"Machine {i}",
                "type": mc["type"],
                "running_speed_rpm": mc["running_speed_rpm"],
                "bearing": mc["bearing"],
                "iso_group": mc["iso_group"],
                "foundation": mc["foundation"],
                "sensors": [{"sensor": sid, "mounting": sensors[-1]["mounting"]}],
            }
        )
    if slow:  # the sim board's RTDs and shared ADC, on a bus of their own, on m000/m001
        spi[f"spi{buses}"] = {"chip_selects": 3}
        slow_ids = {"motor-1": "m000", "motor-2": "m001"}
        cs = 0
        for s in sim_board["board"]["sensors"]:
            if s["chip"] == "iis3dwb":
                continue
            s = dict(s, bus=f"spi{buses}", machine=slow_ids[s["machine"]])
            if s["chip"] == "max31865":
                s["cs"] = cs = cs + 1
            else:
                s["cs"] = 0
            sensors.append(s)
            index = 0 if s["machine"] == "m000" else 1
            if index < n:
                mounts[index]["sensors"].append({"sensor": s["id"]})
    board = {
        "board": {
            "name": f"bench-{n}",
            "description": f"benchmark: {n} IIS3DWB on {n} simulated machines",
            "platform": "sim",
            "spi": spi,
            "machines": machines,
            "sensors": sensors,
        }
    }
    config = {k: v for k, v in sim_config.items() if k != "machines"}
    config["device"] = dict(config["device"], name=f"bench {n} sensors", board=f"bench-{n}")
    config["http"] = {"enabled": False}
    config["machines"] = mounts
    return _write(directory, board, config)


SIM_VARIANTS = {
    "default": "the `sim` board and its shipped config (ADC at 500 SPS)",
    "adc252": "ADS131M04 at 252 SPS (its lowest rate), everything else the same",
    "no-adc": "without the ADS131M04 (both current sensors dropped)",
    "accel-only": "only the two IIS3DWB (no ADC, no RTDs)",
}


def sim_variant(directory: Path, name: str) -> tuple[Path, Path] | None:
    """Board and config for a variant of the default plant (None: the shipped files)."""
    if name == "default":
        return None
    board, config = _sim_files()
    sensors = board["board"]["sensors"]
    if name == "adc252":
        for s in sensors:
            if s["chip"] == "ads131m04":
                s["odr_hz"] = 251.96850393700788
    else:
        drop = {"ads131m04"} if name == "no-adc" else {"ads131m04", "max31865"}
        kept = [s for s in sensors if s["chip"] not in drop]
        board["board"]["sensors"] = kept
        ids = {s["id"] for s in kept}
        for m in config["machines"]:
            m["sensors"] = [s for s in m["sensors"] if s["sensor"] in ids]
    board["board"]["name"] = f"sim-{name}"
    return _write(directory, board, config)


def _write(directory: Path, board: dict, config: dict) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    board_path = directory / "board.toml"
    config_path = directory / "config.toml"
    board_path.write_text(to_toml(board), encoding="utf-8")
    config_path.write_text(to_toml(config), encoding="utf-8")
    return board_path, config_path


# -- timers installed on the classes at run time ----------------------------------------------


Namer = str | Callable[[tuple[Any, ...], str | None], str]


class Sections:
    """Exclusive time per named section: a wrapped call's time minus that of wrapped calls
    inside it (per thread). A section's name may be computed per call from the call's
    arguments and the name of the section it runs in."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._local = threading.local()

    def _stack(self) -> list[list[Any]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def timed(self, name: Namer, func: Callable[..., Any]) -> Callable[..., Any]:
        clock, totals, calls, stack_of = self.clock, self.totals, self.calls, self._stack

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack = stack_of()
            outer = stack[-1][0] if stack else None
            label = name if isinstance(name, str) else name(args, outer)
            entry = [label, 0.0]
            stack.append(entry)
            t0 = clock()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = clock() - t0
                stack.pop()
                totals[label] += elapsed - entry[1]
                calls[label] += 1
                if stack:
                    stack[-1][1] += elapsed

        return wrapper

    def wrap(self, owner: Any, attr: str, name: Namer) -> None:
        setattr(owner, attr, self.timed(name, getattr(owner, attr)))

    def snapshot(self) -> dict[str, float]:
        return dict(self.totals)


SIM = "sim bus + chip model"
SYNTHESIS = "synthesis"


def synthesis_total(sections: dict[str, float]) -> float:
    return sum(v for k, v in sections.items() if k.startswith(SYNTHESIS))


def _synthesis_name(args: tuple[Any, ...], outer: str | None) -> str:
    """Synthesis inside a chip's transfer is named after the chip (breakdown runs)."""
    if outer and outer.startswith((SIM, SYNTHESIS)) and ": " in outer:
        return f"{SYNTHESIS}: {outer.split(': ', 1)[1]}"
    return SYNTHESIS


def install_synthesis_timer(sections: Sections) -> None:
    """Time signal synthesis: every miss of a hal_sim block cache (chip blocks, machine mixes,
    sine tables, ring-down kernels) and the RTD model's conversion."""
    from hal_sim.chips.max31865 import Max31865Model
    from hal_sim.signal import LruCache

    original = LruCache.get

    def get(self: LruCache, key: Any, make: Callable[[], object]) -> object:
        return original(self, key, sections.timed(_synthesis_name, make))

    LruCache.get = get  # type: ignore[method-assign]
    sections.wrap(Max31865Model, "code_at", _synthesis_name)


_CHIP_NAMES = {
    "Iis3dwbModel": "iis3dwb",
    "Ads131m04Model": "ads131m04",
    "Max31865Model": "max31865",
    "Adxl355Model": "adxl355",
}


def _transfer_name(args: tuple[Any, ...], outer: str | None) -> str:
    device = args[0]
    chip = type(device.bus.chips.get(device.cs)).__name__
    return f"{SIM}: {_CHIP_NAMES.get(chip, chip)}"


def _poll_name(args: tuple[Any, ...], outer: str | None) -> str:
    return f"acquisition (driver, decode, ring): {args[0].driver.chip}"


def install_breakdown(sections: Sections) -> None:
    """The finer split for virtual time (see the module docstring). Install before the
    device is built: the scheduler keeps bound methods."""
    from dsp_ext.kernel import Analyzer
    from hal_sim.bus import SimGpioInput, SimSpiDevice
    from runtime.device import Device
    from runtime.pipeline.acquisition import AcquisitionUnit
    from runtime.scheduler import Scheduler

    sections.wrap(SimSpiDevice, "transfer", _transfer_name)
    sections.wrap(SimGpioInput, "read", f"{SIM}: ads131m04")  # the ADC's DRDY pin
    sections.wrap(AcquisitionUnit, "poll", _poll_name)
    sections.wrap(Analyzer, "analyze", "analysis kernel (C)")
    sections.wrap(Device, "_analyse", "analysis (Python: frame copy, readings, slow stages)")
    sections.wrap(Device, "_finish", "publish (live state, store queue)")
    sections.wrap(Device, "_publish", "publish (live state, store queue)")
    sections.wrap(Scheduler, "_run", "scheduler (task bookkeeping)")
    sections.wrap(Scheduler, "run_due", "scheduler (task bookkeeping)")
    sections.wrap(Scheduler, "next_release", "scheduler (task bookkeeping)")


class FrameCounter:
    """Counts analysed vibration frames (VibrationStage.compute calls) in any thread."""

    def __init__(self) -> None:
        from runtime.pipeline.vibration import VibrationStage

        self.count = 0
        original = VibrationStage.compute
        counter = self

        def compute(stage: Any, *args: Any) -> Any:
            counter.count += 1
            return original(stage, *args)

        VibrationStage.compute = compute  # type: ignore[method-assign]


class ResponseTimes:
    """Per acquisition run: (end - release) / period, to see the headroom before a miss."""

    def __init__(self) -> None:
        from runtime.scheduler import Scheduler

        self.ratios: list[float] = []
        self.late: set[float] = set()
        self.enabled = False
        original = Scheduler._run
        record = self

        def _run(scheduler: Any, task: Any) -> None:
            release = task.next_release
            original(scheduler, task)
            if record.enabled and task.name.startswith("acquire:"):
                ratio = (scheduler.clock.now() - release) / task.period
                record.ratios.append(ratio)
                if ratio > 1.0:
                    record.late.add(round(release, 6))

        Scheduler._run = _run  # type: ignore[method-assign]

    def late_batches(self) -> int:
        """Acquisition releases (instants) with at least one run past its deadline."""
        return len(self.late)

    def summary(self) -> dict[str, float]:
        if not self.ratios:
            return {}
        r = sorted(self.ratios)
        pick = lambda q: r[min(len(r) - 1, int(q * len(r)))]  # noqa: E731
        return {"p50": pick(0.5), "p99": pick(0.99), "p999": pick(0.999), "max": r[-1]}


def thread_cpu() -> dict[str, float]:
    """CPU seconds per live thread, by role."""
    out: dict[str, float] = defaultdict(float)
    for t in threading.enumerate():
        if t.ident is None:
            continue
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (OSError, AttributeError):
            continue
        if t is threading.main_thread():
            role = "loop"
        elif t.name.startswith("analysis"):
            role = "analysis worker"
        elif t.name == "esocore-store-writer":
            role = "store writer"
        else:
            role = "other threads"
        out[role] += cpu
    return dict(out)


def _diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def _overflows(device: Any) -> int:
    return sum(s.overflows for s in device.live.sensor_statuses())


def _reset_task_stats(device: Any) -> int:
    from runtime.scheduler import TaskStats

    misses = device.scheduler.total_deadline_misses()
    for task in device.scheduler.tasks:
        task.stats = TaskStats()
    return misses


# -- child runs -------------------------------------------------------------------------------


def child_virtual(args: argparse.Namespace) -> dict[str, Any]:
    """N sensors in virtual time: CPU per sensor per simulated second."""
    from drivers.clock import VirtualClock
    from runtime.session import open_session

    sections = Sections(time.perf_counter if args.breakdown else time.thread_time)
    install_synthesis_timer(sections)
    if args.breakdown:
        install_breakdown(sections)
    frames = FrameCounter()
    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp:
        board, config = generated_plant(Path(tmp) / "plant", args.sensors, args.slow)
        clock = VirtualClock(0.0)
        session = open_session(
            str(config), str(board), str(Path(tmp) / "data"), clock, lambda t: 1.7e9 + t, 0
        )
        device, store = session.device, session.store
        sched = device.scheduler
        try:
            sched.run_until(args.warmup, clock.set)
            store.flush()
            frames0, syn0, cpu0, thr0 = frames.count, sections.snapshot(), _cpu(), thread_cpu()
            t = args.warmup
            end = args.warmup + args.seconds
            while t < end:
                t = min(end, t + 10.0)
                sched.run_until(t, clock.set)
            store.flush()
            cpu = _cpu() - cpu0
            threads = _diff(thread_cpu(), thr0)
            secs = _diff(sections.snapshot(), syn0)
            health = device.health()
            result = {
                "mode": "virtual",
                "sensors": args.sensors,
                "slow": args.slow,
                "breakdown": args.breakdown,
                "simulated_s": args.seconds,
                "cpu_s": cpu,
                "threads": threads,
                "sections": secs,
                "frames": frames.count - frames0,
                "overflows": health["overflows"],
                "deadline_misses": health["deadline_misses"],
                "store": store.stats(),
            }
        finally:
            session.close()
    return result


def _cpu() -> float:
    return time.process_time()


def child_realtime(args: argparse.Namespace) -> dict[str, Any]:
    """N sensors in real time, as `esocore run` runs them (analysis in a worker thread,
    switch interval 0.5 ms), without the HTTP server; plus the what-if options."""
    from drivers.clock import RealClock
    from runtime.session import open_session

    if args.core is not None:
        os.sched_setaffinity(0, {args.core})  # before any thread starts: they inherit it
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # threads inherit it too
    if args.rt:  # other users' processes on the core can no longer preempt the device
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_LOOP))
    sections = Sections(time.thread_time)
    install_synthesis_timer(sections)
    frames = FrameCounter()
    response = ResponseTimes()
    pauses = GcPauses()
    if args.yield_budget is not None:
        install_batched_yield(args.yield_budget)
    result: dict[str, Any] = {
        "mode": "realtime",
        "sensors": args.sensors,
        "slow": args.slow,
        "seconds": args.seconds,
        "core": args.core,
        "affinity": sorted(os.sched_getaffinity(0)),
        "whatif": whatif_label(args),
    }
    cores = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp:
        board, config = generated_plant(Path(tmp) / "plant", args.sensors, args.slow)
        clock = RealClock()
        offset = time.time() - clock.now()
        t_open = time.perf_counter()
        session = open_session(
            str(config), str(board), str(Path(tmp) / "data"), clock, lambda t: t + offset, 0
        )
        result["open_s"] = time.perf_counter() - t_open
        device, store = session.device, session.store
        if args.canned:
            can_synthesis(session.hardware, sections)
        if args.null_store:
            device.store = NullReadings(store)
        marks: dict[str, Any] = {}

        def mark(name: str) -> None:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            marks[name] = {
                "wall": time.perf_counter(),
                "cpu": _cpu(),
                "threads": thread_cpu(),
                "sections": sections.snapshot(),
                "frames": frames.count,
                "overflows": _overflows(device),
                "nivcsw": ru.ru_nivcsw,
                "cores": core_ticks(cores),
            }

        async def drive() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def begin() -> None:
                if args.gc_freeze:
                    gc.freeze()  # what-if: start-up objects never scanned again
                result["startup_deadline_misses"] = _reset_task_stats(device)
                response.enabled = pauses.enabled = True
                mark("begin")

            def end() -> None:
                mark("end")
                response.enabled = pauses.enabled = False
                result["task_stats"] = device.scheduler.stats()
                stop.set()

            def boot() -> None:  # every chip has been drained once or twice by now
                result["boot_overflows"] = _overflows(device)

            loop.call_later(0.05, boot)
            loop.call_later(args.warmup, begin)
            loop.call_later(args.warmup + args.seconds, end)
            await device.scheduler.run_realtime(stop)

        sys.setswitchinterval(args.switch_interval)
        initializer = None
        if args.nice_helpers:  # what-if: the OS prefers the loop thread over the helpers
            initializer = _renice_self
            for t in threading.enumerate():
                if t.name == "esocore-store-writer" and t.native_id is not None:
                    os.setpriority(os.PRIO_PROCESS, t.native_id, NICE)
        if args.rt:  # the helpers one real-time level below the loop thread
            initializer = _rt_helper
            for t in threading.enumerate():
                if t.name == "esocore-store-writer" and t.native_id is not None:
                    os.sched_setscheduler(t.native_id, os.SCHED_FIFO, os.sched_param(RT_HELPERS))
        try:
            with ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="analysis", initializer=initializer
            ) as executor:
                if args.analysis == "worker":
                    device.use_worker_thread(executor)
                mark("start")
                asyncio.run(drive())
        finally:
            result["store"] = store.stats()
            session.close()
    b, e = marks["begin"], marks["end"]
    stats = result.pop("task_stats")
    window = e["wall"] - b["wall"]
    acquire = [s for name, s in stats.items() if name.startswith("acquire:")]
    ticks = _diff(e["cores"], b["cores"])
    own = e["cpu"] - b["cpu"]
    result.update(
        window_s=window,
        cpu_s=own,
        threads=_diff(e["threads"], b["threads"]),
        sections=_diff(e["sections"], b["sections"]),
        frames=e["frames"] - b["frames"],
        frames_due=args.sensors * window,
        startup_overflows=b["overflows"],
        overflows=e["overflows"] - b["overflows"],
        deadline_misses=sum(s["deadline_misses"] for s in stats.values()),
        acquire_misses=sum(s["deadline_misses"] for s in acquire),
        skipped_releases=sum(s["skipped_releases"] for s in stats.values()),
        max_lateness_s=max((s["max_lateness_s"] for s in acquire), default=0.0),
        response=response.summary(),
        late_batches=response.late_batches(),
        gc=pauses.summary(),
        involuntary_switches=e["nivcsw"] - b["nivcsw"],
        # Others' load on our core(s) during the window: busy ticks minus our own CPU.
        foreign_cpu=max(0.0, (ticks.get("busy", 0.0) - own) / window),
        steal=ticks.get("steal", 0.0) / window,
    )
    return result


def whatif_label(args: argparse.Namespace) -> str:
    parts = [f"nice {args.nice}"] if args.nice else []
    if args.rt:
        parts.append("SCHED_FIFO")
    if args.canned:
        parts.append("canned synthesis")
    if args.gc_freeze:
        parts.append("gc.freeze")
    if args.null_store:
        parts.append("no store writes")
    if args.yield_budget is not None:
        parts.append(f"yield every {args.yield_budget * 1e3:g} ms")
    if args.switch_interval != 0.0005:
        parts.append(f"switch interval {args.switch_interval * 1e3:g} ms")
    if args.analysis != "worker":
        parts.append("analysis inline")
    if args.nice_helpers:
        parts.append("helpers at nice 19")
    return ", ".join(parts) or "as shipped"


class GcPauses:
    """Cyclic garbage collector pauses (any thread), from gc.callbacks."""

    def __init__(self) -> None:
        self.enabled = False
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif self.enabled:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))

    def summary(self) -> dict[str, float]:
        gen2 = [p for g, p in self.pauses if g == 2]
        return {
            "count": len(self.pauses),
            "total_s": sum(p for _, p in self.pauses),
            "max_s": max((p for _, p in self.pauses), default=0.0),
            "gen2": len(gen2),
            "gen2_max_s": max(gen2, default=0.0),
        }


def core_ticks(cores: list[int]) -> dict[str, float]:
    """Busy and steal time (s) of these CPUs from /proc/stat."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {"busy": 0.0, "steal": 0.0}
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
                v = [int(x) for x in fields]
                # user nice system idle iowait irq softirq steal
                out["busy"] += (v[0] + v[1] + v[2] + v[5] + v[6]) / hz
                out["steal"] += v[7] / hz
    return out


def can_synthesis(hardware: Any, sections: Sections, period_blocks: int = 16) -> None:
    """What-if for a real board: each IIS3DWB model serves its first `period_blocks` signal
    blocks (2.5 s) over and over, made once during warm-up, so no synthesis is left at run
    time (the simulated bus and register model still run)."""
    from hal_sim.chips import Iis3dwbModel

    for driver in hardware.sensors.values():
        spi = getattr(driver, "spi", None)
        model = getattr(getattr(spi, "bus", None), "chips", {}).get(getattr(spi, "cs", None))
        if isinstance(model, Iis3dwbModel):
            model._blocks = CannedBlocks(period_blocks, sections)


class CannedBlocks:
    """Stands in for a chip model's block cache: block i is block i % period."""

    def __init__(self, period: int, sections: Sections) -> None:
        self.period = period
        self.sections = sections
        self._items: dict[Any, object] = {}

    def get(self, key: Any, make: Callable[[], object]) -> object:
        canned = (key[0] % self.period, *key[1:])
        value = self._items.get(canned)
        if value is None:
            value = self._items[canned] = self.sections.timed(SYNTHESIS, make)()
        return value

    def clear(self) -> None:
        pass  # keep the canned blocks across FIFO restarts


class NullReadings:
    """What-if: the device's store, minus readings and spectra (events still go through)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def add_readings(self, readings: Any) -> int:
        return 0

    def add_spectrum(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def install_batched_yield(budget_s: float) -> None:
    """What-if for the scheduler's real-time loop: give control back to the event loop when
    `budget_s` has passed (and after each batch), not after every task. A copy of
    Scheduler._loop with that one change."""
    import contextlib

    from runtime.scheduler import Scheduler

    async def _loop(self: Scheduler, stop: asyncio.Event) -> None:
        while not stop.is_set():
            delay = self.next_release() - self.clock.now()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(delay, 1.0))
                continue
            now = self.clock.now()
            due = [t for t in self.tasks if t.next_release <= now]
            due.sort(key=lambda t: (-t.priority, t.next_release, t.order))
            last = time.perf_counter()
            for task in due:
                if stop.is_set():
                    break
                self._run(task)
                if time.perf_counter() - last >= budget_s:
                    await asyncio.sleep(0)
                    last = time.perf_counter()
            await asyncio.sleep(0)

    Scheduler._loop = _loop  # type: ignore[method-assign]


NICE = 19


RT_LOOP, RT_HELPERS = 2, 1


def _rt_helper() -> None:
    os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(RT_HELPERS))


def _renice_self() -> None:
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


def child_breakdown(args: argparse.Namespace) -> dict[str, Any]:
    """The default plant (or a variant) in virtual time like `esocore sim`, instrumented."""
    from drivers.clock import VirtualClock
    from runtime.session import open_session

    sections = Sections(time.thread_time if args.clean else time.perf_counter)
    install_synthesis_timer(sections)
    if not args.clean:
        install_breakdown(sections)
    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp:
        files = sim_variant(Path(tmp) / "plant", args.variant)
        config, board = (str(files[1]), str(files[0])) if files else (None, None)
        clock = VirtualClock(0.0)
        session = open_session(config, board, str(Path(tmp) / "data"), clock, lambda t: t, 0)
        sched = session.device.scheduler
        polls_before = {t.name: t.stats.runs for t in sched.tasks}
        try:
            cpu0, thr0, wall0 = _cpu(), thread_cpu(), time.perf_counter()
            t = 0.0
            while t < args.seconds:
                t = min(args.seconds, t + 10.0)
                sched.run_until(t, clock.set)
            session.store.flush()
            wall = time.perf_counter() - wall0
            cpu = _cpu() - cpu0
            threads = _diff(thread_cpu(), thr0)
            runs = {t.name: t.stats.runs - polls_before.get(t.name, 0) for t in sched.tasks}
        finally:
            session.close()
    return {
        "mode": "breakdown",
        "variant": args.variant,
        "simulated_s": args.seconds,
        "wall_s": wall,
        "cpu_s": cpu,
        "threads": threads,
        "sections": sections.snapshot(),
        "calls": dict(sections.calls),
        "runs_per_s": {k: v / args.seconds for k, v in runs.items()},
    }


# -- parents: run children, tabulate ----------------------------------------------------------


def _child(argv: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if len(values) < 2:
        return fmt.format(values[0]) if values else "-"
    return f"{fmt.format(_med(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def parent_virtual(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for n in _ints(args.sensors):
        for rep in range(args.repeat):
            argv = ["_virtual", "--sensors", str(n), "--seconds", str(args.seconds)]
            if args.slow:
                argv.append("--slow")
            clean = _child(argv, 3600)
            detail = _child([*argv, "--breakdown"], 3600) if rep == 0 else None
            rows.append({"clean": clean, "breakdown": detail})
            print(f"virtual N={n} rep {rep}: {clean['cpu_s']:.2f} s CPU", file=sys.stderr)
    print(table_virtual(rows))
    return rows


def table_virtual(rows: list[dict[str, Any]]) -> str:
    by_n: dict[int, list[dict]] = defaultdict(list)
    details: dict[int, dict] = {}
    for row in rows:
        n = row["clean"]["sensors"]
        by_n[n].append(row["clean"])
        if row["breakdown"]:
            details[n] = row["breakdown"]
    out = [
        "| N | CPU per sensor per simulated s: all | synthesis | sim bus + chip models "
        "(est.) | **device** | device, % of a core per sensor | sensors per core (device) |",
        "|---|---|---|---|---|---|---|",
    ]
    scaled_by_n = {}
    for n, runs in sorted(by_n.items()):
        per = [r["cpu_s"] / (n * r["simulated_s"]) * 1e3 for r in runs]
        syn = [synthesis_total(r["sections"]) / (n * r["simulated_s"]) * 1e3 for r in runs]
        model = 0.0
        if n in details:
            d = details[n]
            scaled = scaled_breakdown(d, _med([r["cpu_s"] for r in runs]))
            scaled_by_n[n] = scaled
            model = sum(v for k, v in scaled.items() if k.startswith(SIM))
            model = model / (n * d["simulated_s"]) * 1e3
        dev = [p - s - model for p, s in zip(per, syn, strict=True)]
        out.append(
            f"| {n} | {_spread(per)} ms | {_spread(syn)} ms | {model:.2f} ms | "
            f"**{_spread(dev)} ms** | {_med(dev) / 10:.3f} % | {1000 / _med(dev):.0f} |"
        )
    out.append("")
    for n, scaled in scaled_by_n.items():
        sim_s = details[n]["simulated_s"]
        out.append(
            breakdown_table(scaled, n * sim_s, f"N = {n}: ms per sensor per simulated second")
        )
    return "\n".join(out)


def scaled_breakdown(detail: dict[str, Any], clean_cpu: float) -> dict[str, float]:
    """The instrumented run's sections (wall clock, exclusive) plus the store writer thread
    and the unattributed rest, scaled so they add up to the clean run's process CPU: the
    instrumentation's own cost is spread in proportion."""
    parts = dict(detail["sections"])
    parts["store writer thread (SQLite)"] = detail["threads"].get("store writer", 0.0)
    attributed = sum(parts.values())
    rest = detail["cpu_s"] - attributed
    parts["rest of the loop thread (unattributed)"] = max(0.0, rest)
    total = sum(parts.values())
    return {k: v * clean_cpu / total for k, v in parts.items()}


_ORDER = (
    "acquisition (driver, decode, ring): iis3dwb",
    f"{SIM}: iis3dwb",
    f"{SYNTHESIS}: iis3dwb",
    "acquisition (driver, decode, ring): ads131m04",
    f"{SIM}: ads131m04",
    f"{SYNTHESIS}: ads131m04",
    "acquisition (driver, decode, ring): max31865",
    f"{SIM}: max31865",
    f"{SYNTHESIS}: max31865",
    SYNTHESIS,
    "analysis kernel (C)",
    "analysis (Python: frame copy, readings, slow stages)",
    "publish (live state, store queue)",
    "store writer thread (SQLite)",
    "scheduler (task bookkeeping)",
    "rest of the loop thread (unattributed)",
)


def breakdown_table(scaled: dict[str, float], per: float, title: str) -> str:
    """Rows in ms per `per` (sensor-seconds or simulated seconds), with shares."""
    total = sum(scaled.values())
    lines = [f"| {title} | ms | share |", "|---|---|---|"]
    names = [k for k in _ORDER if k in scaled] + sorted(k for k in scaled if k not in _ORDER)
    for name in names:
        value = scaled[name]
        if value <= 0.0:
            continue
        lines.append(f"| {name} | {value / per * 1e3:.3f} | {100 * value / total:.1f} % |")
    lines.append(f"| **all (process CPU)** | **{total / per * 1e3:.3f}** | 100 % |")
    return "\n".join(lines) + "\n"


def parent_realtime(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for n in _ints(args.sensors):
        for rep in range(args.repeat):
            argv = ["_realtime", "--sensors", str(n), "--seconds", str(args.seconds)]
            argv += ["--warmup", str(args.warmup)]
            if args.core is not None:
                argv += ["--core", str(args.core)]
            if args.slow:
                argv.append("--slow")
            argv += ["--analysis", args.analysis, *_whatif_argv(args)]
            if args.nice_helpers:
                argv.append("--nice-helpers")
            r = _child(argv, args.seconds + 600)
            rows.append(r)
            print(
                f"realtime N={n} rep {rep}: cpu {r['cpu_s'] / r['window_s']:.2f} core, "
                f"overflows {r['overflows']}, misses {r['deadline_misses']}, frames "
                f"{r['frames']}/{r['frames_due']:.0f}",
                file=sys.stderr,
            )
    print(table_realtime(rows, args.model_ms))
    return rows


def table_realtime(rows: list[dict[str, Any]], model_ms: float) -> str:
    by_n: dict[tuple[str, int, bool], list[dict]] = defaultdict(list)
    for r in rows:
        by_n[(r["whatif"], r["sensors"], r["slow"])].append(r)
    out = [
        "| what | N | core busy (all threads) | synthesis | **device per sensor** | "
        "loop / worker / writer thread | overflows (at boot / in warm-up) | deadline misses (late "
        "releases) | frames analysed / due | acquire response p99 / max (periods) | "
        "GC gen-2 max | others on the core |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (whatif, n, slow), runs in by_n.items():
        busy = [r["cpu_s"] / r["window_s"] for r in runs]
        syn = [synthesis_total(r["sections"]) / r["window_s"] for r in runs]
        # % of a core per sensor, net of the simulated bus and chip models (model_ms per
        # sensor per second, measured in virtual time: `virtual`'s breakdown)
        dev = [(b - s) / n * 100 - model_ms / 10 for b, s in zip(busy, syn, strict=True)]

        def per_thread(role: str, runs: list[dict] = runs) -> float:
            return _med([r["threads"].get(role, 0.0) / r["window_s"] for r in runs])

        ovf = " ".join(
            f"{r['overflows']} ({r['boot_overflows']}/{r['startup_overflows']})" for r in runs
        )
        miss = " ".join(f"{r['deadline_misses']} ({r['late_batches']})" for r in runs)
        frames = " ".join(f"{r['frames']}/{r['frames_due']:.0f}" for r in runs)
        p99 = _med([r["response"].get("p99", float("nan")) for r in runs])
        mx = max(r["response"].get("max", float("nan")) for r in runs)
        gc2 = max(r["gc"]["gen2_max_s"] for r in runs) * 1e3
        foreign = _spread([r["foreign_cpu"] for r in runs])
        label = f"{n} + slow chips" if slow else str(n)
        out.append(
            f"| {whatif} | {label} | {_spread(busy)} | {_spread(syn, '{:.3f}')} | "
            f"**{_spread(dev)} %** | {per_thread('loop'):.2f} / "
            f"{per_thread('analysis worker'):.2f} / {per_thread('store writer'):.2f} | "
            f"{ovf} | {miss} | {frames} | {p99:.2f} / {mx:.2f} | {gc2:.1f} ms | {foreign} |"
        )
    return "\n".join(out)


SPEED = re.compile(
    r"simulated (\S+) in ([\d.]+) s \((\d+)x real time\); overflows (\d+), "
    r"deadline misses (\d+)"
)


def parent_sim(args: argparse.Namespace) -> list[dict[str, Any]]:
    from runtime.durations import parse_duration

    duration = parse_duration(args.duration, "--duration")
    esocore = ROOT / ".venv" / "bin" / "esocore"
    rows = []
    for variant in args.variants.split(","):
        for rep in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
                files = sim_variant(Path(tmp) / "plant", variant)
                cmd = [str(esocore), "sim", "--duration", args.duration, "--quiet"]
                cmd += ["--data-dir", str(Path(tmp) / "data")]
                if files:
                    cmd += ["--board", str(files[0]), "--config", str(files[1])]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                wall = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr)
            m = SPEED.search(proc.stdout)
            if not m:
                raise RuntimeError(f"unexpected output: {proc.stdout!r}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            rows.append(
                {
                    "variant": variant,
                    "speedup_reported": int(m.group(3)),
                    "elapsed_reported_s": float(m.group(2)),
                    "process_wall_s": wall,
                    "process_cpu_s": cpu,
                    "speedup_cpu": duration / cpu,
                    "overflows": int(m.group(4)),
                    "deadline_misses": int(m.group(5)),
                }
            )
            print(f"sim {variant} run {rep}: {m.group(0)}", file=sys.stderr)
    print(table_sim(rows))
    return rows


def table_sim(rows: list[dict[str, Any]]) -> str:
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by[r["variant"]].append(r)
    base = _med([r["speedup_reported"] for r in by.get("default", [])]) or None
    out = [
        "| plant | runs | speed-up (as printed, wall) | speed-up by process CPU (incl. start-up) "
        "| vs default |",
        "|---|---|---|---|---|",
    ]
    for variant, runs in by.items():
        sp = [r["speedup_reported"] for r in runs]
        cpu = [r["speedup_cpu"] for r in runs]
        rel = f"{_med(sp) / base:.2f}x" if base else "-"
        out.append(
            f"| {variant}: {SIM_VARIANTS.get(variant, '')} | {len(runs)} | "
            f"**{_spread(sp, '{:.0f}')}x** | {_spread(cpu, '{:.0f}')}x | {rel} |"
        )
    return "\n".join(out)


def parent_breakdown(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for variant in args.variants.split(","):
        argv = ["_breakdown", "--variant", variant, "--seconds", str(args.seconds)]
        clean = [_child([*argv, "--clean"], 3600) for _ in range(args.repeat)]
        detail = _child(argv, 3600)
        rows.append({"variant": variant, "clean": clean, "breakdown": detail})
        cpu = _med([c["cpu_s"] for c in clean])
        sim_s = detail["simulated_s"]
        scaled = scaled_breakdown(detail, cpu)
        speed = [c["simulated_s"] / c["cpu_s"] for c in clean]
        print(
            breakdown_table(
                scaled,
                sim_s,
                f"{variant}: ms per simulated second (clean runs: {_spread(speed, '{:.0f}')}x "
                "by process CPU)",
            )
        )
        runs = ", ".join(f"{k} {v:.0f}/s" for k, v in sorted(detail["runs_per_s"].items()))
        print(f"task runs per simulated second: {runs}\n")
    return rows


def _whatif_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--canned",
        action="store_true",
        help="what-if for a real board: no synthesis at run time (each IIS3DWB model repeats "
        "its first 16 signal blocks, 2.5 s, made during the warm-up)",
    )
    p.add_argument("--gc-freeze", action="store_true", help="what-if: gc.freeze() after warm-up")
    p.add_argument("--null-store", action="store_true", help="what-if: readings not stored")
    p.add_argument(
        "--yield-budget", type=float, help="what-if: yield to the event loop every S seconds"
    )
    p.add_argument("--switch-interval", type=float, default=0.0005, help="sys.setswitchinterval")
    p.add_argument(
        "--rt",
        action="store_true",
        help="SCHED_FIFO: the loop thread at priority 2, analysis worker and store writer at 1, "
        "so others' processes cannot preempt the device (a dedicated core; needs root)",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run at this nice value (e.g. -10: other users' processes on the core get a "
        "tenth of the CPU they would get otherwise; needs root)",
    )


def _whatif_argv(args: argparse.Namespace) -> list[str]:
    argv = []
    for flag in ("canned", "gc_freeze", "null_store"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    if args.yield_budget is not None:
        argv += ["--yield-budget", str(args.yield_budget)]
    argv += ["--switch-interval", str(args.switch_interval), "--nice", str(args.nice)]
    if args.rt:
        argv.append("--rt")
    return argv


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("virtual", help="CPU per sensor per simulated second, N accelerometers")
    v.add_argument("--sensors", default="1,10,50,100")
    v.add_argument("--seconds", type=float, default=30.0)
    v.add_argument("--repeat", type=int, default=3)
    v.add_argument("--slow", action="store_true", help="add the sim board's RTDs and ADC")

    r = sub.add_parser("realtime", help="N accelerometers in real time on one core")
    r.add_argument("--sensors", default="10,25,50,75,100")
    r.add_argument("--seconds", type=float, default=20.0)
    r.add_argument("--warmup", type=float, default=5.0)
    r.add_argument("--repeat", type=int, default=3)
    r.add_argument("--core", type=int, default=1, help="pin to this core (-1: no pinning)")
    r.add_argument("--slow", action="store_true", help="add the sim board's RTDs and ADC")
    r.add_argument(
        "--analysis",
        choices=("worker", "inline"),
        default="worker",
        help="what-if: 'inline' analyses on the loop thread (as in virtual time)",
    )
    r.add_argument(
        "--nice-helpers",
        action="store_true",
        help="what-if: analysis worker and store writer threads at nice 19",
    )
    _whatif_options(r)
    r.add_argument(
        "--model-ms",
        type=float,
        default=0.0,
        help="simulated bus + chip models, ms per sensor per second (from `virtual`), "
        "subtracted from the device share",
    )

    s = sub.add_parser("sim", help="`esocore sim` speed-up, default plant and variants")
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--duration", default="10m")
    s.add_argument("--variants", default=",".join(SIM_VARIANTS))

    b = sub.add_parser("breakdown", help="where the time of `esocore sim` goes (instrumented)")
    b.add_argument("--seconds", type=float, default=300.0)
    b.add_argument("--variants", default="default")
    b.add_argument("--repeat", type=int, default=3, help="clean (uninstrumented) runs")

    t = sub.add_parser("table", help="print the tables of saved --json results again")
    t.add_argument("kind", choices=("virtual", "realtime", "sim"))
    t.add_argument("files", nargs="+", help="--json files, or bench/results/runtime_issue4.json")
    t.add_argument("--model-ms", type=float, default=0.0, help="see realtime --model-ms")

    for name in ("virtual", "realtime", "sim", "breakdown"):
        sub.choices[name].add_argument("--json", help="also write the raw figures here")

    cv = sub.add_parser("_virtual")
    cv.add_argument("--sensors", type=int, required=True)
    cv.add_argument("--seconds", type=float, default=30.0)
    cv.add_argument("--warmup", type=float, default=3.0)
    cv.add_argument("--slow", action="store_true")
    cv.add_argument("--breakdown", action="store_true")
    cr = sub.add_parser("_realtime")
    cr.add_argument("--sensors", type=int, required=True)
    cr.add_argument("--seconds", type=float, default=25.0)
    cr.add_argument("--warmup", type=float, default=5.0)
    cr.add_argument("--core", type=int)
    cr.add_argument("--slow", action="store_true")
    cr.add_argument("--analysis", choices=("worker", "inline"), default="worker")
    cr.add_argument("--nice-helpers", action="store_true")
    _whatif_options(cr)
    cb = sub.add_parser("_breakdown")
    cb.add_argument("--variant", default="default")
    cb.add_argument("--seconds", type=float, default=300.0)
    cb.add_argument("--clean", action="store_true")

    args = p.parse_args(argv)
    if args.command.startswith("_"):
        run = {"_virtual": child_virtual, "_realtime": child_realtime}
        result = run.get(args.command, child_breakdown)(args)
        print(json.dumps(result))
        return 0
    if args.command == "table":
        rows = []
        for f in args.files:
            saved = json.loads(Path(f).read_text("utf-8"))
            rows += saved[args.kind] if isinstance(saved, dict) else saved
        if args.kind == "virtual":
            print(table_virtual(rows))
        elif args.kind == "realtime":
            print(table_realtime(rows, args.model_ms))
        else:
            print(table_sim(rows))
        return 0
    if getattr(args, "core", None) == -1:
        args.core = None
    parents = {
        "virtual": parent_virtual,
        "realtime": parent_realtime,
        "sim": parent_sim,
        "breakdown": parent_breakdown,
    }
    rows = parents[args.command](args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
