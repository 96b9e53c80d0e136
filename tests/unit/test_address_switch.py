"""The board's station-address DIP switch: described in the board file (checked by path),
decoded bit by bit with its polarity, read through the same GpioInput interface on the
simulated board as on a real one, and a failing line reported by name."""

from __future__ import annotations

import tomllib

import pytest

from board import (
    AddressSwitch,
    AddressSwitchError,
    BoardError,
    board_path,
    decode_switch,
    load_board,
    open_board,
)
from board.model import parse_board
from drivers.clock import VirtualClock
from drivers.hal import BusUnavailable
from hal_sim import SimDipSwitch, SimGpioInput


def board_data(name: str = "sim") -> dict:
    return tomllib.loads(board_path(name).read_text())


def problems(data: dict) -> list[str]:
    with pytest.raises(BoardError) as info:
        parse_board(data, "test.toml")
    return info.value.problems


def with_switch(switch: dict, name: str = "sim") -> dict:
    data = board_data(name)
    data["board"]["address_switch"] = switch
    return data


# -- decoding --------------------------------------------------------------------------------


def test_bit_zero_is_the_first_line():
    # active high: a high line is a closed switch, a 1
    assert decode_switch([True, False, False], active_low=False) == 1
    assert decode_switch([False, False, True], active_low=False) == 4
    assert decode_switch([True, True, False, True], active_low=False) == 11


def test_active_low_counts_a_low_line_as_closed():
    assert decode_switch([False, True, True], active_low=True) == 1
    assert decode_switch([True] * 7, active_low=True) == 0  # all open: pull-ups read high
    assert decode_switch([False] * 7, active_low=True) == 127
    assert decode_switch([True, False, True, True, True, True, True], active_low=True) == 2


def test_every_address_survives_the_simulated_wiring_both_ways():
    lines = (5, 6, 12, 13, 16, 17, 22)
    for active_low in (True, False):
        dip = SimDipSwitch(lines, active_low, 0)
        switch = AddressSwitch(dip.inputs(), active_low)
        for value in range(128):
            dip.set(value)
            reading = switch.read()
            assert reading.value == value
            assert reading.levels == tuple(bool(value >> bit & 1) != active_low for bit in range(7))


def test_a_simulated_switch_refuses_a_value_it_cannot_hold():
    with pytest.raises(ValueError, match=r"a 3-bit switch holds 0..7, got 8"):
        SimDipSwitch((1, 2, 3), True, 8)


def test_a_line_that_cannot_be_read_is_named():
    def broken() -> bool:
        raise BusUnavailable("/dev/gpiochip0", "cannot request line 6: Device or resource busy")

    switch = AddressSwitch(
        [SimGpioInput("sim:gpio5", lambda: True), SimGpioInput("sim:gpio6", broken)], True
    )
    with pytest.raises(AddressSwitchError) as info:
        switch.read()
    assert str(info.value) == (
        "cannot read bit 1 of the address switch (sim:gpio6): /dev/gpiochip0: cannot request "
        "line 6: Device or resource busy"
    )


# -- board files -----------------------------------------------------------------------------


def test_the_simulated_board_has_a_seven_bit_switch_set_to_8():
    spec = load_board("sim")
    assert spec.address_switch is not None
    assert spec.address_switch.lines == (5, 6, 12, 13, 16, 17, 22)
    assert spec.address_switch.active_low and spec.address_switch.value == 8
    board = open_board(spec, VirtualClock())
    try:
        assert board.address_switch is not None and board.sim_switch is not None
        assert board.address_switch.read().value == 8
        board.sim_switch.set(37)
        assert board.address_switch.read().value == 37
    finally:
        board.close()


def test_a_board_without_a_switch_has_none():
    data = board_data()
    del data["board"]["address_switch"]
    spec = parse_board(data)
    assert spec.address_switch is None
    board = open_board(spec, VirtualClock())
    assert board.address_switch is None and board.sim_switch is None
    board.close()


def test_switch_defaults_and_a_short_switch():
    spec = parse_board(with_switch({"lines": [3, 4], "value": 3}))
    assert spec.address_switch is not None
    assert spec.address_switch.lines == (3, 4) and spec.address_switch.active_low


def test_switch_problems_are_reported_by_path_at_once():
    found = problems(
        with_switch({"lines": [5, 6, 5, -1, 2000, "7", True, 25], "active_low": "yes", "vlaue": 1})
    )
    path = "board.address_switch"
    assert f"{path}.lines: at most 7 bits (addresses 0..127), got 8 lines" in found
    assert f"{path}.lines[2]: line 5 is already bit 0 of the switch" in found
    assert f"{path}.lines[3]: must be from 0 to 1023, got -1" in found
    assert f"{path}.lines[4]: must be from 0 to 1023, got 2000" in found
    assert f"{path}.lines[5]: must be a GPIO line number, got '7'" in found
    assert f"{path}.lines[6]: must be a GPIO line number, got True" in found
    assert f"{path}.lines[7]: line 25 is the DRDY line of sensor 'motor-1-current'" in found
    assert f"{path}.active_low: must be true or false, got 'yes'" in found
    assert f"{path}.vlaue: unknown key (did you mean 'value'?)" in found
    assert f"{path}.value: is required" in found


def test_switch_lines_and_value_are_required_and_fit():
    path = "board.address_switch"
    assert f"{path}.lines: is required: the GPIO line of each bit, least significant first" in (
        problems(with_switch({"value": 1}))
    )
    assert f"{path}.lines: must be a non-empty array of GPIO line numbers, got []" in problems(
        with_switch({"lines": [], "value": 0})
    )
    assert f"{path}.value: must be from 0 to 3, got 4" in problems(
        with_switch({"lines": [1, 2], "value": 4})
    )
    assert f"{path}.value: must be from 0 to 1, got -1" in problems(
        with_switch({"lines": [1], "value": -1})
    )
    assert f"{path}: must be a table, got int" in problems(with_switch(3))  # type: ignore[arg-type]


def test_a_real_board_reads_its_switch_and_sets_no_value():
    found = problems(with_switch({"lines": [5, 6], "value": 2}, "rpi4"))
    assert (
        "board.address_switch.value: only a simulated board sets its switch here; a real one "
        "is read" in found
    )
    data = with_switch({"lines": [5, 6, 12], "active_low": False}, "rpi4")
    spec = parse_board(data)
    assert spec.address_switch is not None and spec.address_switch.value is None
    assert not spec.address_switch.active_low


def test_a_real_board_without_its_gpio_chip_says_what_to_do():
    data = with_switch({"lines": [5, 6, 12]}, "rpi4")
    data["board"]["gpio"] = {"chip": "/dev/gpiochip-missing"}
    board = open_board(parse_board(data), VirtualClock())
    try:
        assert board.address_switch is not None
        with pytest.raises(AddressSwitchError) as info:
            board.address_switch.read()
        message = str(info.value)
        assert message.startswith(
            "cannot read bit 0 of the address switch (/dev/gpiochip-missing line 5): "
            "/dev/gpiochip-missing: no such GPIO chip"
        )
    finally:
        board.close()
