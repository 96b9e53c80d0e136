"""A real device for API tests: `esocore run` in a subprocess, HTTPS on a loopback port with
its self-signed certificate, keys made with the CLI, clients trusting the exported certificate
(as an integrator would, through REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests

ESOCORE = Path(sys.executable).parent / "esocore"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def esocore(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ESOCORE), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=check
    )


@dataclass
class RunningDevice:
    data_dir: Path
    port: int
    process: subprocess.Popen
    cert: Path
    keys: dict[str, str] = field(default_factory=dict)  # role -> secret
    output: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}/api/v1"

    def key(self, role: str) -> str:
        """The tests' shared key of `role` (made once)."""
        if role not in self.keys:
            self.keys[role] = self.new_key(role, f"tests ({role})")
        return self.keys[role]

    def new_key(self, role: str, description: str) -> str:
        """A key of its own (to revoke, say), made with the CLI; its id is secret.split("_")[1]."""
        made = esocore(
            "keys",
            "create",
            "--role",
            role,
            "--description",
            description,
            "--data-dir",
            str(self.data_dir),
            cwd=self.data_dir.parent,
        )
        return made.stdout.strip().splitlines()[-1]

    def session(self, role: str | None = "read-only") -> requests.Session:
        s = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would override session.verify; the guide's
        # scripts are run with it pointing at the exported certificate instead.
        s.trust_env = False
        s.verify = str(self.cert)
        if role:
            s.headers["X-API-Key"] = self.key(role)
        return s

    def get(self, path: str, role: str | None = "read-only", **kwargs) -> requests.Response:
        return self.session(role).get(self.base_url + path, timeout=30, **kwargs)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_device(tmp: Path, *extra: str, env: dict[str, str] | None = None) -> RunningDevice:
    """Start the device and return once its REST API answers (or fail with its output)."""
    data_dir = tmp / "data"
    port = free_port()
    process = subprocess.Popen(
        [
            str(ESOCORE),
            "run",
            "--data-dir",
            str(data_dir),
            "--http-host",
            "127.0.0.1",
            "--http-port",
            str(port),
            "--modbus-host",
            "127.0.0.1",
            "--modbus-port",  # each device its own (a later --modbus-port in extra wins)
            str(free_port()),
            "--quiet",
            *extra,
        ],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if "REST API at" in line:
                ready.set()
        ready.set()  # the process ended: let the waiter look at the output

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(90) or process.poll() is not None:
        process.kill()
        raise AssertionError("device did not start:\n" + "\n".join(output))
    cert = tmp / "device-cert.pem"
    cert.write_text(esocore("cert", "export", "--data-dir", str(data_dir), cwd=tmp).stdout)
    return RunningDevice(data_dir, port, process, cert, output=output)
