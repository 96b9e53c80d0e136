"""`[profibus] address = "switch"`: the config takes it (and only on a board with a switch),
the command line still overrides it, the GSD is still made, and the front end reads the
switch at each start: an address it starts at, a reserved reading (126, 127) or an unreadable
switch refused with a message in the event log and the status, the device running on."""

from __future__ import annotations

import asyncio
import os
import tomllib
from typing import Any

import pytest
from pydantic import ValidationError
from test_fieldbus_frontends import Plant

from board import AddressSwitchError, SwitchReading, board_path, open_board
from board.model import parse_board
from drivers.clock import VirtualClock
from runtime.config import DeviceConfig, default_config_path, load_config
from runtime.device import BindingError
from runtime.fieldbus.frontends import ProfibusFrontEnd
from runtime.fieldbus.profibus.config import ProfibusConfig
from runtime.fieldbus.profibus.gsd import gsd_text
from runtime.fieldbus.profibus.service import with_overrides
from runtime.fieldbus.profibus.slave import build_modules
from runtime.modbus_command import plant_catalog
from runtime.session import check_board_features


def profibus(**changes: Any) -> ProfibusConfig:
    return ProfibusConfig.model_validate(changes)


def problem(**changes: Any) -> str:
    with pytest.raises(ValidationError) as info:
        profibus(**changes)
    (error,) = info.value.errors()
    assert error["loc"] == ("address",)
    return error["msg"]


# -- the config ------------------------------------------------------------------------------


def test_address_is_a_station_number_or_switch():
    assert profibus().address == 8
    assert profibus(address=0).address == 0 and profibus(address=125).address == 125
    assert profibus(address="switch").address == "switch"
    assert "126 is not a station address (0..125; 126 is the default address" in problem(
        address=126
    )
    assert "-1 is not a station address" in problem(address=-1)
    for wrong in ("12", "Switch", True, 8.0, None):
        assert 'give a station address 0..125 or "switch"' in problem(address=wrong)
        assert repr(wrong) in problem(address=wrong)


def test_a_switch_address_survives_a_round_trip_through_the_device_config():
    data = load_config(default_config_path("sim")).model_dump(mode="json")
    data["profibus"]["address"] = "switch"
    config = DeviceConfig.model_validate(data)
    assert config.model_dump(mode="json")["profibus"]["address"] == "switch"


def _board(with_switch: bool):
    data = tomllib.loads(board_path("sim").read_text())
    if not with_switch:
        del data["board"]["address_switch"]
    return open_board(parse_board(data), VirtualClock())


def test_switch_needs_a_board_with_a_switch():
    data = load_config(default_config_path("sim")).model_dump(mode="json")
    data["profibus"]["address"] = "switch"
    config = DeviceConfig.model_validate(data)
    board = _board(with_switch=True)
    try:
        check_board_features(config, board)  # the simulated board has one
    finally:
        board.close()
    board = _board(with_switch=False)
    try:
        with pytest.raises(BindingError) as info:
            check_board_features(config, board)
        assert info.value.problems == [
            'profibus.address: "switch" needs a board with an address switch '
            "([board.address_switch]); board 'sim' has none: give the station address 0..125"
        ]
        check_board_features(load_config(default_config_path("sim")), board)  # a number: fine
    finally:
        board.close()


def test_the_command_line_address_overrides_the_switch():
    assert with_overrides(profibus(address="switch"), None, 12, None).address == 12
    assert with_overrides(profibus(address="switch"), None, None, None).address == "switch"


def test_the_gsd_is_made_with_the_address_on_the_switch():
    config = load_config(default_config_path("sim"))
    section = config.profibus.model_copy(update={"address": "switch"})
    text = gsd_text(section, build_modules(section, plant_catalog(config, None)))
    assert "for station address from the board's switch and" in text
    assert "Ident_Number = 0x0ECE" in text


# -- the front end ---------------------------------------------------------------------------


class Switch:
    """A switch reading whatever the test sets, or failing like a busy GPIO line."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.reads = 0
        self.fail: str | None = None

    def read(self) -> SwitchReading:
        self.reads += 1
        if self.fail:
            raise AddressSwitchError(self.fail)
        levels = tuple(not (self.value >> bit & 1) for bit in range(7))
        return SwitchReading(self.value, levels)


def _on_a_pty(address: Any = "switch") -> tuple[ProfibusConfig, int, int]:
    master, slave = os.openpty()
    config = profibus(enabled=True, port=os.ttyname(slave), address=address)
    return config, master, slave


async def _refused(value: int, capsys) -> tuple[dict[str, Any], Plant, str]:
    device = Plant()
    config, master, slave = _on_a_pty()
    front = ProfibusFrontEnd(config, [], read_switch=Switch(value).read)
    try:
        await front.start(device, None, None)
        return front.status(), device, capsys.readouterr().out
    finally:
        await front.stop()
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize(
    ("value", "meaning"), [(126, "the default address of an unset slave"), (127, "broadcast")]
)
def test_a_reserved_switch_reading_is_refused_and_reported(value, meaning, capsys):
    status, device, out = asyncio.run(_refused(value, capsys))
    message = (
        f"PROFIBUS DP slave not started: the board's address switch reads {value}, which is "
        f"not a station address (0..125; {value} is {meaning}): set the switch to the "
        "station's address, then restart the device or save the [profibus] section again"
    )
    assert status["running"] is False and status["error"] == message
    assert status["address"] is None and status["address_from"] == "switch"
    assert status["address_switch"]["value"] == value
    assert status["address_switch"]["levels"] == [int(not (value >> b & 1)) for b in range(7)]
    assert device.events == [("profibus_unavailable", message)]
    assert f"esocore: {message}" in out


async def _exercise(capsys) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Plant, str]:
    device = Plant()
    config, master, slave = _on_a_pty()
    switch = Switch(37)
    front = ProfibusFrontEnd(config, [], read_switch=switch.read)
    statuses, done = [], []
    try:
        await front.start(device, None, None)
        statuses.append(front.status())
        switch.fail = "cannot read bit 2 of the address switch (/dev/gpiochip0 line 12): busy"
        done.append(
            await front.follow(config.model_copy(update={"baud": 93750}), device, None, None)
        )
        statuses.append(front.status())
        switch.fail, switch.value = None, 41
        faster = config.model_copy(update={"baud": 93750})
        done.append(await front.follow(faster, device, None, None))  # saved again: re-read
        statuses.append(front.status())
        assert switch.reads == 3
    finally:
        await front.stop()
        os.close(master)
        os.close(slave)
    return statuses, done, device, capsys.readouterr().out


def test_the_switch_is_read_at_every_start(capsys):
    statuses, done, device, out = asyncio.run(_exercise(capsys))
    first, failed, again = statuses
    assert first["running"] and first["address"] == 37 and first["address_from"] == "switch"
    assert first["address_switch"]["value"] == 37
    assert "station 37 (from the address switch)" in out
    assert [d["action"] for d in done] == ["failed", "started"]
    assert failed["running"] is False and failed["address_switch"] is None
    assert failed["error"] == (
        "PROFIBUS DP slave not started: cannot read the board's address switch: cannot read "
        "bit 2 of the address switch (/dev/gpiochip0 line 12): busy"
    )
    assert again["running"] and again["address"] == 41
    assert [kind for kind, _ in device.events].count("profibus_unavailable") == 1


def test_without_a_switch_reader_the_slave_says_the_board_has_none(capsys):
    async def run() -> dict[str, Any]:
        config, master, slave = _on_a_pty()
        front = ProfibusFrontEnd(config, [])
        try:
            await front.start(Plant(), None, None)
            return front.status()
        finally:
            await front.stop()
            os.close(master)
            os.close(slave)

    status = asyncio.run(run())
    assert status["running"] is False
    assert "this board has no address switch ([board.address_switch])" in status["error"]


def test_the_status_says_where_a_numbered_address_came_from():
    config = profibus(address=12)
    assert ProfibusFrontEnd(config, []).status()["address_from"] == "config"
    status = ProfibusFrontEnd(config, ["--profibus-address"]).status()
    assert status["address_from"] == "command_line" and status["address"] == 12
    assert status["address_switch"] is None
