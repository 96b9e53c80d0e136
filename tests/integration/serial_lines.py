"""Serial lines for the fieldbus tests: a socat pty pair stands for an RS-485 adapter with the
peer (a Modbus RTU master, a PROFIBUS DP master) at the other end."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from runtime.config import default_config_path


class Pty:
    """socat's two connected pseudo-terminals (a serial line with a device at each end), for
    as long as the test module runs; `a` for the device under test, `b` for the peer."""

    def __init__(self, directory: Path) -> None:
        self.a, self.b = str(directory / "ttyA"), str(directory / "ttyB")
        self.process = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Event()

        def watch() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                if "starting data transfer loop" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=watch, daemon=True).start()
        assert ready.wait(10) and self.process.poll() is None, "socat did not start"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def sim_config(directory: Path, extra_toml: str) -> Path:
    """The shipped simulated-plant config plus `extra_toml`, written to directory/device.toml
    (what the serial-line device tests start `esocore run --config` with)."""
    config = directory / "device.toml"
    config.write_text(default_config_path("sim").read_text() + extra_toml, encoding="utf-8")
    return config
