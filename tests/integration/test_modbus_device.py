"""The device as a Modbus server, end to end: `esocore run` with the simulated plant, read by
mbpoll over TCP and by minimalmodbus over RTU (a socat pseudo-terminal pair), compared with
/api/v1/telemetry/ taken around the same read (same live state, same value); the map export
over HTTP equals `esocore modbus-map`."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import time

import minimalmodbus
import pytest

from .api_client import Api
from .device_server import RunningDevice, esocore, free_port, start_device
from .serial_lines import Pty, sim_config

SENSORS = 6
READY_TIMEOUT_S = 30.0
ATTEMPTS = 20  # reads tried until one falls between two publications
MBPOLL_TIMEOUT_S = 10.0


def mbpoll(*args: str) -> subprocess.CompletedProcess:
    assert shutil.which("mbpoll"), "mbpoll (Debian package mbpoll) is needed: .ci/bootstrap --test"
    return subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", "1", "-1", "-q", *args],
        capture_output=True,
        text=True,
        timeout=MBPOLL_TIMEOUT_S,
    )


def mbpoll_values(text: str) -> dict[int, str]:
    return {int(m[1]): m[2] for m in re.finditer(r"^\[(\d+)\]:\s+(\S+)", text, re.M)}


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    assert shutil.which("socat"), "socat (Debian package socat) is needed: .ci/bootstrap --test"
    tmp = tmp_path_factory.mktemp("modbus-device")
    config = sim_config(tmp, '\n[modbus.tcp]\nhost = "127.0.0.1"\n')
    pty = Pty(tmp)
    port = free_port()
    running = start_device(
        tmp, "--config", str(config), "--modbus-port", str(port), "--modbus-rtu", pty.a
    )
    api = Api(running)
    try:
        _wait_until_serving(running, api)
        yield running, api, port, pty.b
    finally:
        api.close()
        try:
            assert running.stop() == 0
        finally:
            pty.close()


def _wait_until_serving(running: RunningDevice, api: Api) -> None:
    """Bounded: the Modbus line printed and every sensor's first reading published."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (
        any("Modbus RTU on" in line for line in running.output)
        and len(api.get("/telemetry/").json()) >= SENSORS
    ):
        assert running.process.poll() is None, "\n".join(running.output)
        assert time.monotonic() < deadline, "\n".join(running.output)
        time.sleep(0.1)


def _expected(rows: list[dict]) -> dict[str, float]:
    return {f"{r['sensor_id']}/{r['metric']}": r["value"] for r in rows if r["axis"] is None}


def _f32(value: float) -> float:
    return struct.unpack(">f", struct.pack(">f", value))[0]


RANK = {"info": 1, "warning": 2, "alert": 3, "critical": 4}


def machine_states(api: Api) -> dict[str, tuple[int, int]]:
    """(status, alert code) per machine as the REST API's active alerts say they must read:
    a healthy plant reads (0, 0), but a loaded test machine may lose samples and raise a
    FIFO-overflow warning, which the registers must then show too (status 1, code 902)."""
    alerts = api.get("/alerts/").json()
    states = {}
    for machine in ("motor-1", "motor-2"):
        mine = [a for a in alerts if a["device_id"] == machine]
        worst = max(mine, key=lambda a: (RANK[a["severity"]], -a["id"]), default=None)
        if any(
            RANK[a["severity"]] >= 3 and not a["alert_type"].startswith("sensor_") for a in mine
        ):
            status = 2
        elif any(a["alert_type"] in ("sensor_fault", "sensor_no_data") for a in mine):
            status = 3
        elif any(a["severity"] == "warning" for a in mine):
            status = 1
        else:
            status = 0
        states[machine] = (status, worst["alert_code"] if worst else 0)
    return states


def _same_moment(api: Api, read):
    """`read()` between two equal snapshots of telemetry and alerts (nothing published in
    between): the values and the machine states the registers must show."""
    for _ in range(ATTEMPTS):
        before = api.get("/telemetry/").json(), machine_states(api)
        result = read()
        after = api.get("/telemetry/").json(), machine_states(api)
        if before == after:
            return _expected(before[0]), before[1], result
    raise AssertionError(f"no read between two publications in {ATTEMPTS} attempts")


def test_mbpoll_reads_the_values_telemetry_shows(device):
    _, api, port, _ = device

    def read() -> list[int]:
        done = mbpoll("-p", str(port), "-r", "1", "-c", "16", "-t", "4:hex", "127.0.0.1")
        assert done.returncode == 0, done.stdout + done.stderr
        values = mbpoll_values(done.stdout)
        return [int(values[i], 16) for i in range(1, 17)]

    expected, states, registers = _same_moment(api, read)
    floats = [
        struct.unpack(">f", struct.pack(">HH", registers[i], registers[i + 1]))[0]
        for i in (0, 2, 4, 8, 10, 12)
    ]
    assert floats == [
        _f32(expected[key])
        for key in (
            "motor-1-accel/vibration_rms",
            "motor-1-temp/temperature",
            "motor-1-current/current_rms",
            "motor-2-accel/vibration_rms",
            "motor-2-temp/temperature",
            "motor-2-current/current_rms",
        )
    ]
    assert (registers[6], registers[7]) == states["motor-1"]  # status, alert code
    assert (registers[14], registers[15]) == states["motor-2"]

    decoded = mbpoll("-p", str(port), "-r", "1", "-c", "3", "-t", "4:float", "-B", "127.0.0.1")
    assert decoded.returncode == 0 and sorted(mbpoll_values(decoded.stdout)) == [1, 3, 5]


def test_mbpoll_sees_the_exception_codes(device):
    _, _, port, _ = device
    unmapped = mbpoll("-p", str(port), "-r", "2000", "-c", "1", "127.0.0.1")
    assert unmapped.returncode == 1 and "Illegal data address" in unmapped.stdout + unmapped.stderr
    write = mbpoll("-p", str(port), "-r", "1002", "127.0.0.1", "1")
    assert write.returncode == 1 and "Illegal function" in write.stdout + write.stderr


def test_minimalmodbus_reads_the_same_over_rtu(device):
    _, api, _, client_side = device
    instrument = minimalmodbus.Instrument(client_side, 1)
    # The device's line is 8-E-1; a pseudo-terminal carries no parity bit and refuses a
    # parity change once open, so the master keeps the port's own setting.
    instrument.serial.baudrate = 19200
    instrument.serial.timeout = 2
    try:
        expected, states, (vibration, current, status) = _same_moment(
            api,
            lambda: (
                instrument.read_float(8, functioncode=3),
                instrument.read_float(4, functioncode=4),
                instrument.read_register(6, functioncode=3),
            ),
        )
    finally:
        instrument.serial.close()
    assert vibration == _f32(expected["motor-2-accel/vibration_rms"])
    assert current == _f32(expected["motor-1-current/current_rms"])
    assert status == states["motor-1"][0]


def test_map_export_over_http_equals_the_cli(device):
    running, api, _, _ = device
    config = running.data_dir.parent / "device.toml"
    for fmt in ("csv", "markdown", "xml", "ignition"):
        served = api.get("/fieldbus/modbus/map", params={"format": fmt})
        assert served.status_code == 200, served.text
        made = esocore(
            "modbus-map", "--format", fmt, "--config", str(config), cwd=running.data_dir.parent
        )
        assert served.text.replace("\r\n", "\n") == made.stdout  # CSV lines end CRLF
    first = api.get("/fieldbus/modbus/map").json()[0]
    assert (first["register"], first["sensor"], first["unit"]) == ("40001", "motor-1-accel", "mm/s")
    wrong = api.get("/fieldbus/modbus/map", params={"format": "pdf"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "bad_request"
