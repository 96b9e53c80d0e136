"""`esocore run`: the device in real time, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from drivers.clock import RealClock

from .api.server import Listener, RunningServer, choose_port, start_server
from .api.service import build_api
from .api.tls import ensure_certificate
from .config import HttpConfig
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
    p.add_argument("--http-port", type=int, help="HTTPS port (default 443 if allowed, else 8443)")
    p.add_argument("--http-host", help="address to listen on (default from config, 0.0.0.0)")
    p.add_argument("--no-tls", action="store_true", help="serve plain HTTP (development only)")
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
        start=False,
    )
    print(
        f"esocore: {session.config.device.name} running, data in {args.data_dir} (Ctrl-C to stop)",
        flush=True,
    )
    http = session.config.http
    http = http.model_copy(
        update={
            "port": args.http_port if args.http_port is not None else http.port,
            "host": args.http_host or http.host,
            "tls": http.tls and not args.no_tls,
        }
    )
    # The loop thread must get the GIL back quickly from the analysis worker: FIFO drains
    # are due every few milliseconds.
    sys.setswitchinterval(0.0005)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis") as executor:
        session.device.use_worker_thread(executor)
        try:
            asyncio.run(_serve(session, args.quiet, http, args.data_dir))
        finally:
            executor.shutdown(wait=True)
            session.device.log_event("shutdown", "device stopped")
            session.close()
    print("esocore: stopped, store flushed", flush=True)
    return 0


async def _serve(session: Session, quiet: bool, http: HttpConfig, data_dir: str) -> None:
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
    server = None
    try:
        if http.enabled:
            server = await _start_api(session, http, data_dir)
        session.device.start()
        await session.device.scheduler.run_realtime(stop)
    finally:
        if server is not None:
            await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _start_api(session: Session, http: HttpConfig, data_dir: str) -> RunningServer:
    app, _ = build_api(session, data_dir, http)
    certfile = keyfile = None
    if http.tls:
        if http.cert_file and http.key_file:
            certfile, keyfile = http.cert_file, http.key_file
        else:
            cert, key = ensure_certificate(data_dir)
            certfile, keyfile = str(cert), str(key)
    listener = Listener(http.host, choose_port(http.host, http.port, http.tls), http.tls)
    server = await start_server(app, listener, certfile, keyfile)
    print(f"esocore: REST API at {listener.base_url}", flush=True)
    if http.tls and not http.cert_file:
        print(
            "esocore: self-signed certificate; clients trust it with `esocore cert export`",
            flush=True,
        )
    return server
