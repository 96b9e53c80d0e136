"""pyprofibus (GPL, an independent DP master from PyPI) as the test peer, over a serial line.

Only tests and the benchmark import this; the product never imports pyprofibus. The master
runs in the calling thread: `run_until(check, timeout)` turns its state machine until `check`
says so, waiting for the line between turns (select on its serial port, bounded) instead of
spinning, so it leaves CPU to the device under test.
"""

from __future__ import annotations

import contextlib
import io
import select
import time
from collections.abc import Callable
from pathlib import Path

import pyprofibus
from pyprofibus.dp import DpTelegram_SlaveDiag_Con

MASTER_ADDRESS = 2
TURN_WAIT_S = 0.001


def write_ini(
    path: Path,
    tty: str,
    gsd: Path,
    *,
    address: int = 8,
    modules: list[str],
    input_size: int,
    output_size: int,
    baud: int = 19200,
    watchdog_ms: int = 500,
) -> Path:
    """pyprofibus's config: its input_size is what it sends (the slave's outputs)."""
    lines = [
        "[PROFIBUS]",
        "debug=0",
        "[PHY]",
        "type=serial",
        f"dev={tty}",
        f"baud={baud}",
        "[DP]",
        "master_class=1",
        f"master_addr={MASTER_ADDRESS}",
        "[SLAVE_0]",
        "name=esocore",
        f"addr={address}",
        f"gsd={gsd}",
        "sync_mode=0",
        "freeze_mode=0",
        f"watchdog_ms={watchdog_ms}",
        f"input_size={output_size}",
        f"output_size={input_size}",
        *(f"module_{i}={name}" for i, name in enumerate(modules)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Master:
    """A pyprofibus DPM1 with one slave. `messages` collects what it prints (its errors, such
    as "reports a faulty configuration"), `received` the slave's input data."""

    def __init__(self, ini: Path, ident_override: int | None = None) -> None:
        conf = pyprofibus.PbConf.fromFile(str(ini))
        self.messages = io.StringIO()
        with contextlib.redirect_stdout(self.messages):
            self.slave = conf.slaveConfs[0].makeDpSlaveDesc()
            if ident_override is not None:
                self.slave.setPrmTelegram.identNumber = ident_override
            self.dpm = conf.makeDPM()
            self.dpm.addSlave(self.slave)
            self.dpm.initialize()
        self.outputs = bytes(self.slave.inputSize)
        self.received: bytes | None = None
        self.exchanges = 0
        self._fd = self.dpm.phy._CpPhySerial__serial.fileno()  # to wait for the line

    def turn(self) -> None:
        with contextlib.redirect_stdout(self.messages):
            handled = self.dpm.run()
            if handled is not None:
                data = handled.getMasterInData()
                if data is not None:
                    self.received = bytes(data)
                    self.exchanges += 1
                handled.setMasterOutData(bytearray(self.outputs))

    def run_until(self, check: Callable[[], object], timeout: float) -> bool:
        """Turn until `check()` is truthy (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.turn()
            if check():
                return True
            select.select([self._fd], [], [], TURN_WAIT_S)
        return False

    def run_for(self, seconds: float) -> None:
        self.run_until(lambda: False, seconds)

    @property
    def connected(self) -> bool:
        return bool(self.slave.isConnected())

    def close(self) -> None:
        self.dpm.destroy()


def parse_diag(data: bytes) -> DpTelegram_SlaveDiag_Con:
    """The standard 6 bytes as pyprofibus reads them (its flag accessors)."""
    diag = DpTelegram_SlaveDiag_Con(da=MASTER_ADDRESS, sa=0)
    diag.b0, diag.b1, diag.b2, diag.masterAddr = data[0], data[1], data[2], data[3]
    diag.identNumber = (data[4] << 8) | data[5]
    return diag
