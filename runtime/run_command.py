"""`esocore run`: the device in real time, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from drivers.clock import RealClock

from .api.context import ApiContext
from .api.server import Listener, choose_port
from .api.server_thread import ApiThread, caller_on
from .api.service import build_api
from .api.tls import ensure_certificate
from .config import DeviceConfig, HttpConfig
from .device import LOOP_LANES
from .fault_option import parse_fault
from .fieldbus.frontends import (
    FieldbusFrontEnds,
    ModbusFrontEnd,
    ProfibusFrontEnd,
    modbus_overrides,
    profibus_overrides,
)
from .fieldbus.profibus import service as profibus
from .fieldbus.profibus.config import BAUD_RATES
from .fieldbus.service import with_overrides
from .scheduler import LaneThread
from .session import Session, open_session
from .status_line import status_line


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("run", help="run the device (the simulated board by default)")
    p.add_argument(
        "--config",
        help="device config (default: DATA_DIR/device.toml if it exists, else the one shipped "
        "for the board)",
    )
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
    p.add_argument(
        "--modbus-port", type=int, help="Modbus TCP port (default 502 if allowed, else 5020)"
    )
    p.add_argument("--modbus-host", help="address Modbus TCP listens on (default from config)")
    p.add_argument("--modbus-rtu", metavar="DEVICE", help="serve Modbus RTU on this serial port")
    p.add_argument("--modbus-rtu-baud", type=int, metavar="N", help="RTU baud rate (19200)")
    p.add_argument(
        "--profibus-port", metavar="DEVICE", help="be a PROFIBUS DP slave on this serial port"
    )
    p.add_argument(
        "--profibus-address",
        type=_station_address,
        metavar="N",
        help="DP station address 0..125 (default from config, 8; over the board's switch)",
    )
    p.add_argument(
        "--profibus-baud",
        type=int,
        choices=BAUD_RATES,
        metavar="N",
        help="DP baud rate (default from config, 19200)",
    )
    p.set_defaults(handler=run)


def _station_address(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 125:
        raise argparse.ArgumentTypeError(f"{value} is not a DP station address (0..125)")
    return value


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
    if session.notifier is not None:
        session.notifier.start()  # notifications queued before a restart go out now
    print(
        f"esocore: {session.config.device.name} running, data in {args.data_dir} (Ctrl-C to stop)",
        flush=True,
    )
    if session.source is not None:
        print(f"esocore: config from {session.source.path}", flush=True)
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
        services = Services(session, executor, args.quiet)
        modbus_flags = (args.modbus_port, args.modbus_rtu, args.modbus_rtu_baud, args.modbus_host)
        services.modbus = ModbusFrontEnd(
            with_overrides(session.config.modbus, *modbus_flags), modbus_overrides(*modbus_flags)
        )
        profibus_flags = (args.profibus_port, args.profibus_address, args.profibus_baud)
        switch = session.hardware.address_switch
        services.profibus = ProfibusFrontEnd(
            profibus.with_overrides(session.config.profibus, *profibus_flags),
            profibus_overrides(*profibus_flags),
            read_switch=switch.read if switch is not None else None,
        )
        try:
            asyncio.run(_serve(services, http, args.data_dir))
        finally:
            executor.shutdown(wait=True)
            session.device.log_event("shutdown", "device stopped")
            session.close()
    print("esocore: stopped, store flushed", flush=True)
    return 0


class Services:
    """The device's services on the loop (the scheduler and its tasks), restartable inside
    the process with a new config: the scheduler loop stops, the chips stop, a new device is
    built on the same board, store and clock, and started. The HTTP server keeps serving."""

    def __init__(self, session: Session, executor: ThreadPoolExecutor, quiet: bool) -> None:
        self.session = session
        self.executor = executor
        self.quiet = quiet
        self.ctx: ApiContext | None = None
        self.modbus: ModbusFrontEnd | None = None  # set before _serve
        self.profibus: ProfibusFrontEnd | None = None
        self.fieldbus: FieldbusFrontEnds | None = None  # on the loop, in _serve
        self._halt = asyncio.Event()  # ends the running scheduler loop
        self._stopping = False
        self._pending: list[tuple[DeviceConfig, asyncio.Future[None]]] = []
        self._priority_reported = False

    def stop(self) -> None:
        self._stopping = True
        self._halt.set()

    def restart(self, config: DeviceConfig) -> asyncio.Future[None]:
        """Restart with `config` (already checked against the board) as soon as the running
        task is done; the future resolves once the new device is up. Call it on the device's
        loop; `restart_from` gives front ends on other loops the same."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((config, future))
        self._halt.set()
        return future

    def restart_from(
        self, device_loop: asyncio.AbstractEventLoop
    ) -> Callable[[DeviceConfig], asyncio.Future[None]]:
        """`restart` for a caller on another thread's loop: its future is on the caller's."""

        async def restart_here(config: DeviceConfig) -> None:
            await self.restart(config)

        def restart(config: DeviceConfig) -> asyncio.Future[None]:
            running = asyncio.run_coroutine_threadsafe(restart_here(config), device_loop)
            return asyncio.wrap_future(running)

        return restart

    async def run(self) -> None:
        self._add_status_task()
        _freeze_startup_objects()
        self.session.device.start()
        try:
            while True:
                device = self.session.device
                acquisition = device.start_acquisition_thread()
                self._report_priority(acquisition)
                try:
                    await device.scheduler.run_realtime(self._halt, LOOP_LANES)
                finally:
                    await asyncio.to_thread(acquisition.stop)
                if self._stopping:
                    break
                self._halt = asyncio.Event()  # requests from now on restart once more
                pending, self._pending = self._pending, []
                if pending:
                    error = await self._rebuild(pending[-1][0])
                    for _, future in pending:
                        if error is None:
                            future.set_result(None)
                        else:
                            future.set_exception(error)
                if self._stopping:
                    break
        finally:
            for _, future in self._pending:
                future.cancel()

    async def _rebuild(self, config: DeviceConfig) -> Exception | None:
        session = self.session
        previous = session.config
        # Frames of the old device still in the worker finish first (into the same store).
        await asyncio.get_running_loop().run_in_executor(self.executor, lambda: None)
        error: Exception | None = None
        try:
            device = session.replace_device(config)
        except Exception as exc:  # checked beforehand, so unexpected: keep the last good one
            error = exc
            device = session.replace_device(previous)
        device.use_worker_thread(self.executor)
        if self.ctx is not None:
            self.ctx.bind_device(device)
        if self.fieldbus is not None:  # the sections they run; changes follow (frontends)
            self.fieldbus.rebind()
        self._add_status_task()
        _freeze_startup_objects()
        device.start()
        if error is None:
            device.log_event(
                "services_restarted",
                f"services restarted with {len(config.machines)} machines",
                data={"machines": [m.id for m in config.machines]},
            )
        else:
            device.log_event(
                "services_restart_failed",
                f"restart with the new config failed ({type(error).__name__}: {error}); "
                "running the previous config",
            )
        return error

    def _report_priority(self, acquisition: LaneThread) -> None:
        wanted = self.session.config.device.acquisition_rt_priority
        if self._priority_reported or not wanted:
            return
        self._priority_reported = True
        if acquisition.realtime:
            print(f"esocore: FIFO drains at real-time priority {wanted}", flush=True)
        else:
            print(
                "esocore: FIFO drains at normal priority (real-time needs root or "
                "CAP_SYS_NICE; see docs/install.md)",
                flush=True,
            )

    def _add_status_task(self) -> None:
        if self.quiet:
            return
        device = self.session.device
        interval = self.session.config.device.status_interval_s
        device.scheduler.add(
            "status", interval, lambda: print(status_line(device), flush=True), offset=interval
        )


def _freeze_startup_objects() -> None:
    """Collect now and move what start-up built out of the collector's reach: a later full
    collection over those objects pauses the loop for 20-30 ms, longer than a FIFO's slack
    (measured in bench/bench_runtime.py: with this, no overflow at 50 sensors)."""
    gc.collect()
    gc.freeze()


async def _serve(services: Services, http: HttpConfig, data_dir: str) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, services.stop)
    server = None
    try:
        assert services.modbus is not None and services.profibus is not None
        session = services.session
        services.fieldbus = FieldbusFrontEnds(
            services.modbus,
            services.profibus,
            lambda: session.device,
            session.alerts,
            caller_on(loop),
        )
        if http.enabled:
            server = await _start_api(services, http, data_dir)
            assert services.ctx is not None
            services.ctx.fieldbus = services.fieldbus.remote(loop)
        await services.fieldbus.start()
        await services.run()
    finally:
        if services.fieldbus is not None:
            await services.fieldbus.stop()
        if server is not None:
            await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _start_api(services: Services, http: HttpConfig, data_dir: str) -> ApiThread:
    device_loop = asyncio.get_running_loop()
    app, services.ctx = build_api(
        services.session, data_dir, http, services.restart_from(device_loop)
    )
    services.ctx.on_device = caller_on(device_loop)
    certfile = keyfile = None
    if http.tls:
        if http.cert_file and http.key_file:
            certfile, keyfile = http.cert_file, http.key_file
        else:
            cert, key = ensure_certificate(data_dir)
            certfile, keyfile = str(cert), str(key)
    listener = Listener(http.host, choose_port(http.host, http.port, http.tls), http.tls)
    server = ApiThread(app, listener, certfile, keyfile)
    await server.start()
    initial = getattr(app.state, "initial_admin_password", None)
    if initial:
        print(
            f"esocore: initial admin password: {initial} (user admin; shown this once, "
            "to be changed at the first login; `esocore admin set-password` sets another)",
            flush=True,
        )
    print(f"esocore: web UI at {listener.base_url.removesuffix('api/v1/')}", flush=True)
    print(f"esocore: REST API at {listener.base_url}", flush=True)
    if http.tls and not http.cert_file:
        print(
            "esocore: self-signed certificate; clients trust it with `esocore cert export`",
            flush=True,
        )
    return server
