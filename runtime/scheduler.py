"""Cooperative scheduler: periodic tasks with priorities and deadline accounting.

Tasks are plain functions that run to completion quickly (a FIFO drain, one frame's analysis)
and are released every `period` seconds of the injected clock. The same scheduler runs

- in real time as a task of the device's asyncio loop (`run_realtime`), yielding to the loop
  between tasks; tasks of another lane (FIFO drains: `lane=ACQUIRE_LANE`) may run in a
  thread of their own (`start_lane_thread`), so nothing on the loop can hold a drain up for
  longer than the interpreter's switch interval, and
- in virtual time (`run_until`), jumping the clock from release to release as fast as the CPU
  allows; the order of runs depends only on the task set, so a seeded simulation repeats
  bit for bit.

Deadlines are implicit (a run must end before the next release). A run that ends later is a
deadline miss; releases skipped because the task fell a whole period behind count as misses
too, and are not run in a burst afterwards (a FIFO drain catches up by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.hal import Clock

from .priority import ask_for_fifo


@dataclass
class TaskStats:
    runs: int = 0
    deadline_misses: int = 0
    skipped_releases: int = 0
    errors: int = 0
    total_runtime: float = 0.0
    max_runtime: float = 0.0
    max_lateness: float = 0.0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "deadline_misses": self.deadline_misses,
            "skipped_releases": self.skipped_releases,
            "errors": self.errors,
            "mean_runtime_s": self.total_runtime / self.runs if self.runs else 0.0,
            "max_runtime_s": self.max_runtime,
            "max_lateness_s": self.max_lateness,
            "last_error": self.last_error,
        }


@dataclass
class PeriodicTask:
    name: str
    period: float
    func: Callable[[], object]
    priority: int = 0  # higher runs first when several tasks are due at once
    next_release: float = 0.0
    stats: TaskStats = field(default_factory=TaskStats)
    order: int = 0  # insertion order, the last tie-breaker (keeps runs deterministic)
    offset: float = 0.0  # phase of the releases within the period
    lane: str = "loop"  # which real-time runner runs it (all lanes run in virtual time)


MIN_PERIOD_S = 1e-4
LOOP_LANE = "loop"


def _run_order(task: PeriodicTask) -> tuple[int, float, float, int]:
    """Higher priority first; among equals the shorter period first (rate-monotonic: its
    deadline is nearer), then the earlier release, then insertion order."""
    return (-task.priority, task.period, task.next_release, task.order)


class Scheduler:
    """Runs periodic tasks against an injected clock (see module docstring)."""

    def __init__(
        self,
        clock: Clock,
        on_error: Callable[[str, BaseException], None] | None = None,
        on_watchdog: Callable[[str, float], None] | None = None,
        watchdog_timeout: float = 5.0,
    ) -> None:
        self.clock = clock
        self.tasks: list[PeriodicTask] = []
        self._on_error = on_error
        self._on_watchdog = on_watchdog
        self.watchdog_timeout = watchdog_timeout
        # (task, wall start) per running lane, for the watchdog
        self._running: dict[str, tuple[str, float]] = {}
        self._watchdog_reported: set[tuple[str, float]] = set()

    def add(
        self,
        name: str,
        period: float,
        func: Callable[[], object],
        priority: int = 0,
        offset: float = 0.0,
        lane: str = LOOP_LANE,
    ) -> PeriodicTask:
        if not MIN_PERIOD_S <= period < math.inf:
            raise ValueError(
                f"task {name!r}: period must be from {MIN_PERIOD_S} s to a finite number of "
                f"seconds, got {period!r}"
            )
        if any(t.name == name for t in self.tasks):
            raise ValueError(f"task {name!r} is already scheduled")
        task = PeriodicTask(
            name,
            period,
            func,
            priority,
            self.clock.now() + offset,
            order=len(self.tasks),
            offset=offset,
            lane=lane,
        )
        self.tasks.append(task)
        return task

    def restart(self) -> None:
        """Release every task afresh from now (after a slow start-up, so it is not counted as
        lateness)."""
        now = self.clock.now()
        for task in self.tasks:
            task.next_release = now + task.offset

    def remove(self, name: str) -> None:
        self.tasks = [t for t in self.tasks if t.name != name]

    def next_release(self, lanes: frozenset[str] | None = None) -> float:
        return min(
            (t.next_release for t in self.tasks if lanes is None or t.lane in lanes),
            default=math.inf,
        )

    def run_due(self) -> int:
        """Run every task released at or before now, highest priority first."""
        now = self.clock.now()
        due = [t for t in self.tasks if t.next_release <= now]
        due.sort(key=_run_order)
        for task in due:
            self._run(task)
        return len(due)

    def _run(self, task: PeriodicTask) -> None:
        release = task.next_release
        start = self.clock.now()
        self._running[task.lane] = (task.name, time.monotonic())
        try:
            task.func()
        except Exception as exc:  # a failing task must not stop the others
            task.stats.errors += 1
            task.stats.last_error = f"{type(exc).__name__}: {exc}"
            if self._on_error:
                self._on_error(task.name, exc)
        finally:
            del self._running[task.lane]
        end = self.clock.now()
        stats = task.stats
        runtime = end - start
        stats.runs += 1
        stats.total_runtime += runtime
        stats.max_runtime = max(stats.max_runtime, runtime)
        stats.max_lateness = max(stats.max_lateness, start - release)
        deadline = release + task.period
        if end > deadline:
            stats.deadline_misses += 1
        next_release = deadline
        if end >= next_release + task.period:
            skipped = math.floor((end - next_release) / task.period)
            stats.skipped_releases += skipped
            stats.deadline_misses += skipped
            next_release += skipped * task.period
        task.next_release = next_release

    def run_until(self, t_end: float, set_time: Callable[[float], None]) -> None:
        """Virtual time: advance the clock release by release up to t_end."""
        while True:
            t = self.next_release()
            if t > t_end:
                break
            if t > self.clock.now():
                set_time(t)
            self.run_due()
        if t_end > self.clock.now():
            set_time(t_end)

    async def run_realtime(self, stop: asyncio.Event, lanes: frozenset[str] | None = None) -> None:
        """Real time: sleep until the next release (or stop), run what is due, yield. Runs
        the tasks of `lanes` (default: every lane)."""
        watch_stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(watch_stop,), daemon=True)
        watchdog.start()
        try:
            await self._loop(stop, lanes)
        finally:
            watch_stop.set()

    async def _loop(self, stop: asyncio.Event, lanes: frozenset[str] | None) -> None:
        while not stop.is_set():
            delay = self.next_release(lanes) - self.clock.now()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(delay, 1.0))
                continue
            for task in self._due(lanes):
                if stop.is_set():
                    break
                self._run(task)
                await asyncio.sleep(0)  # let the front ends run between tasks

    def start_lane_thread(self, lane: str, rt_priority: int = 0) -> LaneThread:
        """Run the tasks of `lane` in real time on a thread of their own (not in
        `run_realtime`'s lanes then); stop it with the returned handle before changing tasks.
        With `rt_priority` > 0 the thread asks for SCHED_FIFO at that priority."""
        runner = LaneThread(self, lane, rt_priority)
        runner.start()
        return runner

    def _due(self, lanes: frozenset[str] | None) -> list[PeriodicTask]:
        now = self.clock.now()
        due = [
            t for t in self.tasks if t.next_release <= now and (lanes is None or t.lane in lanes)
        ]
        due.sort(key=_run_order)
        return due

    def _watch(self, stop: threading.Event) -> None:
        """Report a task that has not given control back for watchdog_timeout seconds."""
        period = min(1.0, self.watchdog_timeout / 4)
        while not stop.wait(period):
            for running in list(self._running.values()):
                name, started = running
                elapsed = time.monotonic() - started
                if elapsed > self.watchdog_timeout and running not in self._watchdog_reported:
                    self._watchdog_reported.add(running)
                    if self._on_watchdog:
                        self._on_watchdog(name, elapsed)

    def stats(self) -> dict[str, dict[str, Any]]:
        return {t.name: {"period_s": t.period, **t.stats.as_dict()} for t in self.tasks}

    def total_deadline_misses(self) -> int:
        return sum(t.stats.deadline_misses for t in self.tasks)


class LaneThread:
    """One lane of a scheduler in real time on its own thread: wait for the next release
    (a timed wait on an Event, which also ends it at once), run what is due, repeat."""

    def __init__(self, scheduler: Scheduler, lane: str, rt_priority: int = 0) -> None:
        self.scheduler = scheduler
        self.lanes = frozenset({lane})
        self.rt_priority = rt_priority
        self.realtime = False  # whether SCHED_FIFO was granted (known once start() returned)
        self._set_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"esocore-{lane}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._set_up.wait(5.0)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        if self.rt_priority > 0:
            self.realtime = ask_for_fifo(self.rt_priority)
        self._set_up.set()
        scheduler, clock = self.scheduler, self.scheduler.clock
        while not self._stop.is_set():
            delay = scheduler.next_release(self.lanes) - clock.now()
            if delay > 0:
                self._stop.wait(min(delay, 1.0))
                continue
            for task in scheduler._due(self.lanes):
                scheduler._run(task)
