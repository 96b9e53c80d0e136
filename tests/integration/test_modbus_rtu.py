"""Modbus RTU over a pseudo-terminal pair made by socat: pymodbus's serial client and
minimalmodbus read the map; bad CRCs, other stations and broadcasts get no answer."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import minimalmodbus
import pytest
import serial
from pymodbus.client import ModbusSerialClient

from runtime.fieldbus.config import ModbusConfig
from runtime.fieldbus.rtu import frame_gap_s, with_crc

from .test_modbus_server import serving

ANSWER_WAIT_S = 0.5  # how long "no answer" is waited for (the server answers in ~ms)


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two connected pseudo-terminals; returns once socat has made both (read from its log)."""
    assert shutil.which("socat"), "socat (Debian package socat) is needed: .ci/bootstrap --test"
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    process = subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()

    def watch() -> None:
        assert process.stderr is not None
        made = 0
        for line in process.stderr:
            if re.search(r"PTY is /dev/pts/\d+", line):
                made += 1
            if "starting data transfer loop" in line or (made == 2 and a.exists() and b.exists()):
                ready.set()
        ready.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert ready.wait(10) and process.poll() is None, "socat did not start"
        yield str(a), str(b)
    finally:
        process.terminate()
        process.wait(10)


# A pseudo-terminal has no parity bit and refuses (EINVAL) a reconfiguration that keeps
# asking for one, as pymodbus and minimalmodbus do after opening: the pty tests use 8-N-1.
PARITY = "N"


def rtu_config(device: str, **changes) -> ModbusConfig:
    rtu = {"enabled": True, "device": device, "parity": PARITY}
    data = {"tcp": {"enabled": False}, "rtu": rtu, **changes}
    return ModbusConfig.model_validate(data)


def floats(registers) -> list[float]:
    pairs = zip(registers[::2], registers[1::2], strict=True)
    return [struct.unpack(">f", struct.pack(">HH", hi, lo))[0] for hi, lo in pairs]


def test_pymodbus_serial_client_and_minimalmodbus_read_the_map(pty_pair):
    server_side, client_side = pty_pair
    with serving(rtu_config(server_side)):
        client = ModbusSerialClient(
            client_side, baudrate=19200, parity=PARITY, stopbits=1, bytesize=8, timeout=2
        )
        assert client.connect()
        try:
            registers = client.read_holding_registers(0, count=16, device_id=1).registers
            inputs = client.read_input_registers(8, count=8, device_id=1).registers
            bits = client.read_discrete_inputs(0, count=8, device_id=1).bits[:8]
            refused = client.read_holding_registers(5000, count=1, device_id=1)
        finally:
            client.close()
        assert floats(registers[0:6]) == [2.5, 41.25, 12.125]
        assert floats(registers[8:14]) == [7.0, 55.5, 30.0] and inputs == registers[8:16]
        assert bits == [True, False, False, False, True, False, False, False]
        assert refused.isError() and refused.exception_code == 2

        instrument = minimalmodbus.Instrument(client_side, 1)
        instrument.serial.baudrate = 19200
        instrument.serial.parity = serial.PARITY_NONE
        instrument.serial.timeout = 2
        try:
            assert instrument.read_float(2, functioncode=3) == 41.25
            assert instrument.read_float(8, functioncode=4) == 7.0
            assert instrument.read_register(6, functioncode=3, signed=True) == 0
            with pytest.raises(minimalmodbus.IllegalRequestError):
                instrument.read_register(5000)
        finally:
            instrument.serial.close()


def test_bad_crc_other_stations_and_broadcasts_get_no_answer(pty_pair):
    server_side, client_side = pty_pair
    with (
        serving(rtu_config(server_side, writes_enabled=True)) as h,
        serial.Serial(client_side, 19200, parity=PARITY, timeout=ANSWER_WAIT_S) as line,
    ):
        request = with_crc(bytes((1, 3, 0, 0, 0, 2)))
        line.write(request[:-1] + bytes((request[-1] ^ 0xFF,)))  # bad CRC
        assert line.read(9) == b""
        line.write(with_crc(bytes((5, 3, 0, 0, 0, 2))))  # station 5
        assert line.read(9) == b""
        line.write(with_crc(bytes((0, 6, 0x03, 0xE9, 0, 2))))  # broadcast: motor-1 maintenance
        assert line.read(9) == b""
        assert h.source.written.wait(5) and h.source.mode_calls[0][:2] == ("motor-1", "maintenance")
        line.write(request)  # a good one is answered
        answer = line.read(9)
        assert answer == with_crc(bytes((1, 3, 4)) + struct.pack(">f", 2.5))
        line.write(with_crc(bytes((1, 0x2B, 0x0E, 1, 0))))  # unsupported: exception 01
        assert line.read(5) == with_crc(bytes((1, 0xAB, 1)))
        counters = h.service.rtu.counters if h.service.rtu else None
        assert counters is not None
        assert (counters.bad_crc, counters.other_station, counters.broadcasts) == (1, 1, 1)


def test_frame_gap_is_three_and_a_half_characters():
    assert frame_gap_s(9600, "E", 1) == pytest.approx(3.5 * 11 / 9600)
    assert frame_gap_s(19200, "N", 2) == pytest.approx(3.5 * 11 / 19200)
    assert frame_gap_s(115200) == 0.00175  # fixed above 19200 baud
