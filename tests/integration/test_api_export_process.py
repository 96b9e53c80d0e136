"""File exports are formatted in a child process of the device (runtime.api.export_process):
at a lower CPU priority, the same file as `esocore export`, killed when its client goes, at
most two at a time, none started for a bad request, and none left over when the device stops.

The device runs on a store filled beforehand with 300,000 readings (27 MB of CSV), more than
the pipe and socket buffers between the child and a client that stops reading hold (with the
client's receive buffer fixed at 64 KiB), so a child is caught mid-export simply by not reading
the response.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from socket import SO_RCVBUF, SOL_SOCKET

import pyarrow.parquet as pq
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection

from runtime.readings import Reading
from runtime.store import Store

from .device_server import RunningDevice, esocore, start_device
from .event_log import wait_for_events
from .timestamps import iso
from .waiting import wait_until

SERIES = [
    (machine, f"{machine}-accel", metric, "mm/s")
    for machine in ("motor-1", "motor-2")
    for metric in ("vibration_rms", "velocity_1x", "velocity_2x", "velocity_3x", "accel_rms")
]
SECONDS = 30_000  # 10 series x 30,000 s at 1 Hz = 300,000 rows
T0 = (time.time() // 3600) * 3600 - 3 * 86400  # three days ago: inside raw retention
CHILD_MODULE = "runtime.export_child"


def fill(data_dir: Path) -> None:
    with Store(data_dir, batch_size=50_000) as store:
        for offset in range(0, SECONDS, 5_000):
            store.add_readings(
                Reading(device, sensor, metric, None, 1.0 + (i * 7 + k) % 97 / 10, unit, T0 + i)
                for i in range(offset, offset + 5_000)
                for k, (device, sensor, metric, unit) in enumerate(SERIES)
            )
        store.flush()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the readings, copied for each device that needs one."""
    data_dir = tmp_path_factory.mktemp("export-filled") / "data"
    fill(data_dir)
    return data_dir


def device_on(filled: Path, tmp: Path) -> RunningDevice:
    shutil.copytree(filled, tmp / "data")
    return start_device(tmp)


@pytest.fixture(scope="module")
def device(filled: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevice]:
    running = device_on(filled, tmp_path_factory.mktemp("export-device"))
    try:
        yield running
    finally:
        assert running.stop() == 0


def span(**extra: str) -> dict[str, str]:
    return {"start_time": iso(T0), "end_time": iso(T0 + SECONDS), **extra}


# -- the device's children, from /proc ---------------------------------------------------------


def children(parent: int) -> dict[int, dict]:
    """Every process whose parent is `parent` (zombies too): state, nice, command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # it ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[1]) == parent:
            found[int(entry.name)] = {"state": fields[0], "nice": int(fields[16]), "cmd": cmdline}
    return found


def export_children(device: RunningDevice) -> dict[int, dict]:
    return {
        pid: info
        for pid, info in children(device.process.pid).items()
        if CHILD_MODULE in info["cmd"]
    }


def nice_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[16])


class SmallReceiveBuffer(HTTPAdapter):
    """A client socket with a fixed 64 KiB receive buffer: Linux would otherwise grow it up
    to net.ipv4.tcp_rmem's maximum (32 MiB here) and swallow the whole file unread."""

    def init_poolmanager(self, *args, **kwargs):
        options = [*HTTPConnection.default_socket_options, (SOL_SOCKET, SO_RCVBUF, 1 << 16)]
        kwargs["socket_options"] = options
        super().init_poolmanager(*args, **kwargs)


def open_export(device: RunningDevice, fmt: str = "csv") -> requests.Response:
    """A download whose first bytes have arrived (`.first`; the rest from `.chunks`) and whose
    client then stops reading."""
    session = device.session()
    session.mount("https://", SmallReceiveBuffer())
    response = session.get(
        device.base_url + "/telemetry/history/",
        params=span(format=fmt),
        stream=True,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    # One iterator for the whole body: urllib3 closes the connection when one is dropped.
    response.chunks = response.iter_content(1 << 16)
    response.first = next(response.chunks)
    assert response.first
    return response


def no_export_children(device: RunningDevice) -> bool:
    return not export_children(device)


# -- tests --------------------------------------------------------------------------------


def test_the_child_runs_nicer_and_makes_the_file_esocore_export_makes(device, tmp_path):
    response = open_export(device)
    try:
        running = wait_until(lambda: export_children(device), timeout=30)
        (child,) = running.values()
        device_nice = nice_of(device.process.pid)
        assert child["nice"] == min(19, device_nice + 15), (child, device_nice)
        downloaded = response.first + b"".join(response.chunks)
    finally:
        response.close()
    out = tmp_path / "cli.csv"
    cli_span = ["--start", iso(T0), "--end", iso(T0 + SECONDS), "--quiet"]
    esocore("export", *cli_span, "--data-dir", str(device.data_dir), "-o", str(out), cwd=tmp_path)
    whole = device.get("/telemetry/history/", params=span(format="csv")).content
    assert downloaded == whole == out.read_bytes()
    assert whole.count(b"\n") == 1 + len(SERIES) * SECONDS
    for fmt in ("json", "parquet"):
        out = tmp_path / f"cli.{fmt}"
        esocore(
            "export", *cli_span, "--data-dir", str(device.data_dir), "-o", str(out), cwd=tmp_path
        )
        api = device.get("/telemetry/history/", params=span(format=fmt)).content
        if fmt == "json":
            assert api == out.read_bytes()
        else:  # the same table; the CLI writes bigger row groups
            assert pq.read_table(io.BytesIO(api)).equals(pq.read_table(out))
    wait_until(lambda: no_export_children(device), timeout=30)


def test_a_client_that_goes_away_leaves_no_child(device):
    response = open_export(device, "json")
    (pid,) = wait_until(lambda: export_children(device), timeout=30)
    response.close()  # closes the connection mid-file
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)  # killed and reaped
    assert not children(device.process.pid)
    # and its slot is free again
    assert device.get("/telemetry/history/", params=span(format="csv", limit="3")).ok


def test_a_third_export_at_once_gets_503_with_retry_after(device):
    first, second = open_export(device), open_export(device, "parquet")
    try:
        wait_until(lambda: len(export_children(device)) == 2, timeout=30)
        third = device.get("/telemetry/history/", params=span(format="csv"))
        assert third.status_code == 503, third.text
        assert int(third.headers["Retry-After"]) > 0
        error = third.json()["error"]
        assert error["code"] == "unavailable" and error["details"] == {"running": 2, "limit": 2}
        # paged JSON is not an export: it is answered meanwhile
        assert device.get("/telemetry/history/", params=span(limit="10")).status_code == 200
        assert len(export_children(device)) == 2
    finally:
        first.close()
        second.close()
    wait_until(lambda: no_export_children(device), timeout=30)
    ok = wait_until(
        lambda: device.get("/telemetry/history/", params=span(format="csv", limit="3")).ok,
        timeout=30,
    )
    assert ok


def test_a_bad_request_starts_no_child(device):
    # With both slots taken, a request that reached the export machinery would get 503;
    # bad ones get their 400/404 before, and the number of children stays two.
    held = [open_export(device), open_export(device)]
    try:
        wait_until(lambda: len(export_children(device)) == 2, timeout=30)
        bad = [
            ({"start_time": iso(T0 + 10), "end_time": iso(T0), "format": "csv"}, 400),
            (span(format="xml"), 400),
            (span(format="csv", sensor_id="nope"), 404),
            (span(format="csv", cursor="abc"), 400),
            (span(format="parquet", limit="0"), 400),
            (span(format="json", axis="w"), 400),
        ]
        for params, status in bad:
            response = device.get("/telemetry/history/", params=params)
            assert response.status_code == status, (params, response.text)
            assert response.json()["error"]["message"]
        assert device.get("/telemetry/sensor/nope/", params=span(format="csv")).status_code == 404
        assert len(children(device.process.pid)) == 2
    finally:
        for response in held:
            response.close()
    wait_until(lambda: no_export_children(device), timeout=30)


def test_a_child_that_dies_mid_file_truncates_the_download_and_is_logged(device):
    response = open_export(device)
    try:
        (pid,) = wait_until(lambda: export_children(device), timeout=30)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for _ in response.chunks:
                pass
    finally:
        response.close()
    (event,) = wait_for_events(device.data_dir, lambda e: e["kind"] == "export_failed")
    assert event["data"]["exit_code"] == -signal.SIGKILL and event["data"]["format"] == "csv"
    assert event["data"]["bytes_sent"] > 0
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)


def test_stopping_the_device_ends_its_exports(filled, tmp_path):
    device = device_on(filled, tmp_path)
    try:
        response = open_export(device)
        (pid,) = wait_until(lambda: export_children(device), timeout=30)
    finally:
        code = device.stop()
    assert code == 0
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for _ in response.chunks:
            pass
    response.close()
