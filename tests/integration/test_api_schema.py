"""Schemathesis against the live device's own OpenAPI document.

Schemathesis runs as integrators and CI would run it: its `st` command against
https://.../api/v1/openapi.json, trusting the exported certificate, with an API key. Whatever
the document lists is exercised, so endpoints added later are covered without touching this
file. Generated requests, valid and invalid (the coverage phase's boundary and wrong-type
values, then random ones), must never get a 5xx and, where the document declares a schema for
the status, must get a body that matches it.

Operations that would take the running device away from the other cases (replacing the
config, restarting services, deleting keys) and the admin-only key management run
separately with an admin key, against a device of their own, which must be healthy and stop
cleanly afterwards.

Bounded: MAX_EXAMPLES per operation and phase, a timeout per request and one for the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .device_server import RunningDevice, start_device

ST = Path(sys.executable).parent / "st"
MAX_EXAMPLES = 25
SEED = 5  # a failure reproduces with the same seed (the output names it)
REQUEST_TIMEOUT_S = 20
RUN_TIMEOUT_S = 600  # each `st run`; a typical one takes well under a minute
CHECKS = "not_a_server_error,response_schema_conformance"
ADMIN_ONLY_PREFIX = ("/api/v1/keys", "/api/v1/users")  # key and web UI user management
# The web UI's login session: its login is rate-limited per address by design (random
# credentials would lock the test client out), and the browser tests cover it.
SESSION_PREFIX = "/api/v1/session/"
# The live event stream never ends by design, so a request to it can only time out here;
# tests/integration/test_api_stream.py reads it as a client does.
ENDLESS = ("/api/v1/stream/",)
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

# (method, path regex) of operations that change what the other cases rely on.
DESTRUCTIVE = [
    ("PUT", r"^/api/v1/config/?$"),
    ("POST", r"^/api/v1/config/restart/?$"),
    ("DELETE", r"^/api/v1/keys/"),
]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def destructive(self) -> bool:
        return any(
            self.method == method and re.search(pattern, self.path)
            for method, pattern in DESTRUCTIVE
        )

    @property
    def admin_only(self) -> bool:
        return self.path.startswith(ADMIN_ONLY_PREFIX)

    @property
    def has_path_parameters(self) -> bool:
        return "{" in self.path


def operations(device: RunningDevice) -> list[Operation]:
    """Every operation the device's document lists (it is public: no key)."""
    document = device.get("/openapi.json", role=None)
    assert document.status_code == 200, document.text
    found = []
    for path, item in document.json()["paths"].items():
        if path.startswith(SESSION_PREFIX) or path in ENDLESS:
            continue
        for method, spec in item.items():
            if method in HTTP_METHODS:
                assert spec.get("operationId"), f"{method.upper()} {path} has no operationId"
                found.append(Operation(method.upper(), path, spec["operationId"]))
    return found


def known_ids(device: RunningDevice) -> dict[str, list[str]]:
    """Real sensor and machine ids, so generated requests also reach past the 404s."""
    health = device.get("/device/health").json()
    return {
        "sensors": sorted(s["sensor_id"] for s in health["sensors"]),
        "machines": sorted(health["machines"]),
        "metrics": ["vibration_rms", "temperature", "current_rms", "accel_rms", "kurtosis"],
    }


def config_file(where: Path, ids: dict[str, list[str]]) -> Path:
    """schemathesis.toml: half of the id-like path parameters drawn from the real ids."""
    lines = []
    for name, values in ids.items():
        lines.append(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n")
    # Path parameters only: the query filters are arrays (they may repeat), which a
    # dictionary of strings does not fit.
    lines.append("[parameters]")
    for parameter, dictionary in (
        ("sensor_id", "sensors"),
        ("device_id", "machines"),
        ("metric", "metrics"),
    ):
        lines.append(f'"path.{parameter}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
    path = where / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Run:
    report: dict
    output: str

    def explain(self) -> str:
        return self.output[-12000:]


def run_schemathesis(
    device: RunningDevice, role: str, where: Path, selected: list[Operation], workers: int = 2
) -> Run:
    assert selected, "nothing to test"
    where.mkdir(parents=True, exist_ok=True)
    reports = where / "reports"
    config = config_file(where, known_ids(device))
    args = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        device.base_url + "/openapi.json",
        "--tls-verify",
        str(device.cert),
        "--header",
        f"X-API-Key: {device.key(role)}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        str(workers),
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--report",
        "json",
        "--report-dir",
        str(reports),
        "--no-color",
    ]
    for operation in selected:
        args += ["--include-operation-id", operation.operation_id]
    try:
        done = subprocess.run(
            args, cwd=where, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"schemathesis ran over its {RUN_TIMEOUT_S} s budget:\n{exc.stdout or ''}"
        ) from None
    found = sorted(reports.glob("*.json"))
    assert found, f"no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return Run(json.loads(found[-1].read_text()), done.stdout + done.stderr)


def assert_clean(run: Run, selected: list[Operation]) -> None:
    report = run.report
    assert report["failures"] == [] and report["errors"] == [], run.explain()
    assert report["exit_code"] == 0, run.explain()
    assert report["operations"]["tested"] == len(selected), run.explain()
    # A rejected key would make every answer a 401, and "no 5xx" would prove nothing.
    assert not report["warnings"]["missing_auth"], run.explain()


def accepted(run: Run, operation: Operation) -> int:
    rates = run.report["valid_rates"].get(operation.label, {})
    return sum(phase.get("accepted", 0) for phase in rates.values())


# -- everything but the destructive operations, on one device ------------------------------


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("schema"))
    try:
        yield running
        # The generated requests must not have taken the device down.
        status = running.get("/device/health").status_code
        assert status == 200
    finally:
        assert running.stop() == 0


def test_api_conforms_to_its_openapi_document(device, tmp_path):
    selected = [op for op in operations(device) if not op.destructive and not op.admin_only]
    run = run_schemathesis(device, "read-write", tmp_path, selected)
    assert_clean(run, selected)
    # The generated cases reached the handlers: every operation without path parameters
    # answered some valid request with a 2xx.
    unreached = [
        op.label for op in selected if not op.has_path_parameters and accepted(run, op) == 0
    ]
    assert unreached == [], f"no valid request succeeded: {unreached}\n{run.explain()}"


# -- destructive and admin-only operations, on a throw-away device -------------------------


@pytest.fixture(scope="module")
def spare_device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("schema-destructive"))
    try:
        yield running
        # Whatever was PUT, restarted, created or deleted, the device still answers and stops
        # cleanly (the admin key the run used may have been among the deleted: use a new one).
        running.keys.pop("admin", None)
        status = running.get("/device/health", role="admin").status_code
        assert status == 200
    finally:
        assert running.stop() == 0


def test_destructive_and_admin_operations_never_fail_with_a_server_error(spare_device, tmp_path):
    listed = operations(spare_device)
    missing = [
        f"{method} {pattern}"
        for method, pattern in DESTRUCTIVE
        if not any(op.method == method and re.search(pattern, op.path) for op in listed)
    ]
    assert missing == [], f"the document does not list {missing}"
    selected = [op for op in listed if op.destructive or op.admin_only]
    # One worker: schemathesis's coverage phase parses sources with `ast` on its worker
    # threads, which on CPython 3.11 can fail ("AST constructor recursion depth mismatch")
    # for these schemas; that is the tool's error, not an answer of the device.
    run = run_schemathesis(spare_device, "admin", tmp_path, selected, workers=1)
    assert_clean(run, selected)
