"""What the benchmark scripts share: the esocore command of this environment, free loopback
ports, and child processes (the device, bare baseline servers) started and stopped cleanly.

Every process started here is in STARTED, so a script's `finally: stop_all()` leaves nothing
running behind an aborted benchmark (a stray device would skew the next measurement).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

ESOCORE = Path(sys.executable).parent / "esocore"
READY_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A child process whose output is read on a thread; the constructor returns once a line
    holds `ready` (bounded), or exits the benchmark with the output so far."""

    def __init__(self, args: list[str], ready: str, cwd: Path) -> None:
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._marker = ready
        self.proc = subprocess.Popen(
            args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        STARTED.append(self)
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(READY_TIMEOUT_S) or self.proc.poll() is not None:
            self.proc.kill()
            raise SystemExit(f"{args[0]} did not start:\n" + "\n".join(self.lines))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self._marker in line:
                self._ready.set()
        self._ready.set()

    def stop(self) -> int:
        """SIGTERM (the device flushes its store), then kill if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


STARTED: list[Process] = []


def stop_all() -> None:
    for process in STARTED:
        process.stop()
