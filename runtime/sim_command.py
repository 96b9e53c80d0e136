"""`esocore sim`: the simulated plant in virtual time, as fast as the CPU allows (or paced)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from drivers.clock import VirtualClock

from .durations import format_duration, parse_duration
from .errors import UsageError
from .fault_option import parse_fault
from .session import Session, open_session

STEP_S = 10.0  # virtual seconds between progress updates (and pacing checks)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("sim", help="run the simulated plant in virtual time, fill the store")
    p.add_argument("--duration", required=True, help="virtual time to simulate: 90s, 10m, 1h, 1d")
    p.add_argument("--speed", default="max", help="'max' (default) or a factor of real time")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="MACHINE:KIND:SEVERITY@OFFSET, e.g. motor-1:bearing_outer:0.6@10m (repeatable)",
    )
    p.add_argument("--config", help="device config (default: the one shipped for the board)")
    p.add_argument("--board", help="board name or file (default: from the config, 'sim')")
    p.add_argument("--data-dir", default="data", help="where the database lives (./data)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the simulated plant")
    p.add_argument("--start", help="UTC start of the simulated time, ISO 8601 (default: now)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    duration = parse_duration(args.duration, "--duration")
    if duration <= 0:
        raise UsageError("--duration must be longer than 0 s")
    speed = _parse_speed(args.speed)
    start_utc = _parse_start(args.start) if args.start else time.time()
    clock = VirtualClock(0.0)
    session = open_session(
        args.config,
        args.board,
        args.data_dir,
        clock,
        lambda t: start_utc + t,
        args.seed,
        [parse_fault(spec) for spec in args.fault],
    )
    scheduler = session.device.scheduler
    if session.notifier is not None:
        session.notifier.start()  # webhooks and email fire as the simulated alerts happen
    wall_start = time.perf_counter()
    try:
        t = 0.0
        while t < duration:
            t = min(duration, t + STEP_S)
            scheduler.run_until(t, clock.set)
            elapsed = time.perf_counter() - wall_start
            if speed is not None:
                ahead = t / speed - elapsed
                if ahead > 0:
                    time.sleep(ahead)  # pacing to the requested factor of real time
                    elapsed = time.perf_counter() - wall_start
            if not args.quiet:
                _progress(t, duration, elapsed)
        session.device.log_event("shutdown", f"simulation of {format_duration(duration)} ended")
        _let_notifications_out(session)
        alerts = _alert_summary(session)
    finally:
        session.close()
    elapsed = time.perf_counter() - wall_start
    if not args.quiet:
        sys.stderr.write("\n")
    health = session.device.health()
    print(
        f"simulated {format_duration(duration)} in {elapsed:.1f} s "
        f"({duration / max(elapsed, 1e-9):.0f}x real time); "
        f"overflows {health['overflows']}, deadline misses {health['deadline_misses']}; "
        f"data in {args.data_dir}"
    )
    if alerts:
        print(alerts)
    return 0


def _alert_summary(session: Session) -> str:
    if session.alerts is None:
        return ""
    raised = session.alerts.count()
    active = session.alerts.count(status="active")
    return f"alerts: {raised} raised, {active} still active (see GET /api/v1/alerts/history/)"


NOTIFY_GRACE_S = 30.0  # wall time the notifications of a finished run get to go out


def _let_notifications_out(session: Session) -> None:
    """Wait (bounded) until the outbox holds nothing due: a receiver that is down keeps its
    deliveries in the outbox for the next start instead of holding the command up."""
    notifier = session.notifier
    if notifier is None:
        return
    deadline = time.monotonic() + NOTIFY_GRACE_S
    while time.monotonic() < deadline and notifier.due_now() > 0:
        time.sleep(0.05)


def _parse_speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise UsageError(f"--speed: {text!r} is neither 'max' nor a number") from None
    if not speed > 0:
        raise UsageError("--speed must be above 0")
    return speed


def _parse_start(text: str) -> float:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--start: {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise UsageError("--start: give a time zone, e.g. 2026-01-01T00:00:00Z")
    return value.timestamp()


def _progress(t: float, duration: float, elapsed: float) -> None:
    width = 30
    filled = int(width * t / duration)
    bar = "#" * filled + "." * (width - filled)
    rate = t / elapsed if elapsed > 0 else 0.0
    sys.stderr.write(
        f"\r[{bar}] {100 * t / duration:5.1f}% {format_duration(t)}/{format_duration(duration)}"
        f" {rate:6.0f}x"
    )
    sys.stderr.flush()
