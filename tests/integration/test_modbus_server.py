"""The Modbus TCP server in-process, over real loopback sockets: the default map read with
pymodbus's client, every exception code, writes (refused when disabled, reaching the state
source when enabled), word orders, stale values, many clients, malformed frames and a fuzz."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pymodbus.client import ModbusTcpClient

from runtime.catalog import Catalog, MachineEntry, SensorEntry
from runtime.fieldbus.config import ModbusConfig
from runtime.fieldbus.service import ModbusService, start_modbus
from runtime.fieldbus.source import MachineStatus
from runtime.live import LiveState, SensorStatus
from runtime.readings import Reading

TIMEOUT_S = 5.0


def plant() -> Catalog:
    machines, sensors = [], []
    for n in (1, 2):
        ids = (f"motor-{n}-accel", f"motor-{n}-temp", f"motor-{n}-current")
        machines.append(
            MachineEntry(f"motor-{n}", f"Motor {n}", "", "", "motor", 1480.0, None, 2, "rigid", ids)
        )
        for sensor_id, kind, metrics, axes in (
            (ids[0], "accel", {"vibration_rms": "mm/s", "accel_rms": "m/s²"}, ("x", "y", "z")),
            (ids[1], "temperature", {"temperature": "°C"}, ()),
            (ids[2], "current", {"current_rms": "A"}, ()),
        ):
            sensors.append(
                SensorEntry(
                    sensor_id, sensor_id, kind, "chip", f"motor-{n}", 1.0, axes, metrics, 1.0
                )
            )
    return Catalog(tuple(machines), tuple(sensors))


VALUES = {
    ("motor-1-accel", "vibration_rms", None): 2.5,
    ("motor-1-accel", "accel_rms", "z"): 0.75,
    ("motor-1-temp", "temperature", None): 41.25,
    ("motor-1-current", "current_rms", None): 12.125,
    ("motor-2-accel", "vibration_rms", None): 7.0,
    ("motor-2-temp", "temperature", None): 55.5,
    ("motor-2-current", "current_rms", None): 30.0,
}


@dataclass
class RecordingSource:
    """A machine state source that records what the fieldbus asked of it."""

    statuses: dict[str, MachineStatus] = field(default_factory=dict)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)
    mode_calls: list[tuple[str, str, str]] = field(default_factory=list)
    fail: bool = False
    written: threading.Event = field(default_factory=threading.Event)

    def machine_status(self, machine_id: str) -> MachineStatus:
        return self.statuses.get(machine_id, MachineStatus(0, 0, 0, 0))

    def acknowledge_machine(self, machine_id: str, by: str) -> int:
        if self.fail:
            raise RuntimeError("alert store unavailable")
        self.acknowledged.append((machine_id, by))
        self.written.set()
        return 3

    def set_machine_mode(self, machine_id: str, mode: str, by: str) -> None:
        self.mode_calls.append((machine_id, mode, by))
        self.modes[machine_id] = mode
        self.written.set()

    def machine_mode(self, machine_id: str) -> str:
        return self.modes.get(machine_id, "running")


class Harness:
    """A live state, a recording source and the server on a loop of its own thread."""

    def __init__(self, config: ModbusConfig, age_s: float = 0.0) -> None:
        self.catalog = plant()
        self.live = LiveState()
        for sensor in self.catalog.sensors:
            self.live.register_sensor(
                SensorStatus(sensor.id, sensor.device_id, sensor.kind, "chip", "ok")
            )
        self.publish(age_s)
        self.source = RecordingSource()
        self.events: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        if config.tcp.enabled:  # loopback only, on a free port
            tcp = config.tcp.model_copy(update={"host": "127.0.0.1", "port": 0})
            config = config.model_copy(update={"tcp": tcp})
        self.service: ModbusService = self.call(
            start_modbus(
                config,
                self.live,
                self.catalog,
                self.source,
                lambda kind, message, **_: self.events.append((kind, message)),
            )
        )
        self.port = self.service.tcp.port if self.service.tcp is not None else 0

    def publish(self, age_s: float = 0.0) -> None:
        ts = time.time() - age_s
        self.live.publish(
            [Reading(s.split("-a")[0][:7], s, m, a, v, "u", ts) for (s, m, a), v in VALUES.items()]
        )

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT_S)

    def close(self) -> None:
        self.call(self.service.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT_S)
        self.loop.close()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


@contextlib.contextmanager
def serving(config: ModbusConfig | None = None, age_s: float = 0.0) -> Iterator[Harness]:
    harness = Harness(config or ModbusConfig(), age_s)
    try:
        yield harness
    finally:
        harness.close()


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def transact(sock: socket.socket, pdu: bytes, unit: int = 1, tid: int = 7) -> bytes:
    """Send one request PDU, return the response PDU (checking the MBAP header)."""
    sock.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
    header = recv_exact(sock, 7)
    got_tid, protocol, length, got_unit = struct.unpack(">HHHB", header)
    assert (got_tid, protocol, got_unit) == (tid, 0, unit)
    return recv_exact(sock, length - 1)


def floats(registers: list[int]) -> list[float]:
    pairs = zip(registers[::2], registers[1::2], strict=True)
    return [struct.unpack(">f", struct.pack(">HH", hi, lo))[0] for hi, lo in pairs]


def read_pdu(fc: int, address: int, count: int) -> bytes:
    return struct.pack(">BHH", fc, address, count)


# -- reading the default map ------------------------------------------------------------------


def test_pymodbus_client_reads_the_default_map():
    with serving() as h:
        h.source.statuses["motor-2"] = MachineStatus(2, 4, 102, 2)
        client = ModbusTcpClient("127.0.0.1", port=h.port, timeout=TIMEOUT_S)
        assert client.connect()
        try:
            holding = client.read_holding_registers(0, count=16, device_id=1).registers
            inputs = client.read_input_registers(0, count=16, device_id=1).registers
        finally:
            client.close()
        assert holding == inputs  # FC 03 and 04 show the same map
        assert floats(holding[0:6]) == [2.5, 41.25, 12.125]
        assert holding[6:8] == [0, 0]
        assert floats(holding[8:14]) == [7.0, 55.5, 30.0]
        assert holding[14:16] == [2, 102]  # Alert (critical included), iso_zone_d


def test_alarm_bits_one_per_status_level():
    with serving() as h:
        h.source.statuses["motor-2"] = MachineStatus(1, 2, 100, 1)
        with h.connect() as sock:
            for fc in (1, 2):
                answer = transact(sock, read_pdu(fc, 0, 8))
                assert answer[:2] == bytes((fc, 1))
                assert answer[2] == 0b0010_0001  # motor-1 OK (bit 0), motor-2 Warning (bit 5)


def test_stale_values_read_nan_and_the_status_says_sensor_fault():
    with serving(ModbusConfig(max_age_s=5.0), age_s=60.0) as h, h.connect() as sock:
        answer = transact(sock, read_pdu(3, 0, 8))
        registers = list(struct.unpack(">8H", answer[2:]))
        assert all(v != v for v in floats(registers[:6]))  # NaN
        assert registers[6] == 3
        assert transact(sock, read_pdu(2, 0, 4))[2] == 0b1000  # the fault bit
        h.publish()  # fresh values: the next read shows them (live.version changed)
        registers = list(struct.unpack(">8H", transact(sock, read_pdu(3, 0, 8))[2:]))
        assert floats(registers[:6]) == [2.5, 41.25, 12.125] and registers[6] == 0


@pytest.mark.parametrize(
    ("word_order", "byte_order", "raw"),
    [
        ("big", "big", b"\x40\x20\x00\x00"),
        ("little", "big", b"\x00\x00\x40\x20"),
        ("big", "little", b"\x20\x40\x00\x00"),
        ("little", "little", b"\x00\x00\x20\x40"),
    ],
)
def test_word_and_byte_order_variants_on_the_wire(word_order, byte_order, raw):
    with serving(ModbusConfig(word_order=word_order, byte_order=byte_order)) as h, h.connect() as s:
        assert transact(s, read_pdu(3, 0, 2)) == b"\x03\x04" + raw  # 2.5 as float32


def test_a_configured_map_with_scaled_integers_and_an_axis():
    config = ModbusConfig.model_validate(
        {
            "gaps": "exception",
            "registers": [
                {"address": 10, "sensor": "motor-1-accel", "metric": "accel_rms", "axis": "z"},
                {
                    "address": 12,
                    "sensor": "motor-1-temp",
                    "metric": "temperature",
                    "type": "int16",
                    "scale": 10,
                },
                {"address": 13, "kind": "severity", "machine": "motor-1"},
                {
                    "address": 20,
                    "sensor": "motor-2-current",
                    "metric": "current_rms",
                    "type": "uint32",
                    "scale": 1000,
                    "word_order": "little",
                },
            ],
        }
    )
    with serving(config) as h:
        h.source.statuses["motor-1"] = MachineStatus(2, 3, 130, 1)
        with h.connect() as sock:
            answer = transact(sock, read_pdu(3, 10, 4))
            z, temp, severity = struct.unpack(">fhh", answer[2:])
            assert (z, temp, severity) == (0.75, 413, 3)  # 412.5 rounds half away from zero
            low, high = struct.unpack(">HH", transact(sock, read_pdu(3, 20, 2))[2:])
            assert (high << 16) | low == 30000
            assert transact(sock, read_pdu(3, 12, 3)) == b"\x83\x02"  # 14 is a gap
            assert transact(sock, read_pdu(3, 9, 1)) == b"\x83\x02"  # before the map


# -- exception codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pdu", "expected"),
    [
        (b"\x05\x00\x00\xff\x00", b"\x85\x01"),  # write coil: not served
        (b"\x0f\x00\x00\x00\x01\x01\x01", b"\x8f\x01"),  # write coils
        (b"\x08\x00\x00\x12\x34", b"\x88\x01"),  # diagnostics
        (b"\x17" + bytes(9), b"\x97\x01"),  # read/write multiple
        (b"\x2b\x0e\x01\x00", b"\xab\x01"),  # device identification
        (b"\x41", b"\xc1\x01"),  # no such function
        (read_pdu(3, 0, 0), b"\x83\x03"),  # quantity 0
        (read_pdu(3, 0, 126), b"\x83\x03"),  # quantity above 125
        (read_pdu(1, 0, 2001), b"\x81\x03"),
        (b"\x03\x00\x00", b"\x83\x03"),  # short request
        (b"\x03\x00\x00\x00\x01\x00", b"\x83\x03"),  # long request
        (read_pdu(3, 1004, 1), b"\x83\x02"),  # past the map
        (read_pdu(4, 1000, 5), b"\x84\x02"),  # runs past the map
        (read_pdu(3, 65535, 1), b"\x83\x02"),
        (read_pdu(2, 8, 1), b"\x82\x02"),  # past the alarm bits
        (read_pdu(1, 0, 9), b"\x81\x02"),
        (b"\x06\x03\xe9\x00\x01", b"\x86\x01"),  # writes disabled
        (b"\x10\x03\xe8\x00\x01\x02\x00\x01", b"\x90\x01"),
    ],
)
def test_exception_codes_and_the_connection_stays_open(pdu, expected):
    with serving() as h, h.connect() as sock:
        assert transact(sock, pdu) == expected
        assert transact(sock, read_pdu(3, 0, 2))[:2] == b"\x03\x04"  # still served


def test_gaps_read_zero_by_default():
    with serving() as h, h.connect() as sock:
        answer = transact(sock, read_pdu(3, 14, 10))  # Motor 2 status .. gap
        assert struct.unpack(">10H", answer[2:])[2:] == (0,) * 8


def test_unit_id_checked_or_any():
    with serving() as h, h.connect() as sock:
        assert transact(sock, read_pdu(3, 0, 1), unit=2) == b"\x83\x0b"
        assert transact(sock, read_pdu(3, 0, 1), unit=1)[:2] == b"\x03\x02"
    with serving(ModbusConfig(unit_id="any")) as h, h.connect() as sock:
        assert transact(sock, read_pdu(3, 0, 1), unit=42)[:2] == b"\x03\x02"


# -- writes ---------------------------------------------------------------------------------


def test_writes_reach_the_state_source_when_enabled():
    with serving(ModbusConfig(writes_enabled=True)) as h:
        with h.connect() as sock:
            assert transact(sock, b"\x06\x03\xe8\x00\x01") == b"\x06\x03\xe8\x00\x01"  # ack
            assert h.source.acknowledged and h.source.acknowledged[0][0] == "motor-1"
            assert h.source.acknowledged[0][1].startswith("modbus-tcp 127.0.0.1:")
            # Motor 2: acknowledge 0 (nothing) and mode 2 (maintenance) in one FC 16
            answer = transact(sock, b"\x10\x03\xea\x00\x02\x04\x00\x00\x00\x02")
            assert answer == b"\x10\x03\xea\x00\x02"
            assert h.source.mode_calls[-1][:2] == ("motor-2", "maintenance")
            assert len(h.source.acknowledged) == 1
            mode = transact(sock, read_pdu(3, 1003, 1))
            assert mode == b"\x03\x02\x00\x02"
            assert transact(sock, b"\x06\x03\xe9\x00\x07") == b"\x86\x03"  # no mode 7
            assert transact(sock, b"\x06\x03\xe8\x00\x02") == b"\x86\x03"  # ack is 0 or 1
            assert transact(sock, b"\x06\x00\x06\x00\x00") == b"\x86\x02"  # status: read-only
            assert transact(sock, b"\x10\x03\xe8\x00\x02\x02\x00\x01") == b"\x90\x03"  # count
            assert transact(sock, b"\x10\x03\xeb\x00\x02\x04\x00\x00\x00\x00") == b"\x90\x02"
            h.source.fail = True
            assert transact(sock, b"\x06\x03\xe8\x00\x01") == b"\x86\x04"
        assert [kind for kind, _ in h.events].count("modbus_write") == 2


# -- connections ----------------------------------------------------------------------------


def test_many_concurrent_clients_read_consistent_values():
    clients, reads = 20, 100
    errors: list[BaseException] = []
    with serving(ModbusConfig.model_validate({"tcp": {"max_clients": 32}})) as h:

        def poll() -> None:
            try:
                with h.connect() as sock:
                    for i in range(reads):
                        answer = transact(sock, read_pdu(3, 0, 16), tid=i)
                        registers = list(struct.unpack(">16H", answer[2:]))
                        assert floats(registers[:6]) == [2.5, 41.25, 12.125]
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=poll) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and not any(t.is_alive() for t in threads)
        assert h.service.tcp is not None and h.service.tcp.counters.requests == clients * reads


def test_allow_list_max_clients_and_idle_timeout():
    refused = ModbusConfig.model_validate({"tcp": {"allowed_clients": ["10.0.0.0/8"]}})
    with serving(refused) as h, h.connect() as sock, contextlib.suppress(ConnectionResetError):
        assert sock.recv(1) == b""  # closed at once
    with serving(ModbusConfig.model_validate({"tcp": {"max_clients": 2}})) as h:
        first, second, third = h.connect(), h.connect(), h.connect()
        with first, second, third:
            assert transact(first, read_pdu(3, 0, 1))[:1] == b"\x03"
            assert transact(second, read_pdu(3, 0, 1))[:1] == b"\x03"
            with contextlib.suppress(ConnectionResetError):
                assert third.recv(1) == b""
    idle = ModbusConfig.model_validate({"tcp": {"idle_timeout_s": 0.3}})
    with serving(idle) as h, h.connect() as sock:
        assert transact(sock, read_pdu(3, 0, 1))[:1] == b"\x03"
        started = time.monotonic()
        assert sock.recv(1) == b""  # the server closes it (recv waits on that event)
        assert 0.2 < time.monotonic() - started < TIMEOUT_S


# -- malformed frames -----------------------------------------------------------------------


def test_malformed_frames_do_not_affect_the_server_or_other_clients():
    with serving() as h:
        bystander = h.connect()
        with bystander:
            # wrong protocol id: skipped without an answer; the next frame is answered
            with h.connect() as sock:
                sock.sendall(struct.pack(">HHHB", 1, 7, 6, 1) + read_pdu(3, 0, 1))
                assert transact(sock, read_pdu(3, 0, 1), tid=2)[:1] == b"\x03"
            # absurd lengths: only that connection is closed
            for length in (0, 1, 255, 65535):
                with h.connect() as sock:
                    sock.sendall(struct.pack(">HHHB", 1, 0, length, 1) + b"\x03\x00")
                    with contextlib.suppress(ConnectionResetError):
                        assert sock.recv(16) == b""
            # truncated MBAP, then the client goes away
            with h.connect() as sock:
                sock.sendall(b"\x00\x01\x00")
            # a frame split over many writes is still one frame
            with h.connect() as sock:
                frame = struct.pack(">HHHB", 9, 0, 6, 1) + read_pdu(3, 0, 2)
                for byte in frame:
                    sock.send(bytes((byte,)))
                assert recv_exact(sock, 13)[7:9] == b"\x03\x04"
            assert transact(bystander, read_pdu(3, 0, 2))[:2] == b"\x03\x04"
        counters = h.service.tcp.counters if h.service.tcp else None
        assert counters is not None and counters.skipped_frames == 1
        assert counters.framing_errors == 4


def test_fuzz_random_frames_for_a_bounded_time():
    """Random MBAP-framed PDUs and raw garbage for two seconds: every well-framed request is
    answered with a response or a known exception code, and a control client is always
    served."""
    rng = random.Random(7)
    deadline = time.monotonic() + 2.0
    sent = 0
    with serving(ModbusConfig(writes_enabled=True)) as h:
        control = h.connect()
        fuzz = h.connect()
        with control:
            while time.monotonic() < deadline:
                if rng.random() < 0.1:  # raw garbage on a throwaway connection
                    with h.connect() as junk:
                        junk.sendall(rng.randbytes(rng.randrange(1, 300)))
                else:
                    fc = rng.choice((1, 2, 3, 4, 5, 6, 15, 16, 23, 43, rng.randrange(256)))
                    pdu = bytes((fc,)) + rng.randbytes(rng.randrange(0, 12))
                    if not pdu[1:]:
                        pdu = bytes((fc,))
                    answer = transact(fuzz, pdu, tid=sent & 0xFFFF)
                    if answer[0] & 0x80:
                        assert answer[0] == (fc | 0x80) & 0xFF and answer[1] in (1, 2, 3, 4)
                    else:
                        assert answer[0] == fc
                    sent += 1
                assert transact(control, read_pdu(3, 0, 2))[:2] == b"\x03\x04"
            fuzz.close()
        assert sent > 100
