"""`esocore run`: the device in real time, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from drivers.clock import RealClock

from .fault_option import parse_fault
from .session import Session, open_session
from .status_line import status_line


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("run", help="run the device (the simulated board by default)")
    p.add_argument("--config", help="device config (default: the one shipped for the board)")
    p.add_argument("--board", help="board name or file (default: from the config, 'sim')")
    p.add_argument("--data-dir", default="data", help="where the database lives (./data)")
    p.add_argument("--seed", type=int, default=0, help="random seed of a simulated plant")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="simulated fault MACHINE:KIND:SEVERITY@OFFSET, e.g. motor-1:imbalance:0.5@30s",
    )
    p.add_argument("--quiet", action="store_true", help="no status lines")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    clock = RealClock()
    offset = time.time() - clock.now()
    session = open_session(
        args.config,
        args.board,
        args.data_dir,
        clock,
        lambda t: t + offset,
        args.seed,
        [parse_fault(spec) for spec in args.fault],
    )
    print(
        f"esocore: {session.config.device.name} running, data in {args.data_dir} (Ctrl-C to stop)",
        flush=True,
    )
    # The loop thread must get the GIL back quickly from the analysis worker: FIFO drains
    # are due every few milliseconds.
    sys.setswitchinterval(0.0005)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis") as executor:
        session.device.use_worker_thread(executor)
        try:
            asyncio.run(_serve(session, args.quiet))
        finally:
            executor.shutdown(wait=True)
            session.device.log_event("shutdown", "device stopped")
            session.close()
    print("esocore: stopped, store flushed", flush=True)
    return 0


async def _serve(session: Session, quiet: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not quiet:
        interval = session.config.device.status_interval_s
        session.device.scheduler.add(
            "status",
            interval,
            lambda: print(status_line(session.device), flush=True),
            offset=interval,
        )
    try:
        await session.device.scheduler.run_realtime(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
