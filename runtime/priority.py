"""Thread priorities in `esocore run`: the thread that drains the sensors' FIFOs first, the
device's own work next, the front ends (HTTP, fieldbus) last. Linux schedules threads one by
one, so each call changes the calling thread only."""

from __future__ import annotations

import contextlib
import os
import threading

# Front ends' nice value above the device's threads: when the CPU is short (a client polling
# flat out, an export), the kernel runs acquisition and analysis first and requests wait.
# Raising a nice value needs no privilege.
FRONT_END_NICE_INCREMENT = 10


def lower_priority() -> None:
    """The calling thread yields the CPU to the device's threads (a front end)."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, now + FRONT_END_NICE_INCREMENT)


def ask_for_fifo(priority: int) -> bool:
    """SCHED_FIFO for the calling thread, which then runs before any ordinary work on the
    board; it must sleep between bursts (the kernel's RT throttling keeps a share of the CPU
    for the rest). False where not allowed (no root or CAP_SYS_NICE)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError):
        return False
    return True


# A file export's child process above the device's own nice value: it formats with whatever
# CPU the device and the HTTP thread (FRONT_END_NICE_INCREMENT) leave over. The kernel caps a
# nice value at 19.
EXPORT_NICE_INCREMENT = 15
MAX_NICE = 19


def export_nice() -> int:
    """The nice value an export child of this process should run at (the main thread's, that
    is the device loop's, plus EXPORT_NICE_INCREMENT). The child sets it itself: a fork
    from the HTTP thread would otherwise inherit only that thread's value."""
    try:
        base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    except (OSError, AttributeError):
        base = 0
    return min(MAX_NICE, base + EXPORT_NICE_INCREMENT)


def lower_process_priority(nice: int) -> None:
    """Run this (single-threaded, just started) process at `nice` or lower priority; never
    raises it, which would need privileges."""
    with contextlib.suppress(OSError, AttributeError):
        now = os.getpriority(os.PRIO_PROCESS, 0)
        if nice > now:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
