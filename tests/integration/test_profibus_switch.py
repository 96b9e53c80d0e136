"""The station address from the board's address switch, end to end: `esocore run` with
`[profibus] address = "switch"` on a simulated board whose switch is set in its board file,
and pyprofibus (an independent DP master) on the other end of a socat pty pair reaching
Data_Exchange at the address the switch shows. A switch reading 126 leaves the slave stopped
with the reason in the run output, the event log and GET /fieldbus/status, while the device
keeps monitoring. `esocore gsd` still writes the GSD for such a config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from board import board_path
from runtime.config import default_config_path

from .api_client import Api
from .device_server import esocore, start_device
from .event_log import wait_for_events
from .profibus_master import Master, write_ini
from .serial_lines import Pty
from .waiting import wait_until

SWITCH_ADDRESS = 21
MODULES = ["Motor 1 Health", "Motor 2 Health"]
READY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0


def write_setup(tmp: Path, switch_value: int) -> tuple[Path, Path]:
    """A copy of the simulated board with its switch set to `switch_value`, and the shipped
    config taking the station address from it."""
    text = board_path("sim").read_text(encoding="utf-8")
    assert text.count("\nvalue = 8\n") == 1, "the simulated board's switch setting moved"
    board = tmp / "switch-board.toml"
    board.write_text(text.replace("\nvalue = 8\n", f"\nvalue = {switch_value}\n"), "utf-8")
    config = tmp / "device.toml"
    config.write_text(
        default_config_path("sim").read_text(encoding="utf-8")
        + '\n[profibus]\naddress = "switch"\n',
        encoding="utf-8",
    )
    return board, config


def wait_for_line(running, text: str, timeout: float = READY_TIMEOUT_S) -> str:
    """The first line of the device's output containing `text` (the device must keep running)."""

    def found() -> str | None:
        assert running.process.poll() is None, "\n".join(running.output)
        return next((line for line in list(running.output) if text in line), None)

    return wait_until(found, timeout)


@pytest.fixture
def pty(tmp_path):
    assert shutil.which("socat"), "socat (Debian package socat) is needed: .ci/bootstrap --test"
    pair = Pty(tmp_path)
    yield pair
    pair.close()


def test_the_master_exchanges_data_at_the_address_on_the_switch(tmp_path, pty):
    board, config = write_setup(tmp_path, SWITCH_ADDRESS)
    running = start_device(
        tmp_path, "--config", str(config), "--board", str(board), "--profibus-port", pty.a
    )
    api = Api(running)
    master = None
    try:
        line = wait_for_line(running, "PROFIBUS DP slave on")
        assert f"station {SWITCH_ADDRESS} (from the address switch)" in line
        status = api.get("/fieldbus/status").json()["profibus"]
        assert status["running"] and status["address"] == SWITCH_ADDRESS
        assert status["address_from"] == "switch"
        assert status["address_switch"]["value"] == SWITCH_ADDRESS
        # active low: closed switches (bits 0, 2, 4 of 21) read 0
        assert status["address_switch"]["levels"] == [0, 1, 0, 1, 0, 1, 1]
        gsd = tmp_path / "device.gsd"
        gsd.write_bytes(api.get("/fieldbus/profibus/gsd").content)
        ini = write_ini(
            tmp_path / "master.ini",
            pty.b,
            gsd,
            address=SWITCH_ADDRESS,
            modules=MODULES,
            input_size=16 * len(MODULES),
            output_size=len(MODULES),
            watchdog_ms=1000,
        )
        master = Master(ini)
        assert master.run_until(lambda: master.received is not None, CONNECT_TIMEOUT_S), (
            master.messages.getvalue()
        )
        assert master.connected and len(master.received) == 32
        status = api.get("/fieldbus/status").json()["profibus"]
        assert status["dp_state"] == "Data_Exchange" and status["master"] == 2
    finally:
        if master is not None:
            master.close()
        api.close()
        assert running.stop() == 0


def test_a_switch_reading_126_is_refused_and_the_device_runs_on(tmp_path, pty):
    board, config = write_setup(tmp_path, 126)
    running = start_device(
        tmp_path, "--config", str(config), "--board", str(board), "--profibus-port", pty.a
    )
    api = Api(running)
    try:
        line = wait_for_line(running, "PROFIBUS DP slave not started")
        reason = (
            "the board's address switch reads 126, which is not a station address (0..125; "
            "126 is the default address of an unset slave)"
        )
        assert reason in line
        assert not any("PROFIBUS DP slave on" in seen for seen in running.output)
        status = api.get("/fieldbus/status").json()["profibus"]
        assert status["running"] is False and reason in status["error"]
        assert status["address"] is None and status["address_from"] == "switch"
        assert status["address_switch"]["value"] == 126
        wait_for_events(
            running.data_dir,
            lambda e: e["kind"] == "profibus_unavailable" and reason in e["message"],
        )
        # Monitoring goes on.
        wait_until(lambda: len(api.get("/telemetry/").json()) >= 6, READY_TIMEOUT_S)
        assert running.process.poll() is None
    finally:
        api.close()
        assert running.stop() == 0


def test_esocore_gsd_takes_a_config_with_the_address_on_the_switch(tmp_path):
    board, config = write_setup(tmp_path, SWITCH_ADDRESS)
    done = esocore(
        "gsd", "--config", str(config), "--board", str(board), "-o", str(tmp_path), cwd=tmp_path
    )
    text = (tmp_path / "ESOC0ECE.GSD").read_text(encoding="ascii")
    assert "station address from the board's switch" in text, done.stderr
    assert "Ident_Number = 0x0ECE" in text
