"""Board files: the shipped boards load, bad files are refused with every error by path, and
open_board hands the runtime drivers with their metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import board as board_pkg
from board import BoardError, available_boards, board_path, load_board, open_board
from board.model import parse_board
from drivers.ads131m04 import AdcChannel, Ads131m04
from drivers.clock import VirtualClock
from drivers.iis3dwb import Iis3dwb
from drivers.max31865 import Max31865


def sim_data() -> dict:
    return tomllib.loads(board_path("sim").read_text())


def problems(data: dict) -> list[str]:
    with pytest.raises(BoardError) as info:
        parse_board(data, "test.toml")
    return info.value.problems


def test_shipped_boards_are_package_data_and_valid():
    assert {"sim", "rpi4"} <= set(available_boards())
    root = Path(board_pkg.__file__).parent
    assert board_path("sim") == root / "sim.toml"
    sim = load_board("sim")
    assert sim.platform == "sim" and [m.id for m in sim.machines] == ["motor-1", "motor-2"]
    ids = {s.id for s in sim.sensors}
    for machine in ("motor-1", "motor-2"):
        assert {f"{machine}-accel", f"{machine}-temp", f"{machine}-current"} <= ids
    rpi = load_board("rpi4")
    assert rpi.platform == "linux"
    assert {(s.chip, s.bus, s.cs) for s in rpi.sensors} >= {
        ("iis3dwb", "spi0", 0),
        ("max31865", "spi0", 1),
        ("ads131m04", "spi1", 0),
    }
    assert load_board(board_path("sim")).name == "sim"  # by path too


def test_the_sim_plant_is_as_specified():
    spec = load_board("sim")
    m1, m2 = spec.machines
    assert (m1.name, m1.rpm, m1.poles, m1.bearing_name) == ("Motor 1", 1480.0, 4, "6205")
    assert (m2.name, m2.rpm, m2.poles, m2.bearing_name) == ("Motor 2", 2970.0, 2, "6203")
    currents = {s.id: s.channel for s in spec.sensors if s.chip == "ads131m04"}
    assert currents == {"motor-1-current": 0, "motor-2-current": 1}


def test_unknown_board_name_lists_the_boards():
    with pytest.raises(BoardError, match="no board named 'nope'; boards: rpi4, sim"):
        load_board("nope")
    with pytest.raises(BoardError, match="no such board file"):
        load_board("missing/board.toml")


def test_every_error_is_reported_by_path_at_once():
    data = sim_data()
    sensors = data["board"]["sensors"]
    sensors[2]["bus"] = "spi3"
    sensors[0]["rnage_g"] = 8
    sensors[1]["cs"] = 7
    sensors[3]["machine"] = "motor-9"
    sensors[4]["odr_hz"] = 1234
    sensors[5]["id"] = "motor-1-accel"
    data["board"]["machines"][1]["rpm"] = 3100
    found = problems(data)
    expected = [
        "board.machines[1].rpm: 3100 rpm is not below the synchronous speed 3000 rpm",
        "board.sensors[0].rnage_g: unknown key (did you mean 'range_g'?)",
        "board.sensors[1].cs: spi0 has chip selects 0..3, got 7",
        "board.sensors[2].bus: no SPI bus 'spi3' on this board (it has spi0, spi1)",
        "board.sensors[3].machine: no machine 'motor-9' in board.machines",
        "board.sensors[4].odr_hz: must be one of 32000, 16000, 8000, 4000, 2000, 1000, 500",
        "board.sensors[5].id: 'motor-1-accel' is already the id of board.sensors[0]",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in found), (text, found)
    assert len(found) >= len(expected)


def test_chips_sharing_a_chip_select_must_be_one_adc_that_agrees():
    data = sim_data()
    sensors = data["board"]["sensors"]
    sensors[5]["channel"] = 0
    sensors[5]["drdy"] = 24
    sensors[2]["cs"] = 0  # an accelerometer on motor-1-accel's chip select
    found = problems(data)
    assert "board.sensors[2].cs: spi0 cs 0 is already taken by board.sensors[0]" in found
    assert any(p.startswith("board.sensors[5].drdy: 24 differs from 25") for p in found)
    assert any(p.startswith("board.sensors[5].channel: channel 0 is already used") for p in found)


def test_field_checks():
    data = sim_data()
    s = data["board"]["sensors"]
    s[0]["mounting"] = {"x": "sideways", "w": "axial"}
    s[1]["rtd"] = "pt500"
    s[1]["range_c"] = [200, 100]
    s[4]["kind"] = "pressure"
    s[4]["units_per_volt"] = "fifty"
    data["board"]["machines"][0]["bearing"] = "6999"
    data["board"]["platform"] = "sim"
    data["board"]["spi"]["spi1"]["chip_selects"] = 0
    found = problems(data)
    for text in (
        "board.sensors[0].mounting.x: must be one of radial_horizontal, radial_vertical, axial",
        "board.sensors[0].mounting.w: unknown axis",
        "board.sensors[1].rtd: must be one of 'pt100', 'pt1000', got 'pt500'",
        "board.sensors[1].range_c: must be [low, high]",
        "board.sensors[4].kind: must be one of 'current', 'voltage', got 'pressure'",
        "board.sensors[4].units_per_volt: must be a number, got 'fifty'",
        "board.machines[0].bearing: unknown bearing '6999'",
        "board.spi.spi1.chip_selects: must be from 1 to 16, got 0",
    ):
        assert any(p.startswith(text) for p in found), (text, found)


def test_linux_board_rules():
    data = tomllib.loads(board_path("rpi4").read_text())
    data["board"]["machines"] = [{"id": "m", "rpm": 1000, "bearing": "6205"}]
    del data["board"]["sensors"][2]["drdy"]
    data["board"]["sensors"][0]["replay"] = {"file": "x.npy"}
    found = problems(data)
    assert "board.machines: only a simulated board has a simulated plant; remove it" in found
    assert "board.sensors[2].drdy: is required" in found
    assert "board.sensors[0].replay: replay is for simulated boards" in found


def test_toml_syntax_error_is_reported_with_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[board\nname = 1\n")
    with pytest.raises(BoardError, match=r"bad\.toml: invalid board file:\n  not valid TOML"):
        load_board(bad)


def test_open_sim_board_gives_drivers_metadata_and_plant():
    clock = VirtualClock()
    b = open_board(load_board("sim"), clock, seed=3)
    assert b.simulated and b.plant is not None
    assert isinstance(b.sensors["motor-1-accel"], Iis3dwb)
    assert isinstance(b.sensors["motor-1-temp"], Max31865)
    assert isinstance(b.sensors["motor-2-current"], AdcChannel)
    info = b.sensor_info["motor-1-accel"]
    assert (info.kind, info.chip, info.machine, info.unit) == (
        "accel",
        "iis3dwb",
        "motor-1",
        "m/s²",
    )
    assert info.channels == ("x", "y", "z")
    assert info.mounting == {"x": "radial_horizontal", "y": "radial_vertical", "z": "axial"}
    cur = b.sensor_info["motor-2-current"]
    assert (cur.kind, cur.unit, cur.channels, cur.columns) == ("current", "A", ("ch1",), (1,))
    assert cur.scales[0] == pytest.approx(1.2 / 2**23 * 5.0)
    temp = b.sensor_info["motor-1-temp"]
    assert (temp.kind, temp.unit, temp.rate_hz) == ("temperature", "°C", 1.0)
    adc_chips = [c for c in b.chips if isinstance(c.driver, Ads131m04)]
    assert len(adc_chips) == 1
    assert [s.id for s in adc_chips[0].sensors] == ["motor-1-current", "motor-2-current"]
    assert len(b.chips) == 5
    # the whole-chip route works too: one ADC driver, four decoded columns
    adc = adc_chips[0]
    adc.driver.start()
    clock.advance(0.01)
    assert adc.decode(adc.driver.read_block()).shape[1] == 4
    assert set(b.plant.describe()) == {"motor-1", "motor-2"}
    b.close()
    assert not any(d.started for d in b.sensors.values())


def test_open_linux_board_without_hardware_fails_per_sensor():
    b = open_board(load_board("rpi4"), VirtualClock())
    assert b.plant is None
    errors = {}
    for sid, driver in b.sensors.items():
        with pytest.raises(Exception) as info:
            driver.start()
        errors[sid] = str(info.value)
    assert errors["accel-0"].startswith("/dev/spidev0.0: no such SPI device")
    assert errors["temp-0"].startswith("/dev/spidev0.1: no such SPI device")
    assert errors["current-0"].startswith("/dev/spidev6.0: no such SPI device")
    b.close()
