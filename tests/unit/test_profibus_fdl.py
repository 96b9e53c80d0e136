"""PROFIBUS FDL and DP slave layers without a line: every telegram type, bad FCS / length /
delimiters dropped silently, FCB repetition answered from memory (not acted on twice), the DP
state machine's diagnosis in every state, its services and the watchdog; and a bounded fuzz
run of random and corrupted bytes that must change nothing."""

from __future__ import annotations

import random
import time

import pytest

from runtime.fieldbus.profibus import dp as dpl
from runtime.fieldbus.profibus.dp import DpSetup, DpSlave, State
from runtime.fieldbus.profibus.fdl import (
    FC_DH,
    FC_DL,
    FC_FCB,
    FC_FCV,
    FC_RS,
    SC,
    SD1,
    SD2,
    SD3,
    SD4,
    FdlReceiver,
    FdlResponder,
    Telegram,
    encode,
    fcs,
)

STATION, MASTER, IDENT = 8, 2, 0x0ECE
CONFIG = bytes((0xD7, 0x20, 0xD7, 0x20))
SRD_HIGH = 0x40 | 0x0D
SDN_HIGH = 0x40 | 0x06
FDL_STATUS = 0x40 | 0x09
INPUTS = bytes(range(32))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Station:
    """Receiver + responder + DP slave, fed bytes with a gap of line idle before each."""

    def __init__(self, **setup: object) -> None:
        self.clock = Clock()
        self.outputs: list[bytes] = []
        self.events: list[str] = []
        self.dp = DpSlave(
            DpSetup(IDENT, CONFIG, 2, 2, **setup),  # type: ignore[arg-type]
            STATION,
            on_outputs=self.outputs.append,
            on_event=lambda kind, message: self.events.append(kind),
            clock=self.clock,
        )
        self.dp.set_inputs(INPUTS)
        self.responder = FdlResponder(STATION, self.dp.service)
        self.receiver = FdlReceiver(idle_s=0.003)
        self.t = 0.0

    def send(self, frame: bytes) -> list[bytes]:
        self.t += 1.0  # the line idles between requests
        answers = []
        for telegram in self.receiver.feed(frame, self.t):
            answer = self.responder.handle(telegram)
            if answer is not None:
                answers.append(answer)
        return answers

    def one(self, frame: bytes) -> Telegram | None:
        answers = self.send(frame)
        assert len(answers) <= 1
        if not answers:
            return None
        parsed = FdlReceiver(1.0).feed(answers[0], 0.0)
        assert len(parsed) == 1
        return parsed[0]

    def request(self, dsap: int | None, du: bytes = b"", fc: int = SRD_HIGH, sa: int = MASTER):
        return self.one(encode(STATION, sa, fc, du, dsap, None if dsap is None else 62))

    def diag(self, sa: int = 3) -> bytes:
        answer = self.request(dpl.SAP_SLAVE_DIAG, sa=sa)
        assert answer is not None and answer.dsap == 62 and answer.ssap == 60
        return answer.du

    def set_prm(self, status: int = 0x88, ident: int = IDENT, user: bytes = b"\0\0", wd=(10, 1)):
        du = bytes((status, *wd, 0, ident >> 8, ident & 0xFF, 0)) + user
        return self.request(dpl.SAP_SET_PRM, du)

    def to_data_exchange(self) -> None:
        assert self.set_prm() == Telegram(SC)
        assert self.request(dpl.SAP_CHK_CFG, CONFIG) == Telegram(SC)
        assert self.dp.state is State.DATA_EXCHANGE


# -- telegrams --------------------------------------------------------------------------------


def test_encode_picks_sd1_sd2_sd3_and_the_receiver_reads_them_back():
    cases = [
        (b"", None, None, SD1),
        (bytes(8), None, None, SD3),
        (bytes(6), 60, 62, SD3),  # 2 SAP bytes + 6 = 8 data bytes
        (bytes(3), None, None, SD2),
        (bytes(200), 61, 62, SD2),
    ]
    for du, dsap, ssap, sd in cases:
        frame = encode(STATION, MASTER, SRD_HIGH, du, dsap, ssap)
        assert frame[0] == sd and frame[-1] == 0x16
        (telegram,) = FdlReceiver(1.0).feed(frame, 0.0)
        assert telegram == Telegram(sd, STATION, MASTER, SRD_HIGH, dsap, ssap, du)
    assert encode(1, 2, 0x49) == bytes((SD1, 1, 2, 0x49, 0x4C, 0x16))
    assert FdlReceiver(1.0).feed(bytes((SD4, 8, 2)), 0.0) == [Telegram(SD4, 8, 2)]
    assert FdlReceiver(1.0).feed(bytes((SC,)), 0.0) == [Telegram(SC)]
    with pytest.raises(ValueError):
        encode(STATION, MASTER, SRD_HIGH, bytes(247))


def _corrupt_fcs(frame: bytes) -> bytes:
    return frame[:-2] + bytes(((frame[-2] + 1) & 0xFF,)) + frame[-1:]


@pytest.mark.parametrize("du", [b"", bytes(8), bytes(20)], ids=["SD1", "SD3", "SD2"])
def test_bad_fcs_and_bad_end_delimiter_are_dropped_silently(du):
    station = Station()
    frame = encode(STATION, MASTER, SRD_HIGH, du, 60 if du else None, 62 if du else None)
    assert station.send(_corrupt_fcs(frame)) == []
    assert station.send(frame[:-1] + b"\x17") == []
    counters = station.receiver.counters
    assert (counters.bad_fcs, counters.bad_delimiter, counters.frames) == (1, 1, 0)
    assert station.dp.state is State.POWER_ON  # nothing reached the DP layer
    assert station.send(frame)  # the same frame intact is answered


def test_bad_length_and_unknown_delimiters_wait_for_idle():
    station = Station()
    good = encode(STATION, MASTER, SRD_HIGH, bytes(4), 60, 62)
    bad_le = bytes((SD2, good[1], good[1] + 1)) + good[3:]  # LE != LEr
    assert station.send(bad_le) == []
    assert station.send(bytes((SD2, 2, 2, SD2, 8, 2, 0x4D, 0x55, 0x16))) == []  # LE < 3
    body = bytes((STATION, MASTER, SRD_HIGH, 1, 2))
    assert station.send(bytes((SD2, 5, 5, 0x67, *body, fcs(body), 0x16))) == []  # SD2 repeat
    assert station.send(bytes((0x55,)) + good) == []  # garbage first: the frame is lost too
    counters = station.receiver.counters
    assert counters.bad_length == 2 and counters.bad_delimiter == 2 and counters.frames == 0
    assert station.send(good)  # after idle, in sync again
    half = good[: len(good) // 2]
    assert station.send(half) == []  # cut off by idle: dropped, then the next one is fine
    assert station.send(good) and station.receiver.counters.incomplete == 1


def test_frames_for_other_stations_tokens_and_acknowledges_are_ignored():
    station = Station()
    assert station.send(encode(9, MASTER, FDL_STATUS)) == []
    assert station.send(bytes((SD4, STATION, MASTER))) == []
    assert station.send(bytes((SC,))) == []
    assert station.send(encode(STATION, MASTER, FC_DL)) == []  # a response, not a request
    assert station.send(encode(127, MASTER, SRD_HIGH, b"", 60, 62)) == []  # broadcast SRD
    counters = station.responder.counters
    assert (counters.other_station, counters.tokens, counters.ignored) == (1, 1, 3)


def test_fdl_status_is_answered_as_a_passive_slave():
    station = Station()
    assert station.send(bytes((0x10, 0x08, 0x02, 0x49, 0x53, 0x16))) == [
        encode(MASTER, STATION, 0x00)
    ]


def test_an_fcb_repetition_gets_the_last_answer_again_without_acting_twice():
    station = Station()
    station.to_data_exchange()
    first = encode(STATION, MASTER, SRD_HIGH | FC_FCV | FC_FCB, b"\x01\x00")
    answer = station.send(first)
    station.dp.set_inputs(bytes(32))  # new inputs: a new request would return these
    assert station.send(first) == answer  # the master missed the answer: same FCB again
    assert station.outputs == [b"\x01\x00"] and station.dp.counters.data_exchanges == 1
    assert station.responder.counters.repetitions == 1
    toggled = encode(STATION, MASTER, SRD_HIGH | FC_FCV, b"\x00\x00")
    assert station.send(toggled) != answer and station.dp.counters.data_exchanges == 2
    unchecked = encode(STATION, MASTER, SRD_HIGH, b"\x00\x00")  # FCV = 0: never a repetition
    station.send(unchecked)
    station.send(unchecked)
    assert station.dp.counters.data_exchanges == 4
    # After an unchecked frame, the next counted one is new whatever its FCB.
    station.send(toggled)
    assert station.dp.counters.data_exchanges == 5


def test_unsupported_functions_and_inactive_saps_get_no_service():
    station = Station()
    rs = encode(MASTER, STATION, FC_RS)
    assert station.send(encode(STATION, MASTER, 0x40 | 0x0E)) == [rs]  # Ident: not here
    assert station.send(encode(STATION, MASTER, SRD_HIGH, b"", 55, 62)) == [rs]  # no Set_Slave_Add
    assert station.send(encode(STATION, MASTER, SRD_HIGH, b"\0\0")) == [rs]  # DX in Wait_Prm


# -- the DP slave -----------------------------------------------------------------------------


def test_diagnosis_in_every_state():
    station = Station()
    assert station.dp.state is State.POWER_ON
    diag = station.diag()
    assert station.dp.state is State.WAIT_PRM
    assert diag == bytes((0x02, 0x05, 0x00, 0xFF, 0x0E, 0xCE))  # not ready, Prm_Req
    station.set_prm()
    assert station.dp.state is State.WAIT_CFG
    assert station.diag()[:4] == bytes((0x02, 0x0C, 0x00, MASTER))  # not ready, WD_On
    assert station.request(dpl.SAP_GET_CFG).du == CONFIG
    station.request(dpl.SAP_CHK_CFG, CONFIG)
    assert station.diag()[:4] == bytes((0x00, 0x0C, 0x00, MASTER))
    station.dp.set_diagnosis(b"\x04\x02\x00\x82", ext_diag=True, static=True)
    assert station.diag() == bytes((0x08, 0x0E, 0x00, MASTER, 0x0E, 0xCE, 4, 2, 0, 0x82))


def test_new_diagnosis_is_signalled_by_a_high_priority_answer_until_read():
    station = Station()
    station.to_data_exchange()
    exchange = encode(STATION, MASTER, SRD_HIGH, b"\0\0")
    assert station.one(exchange).fc == FC_DL
    station.dp.set_diagnosis(b"\x04\x02\x00\x82", True, False)
    answer = station.one(exchange)
    assert answer.fc == FC_DH and answer.du == INPUTS
    station.diag(sa=MASTER)
    assert station.one(exchange).fc == FC_DL


def test_wrong_ident_user_data_or_watchdog_is_a_prm_fault():
    station = Station(require_watchdog=True)
    station.set_prm(ident=0x1234)
    assert station.dp.state is State.WAIT_PRM
    assert station.diag()[:4] == bytes((0x42, 0x05, 0x00, 0xFF))  # Prm_Fault, Prm_Req
    station.request(dpl.SAP_CHK_CFG, CONFIG)  # not parameterised: ignored
    assert station.dp.state is State.WAIT_PRM
    station.set_prm(user=b"\0")
    assert station.dp.prm_fault
    station.set_prm(status=0x80)  # no watchdog, which this slave requires
    assert station.dp.prm_fault and station.dp.state is State.WAIT_PRM
    station.set_prm()
    assert not station.dp.prm_fault and station.dp.state is State.WAIT_CFG
    assert station.events.count("profibus_prm_fault") == 1  # logged once per episode


def test_a_different_configuration_is_a_cfg_fault_and_back_to_wait_prm():
    station = Station()
    station.set_prm()
    station.request(dpl.SAP_CHK_CFG, CONFIG[:2])
    assert station.dp.state is State.WAIT_PRM
    assert station.diag()[:2] == bytes((0x06, 0x05))  # not ready + Cfg_Fault, Prm_Req
    station.to_data_exchange()
    assert not station.dp.cfg_fault
    exchange = encode(STATION, MASTER, SRD_HIGH, b"\0\0\0")  # 3 output bytes: 2 configured
    assert station.send(exchange) == [encode(MASTER, STATION, FC_RS)]
    assert station.dp.state is State.WAIT_PRM and station.dp.cfg_fault


def test_another_master_cannot_take_over_a_locked_slave():
    station = Station()
    station.to_data_exchange()
    station.set_prm()  # the same master may parameterise again
    station.request(dpl.SAP_CHK_CFG, CONFIG)
    other = encode(STATION, 3, 0x40 | 0x0D, bytes((0x80, 1, 1, 0, 0x0E, 0xCE, 0, 0, 0)), 61, 62)
    assert station.send(other) == [bytes((SC,))]
    assert station.dp.master == MASTER and station.dp.state is State.DATA_EXCHANGE
    rs = encode(3, STATION, FC_RS)
    assert station.send(encode(STATION, 3, SRD_HIGH, b"\0\0")) == [rs]
    unlock = bytes((0x40, 1, 1, 0, 0x0E, 0xCE, 0, 0, 0))
    station.request(dpl.SAP_SET_PRM, unlock)
    assert station.dp.state is State.WAIT_PRM and station.dp.master is None


def test_the_watchdog_sends_the_slave_back_to_wait_prm():
    station = Station()
    station.to_data_exchange()  # watchdog 10 x 1 x 10 ms = 100 ms
    station.dp.set_diagnosis(b"", False, False)
    station.clock.now += 0.09
    station.diag(sa=MASTER)  # any telegram of the master restarts it
    station.clock.now += 0.09
    station.dp.tick()
    assert station.dp.state is State.DATA_EXCHANGE
    station.diag(sa=3)  # another station's does not
    station.clock.now += 0.02
    station.dp.tick()
    assert station.dp.state is State.WAIT_PRM and station.dp.counters.watchdog_trips == 1
    assert station.outputs[-1] == b"\0\0"  # fail-safe outputs
    assert station.diag()[:4] == bytes((0x02, 0x05, 0x00, 0xFF))
    assert "profibus_watchdog" in station.events


def test_global_control_clear_sync_and_freeze():
    station = Station()
    station.set_prm(status=0x88 | dpl.STA_SYNC_REQ | dpl.STA_FREEZE_REQ)
    station.request(dpl.SAP_CHK_CFG, CONFIG)
    gc = lambda command, group=0: station.send(  # noqa: E731
        encode(127, MASTER, SDN_HIGH, bytes((command, group)), 58, 62)
    )
    exchange = lambda out: station.one(encode(STATION, MASTER, SRD_HIGH, out))  # noqa: E731
    assert gc(dpl.GC_FREEZE) == []  # broadcast, not answered
    station.dp.set_inputs(bytes(32))
    assert exchange(b"\1\1").du == INPUTS  # frozen
    assert station.diag()[1] & dpl.FREEZE_MODE
    gc(dpl.GC_UNFREEZE)
    assert exchange(b"\1\1").du == bytes(32)
    gc(dpl.GC_SYNC)
    exchange(b"\3\3")
    assert station.outputs[-1] == b"\1\1"  # held until the next Sync
    gc(dpl.GC_SYNC)
    assert station.outputs[-1] == b"\3\3"
    gc(dpl.GC_UNSYNC)
    gc(dpl.GC_CLEAR, group=0x02)  # another group
    assert station.outputs[-1] == b"\3\3"
    gc(dpl.GC_CLEAR)
    assert station.outputs[-1] == b"\0\0"


def test_sync_without_sync_req_is_not_supported():
    station = Station()
    station.to_data_exchange()
    station.send(encode(127, MASTER, SDN_HIGH, bytes((dpl.GC_SYNC, 0)), 58, 62))
    assert station.diag()[0] & dpl.NOT_SUPPORTED


def test_set_slave_address_when_enabled():
    station = Station(set_slave_address=True)
    station.diag()
    du = bytes((20, 0x0E, 0xCE, 1))
    assert station.request(dpl.SAP_SET_SLAVE_ADD, du) == Telegram(SC)
    assert station.dp.address == 20 and station.dp.address_locked
    wrong_ident = Station(set_slave_address=True)
    assert wrong_ident.request(dpl.SAP_SET_SLAVE_ADD, bytes((20, 0x12, 0x34, 0))).fc == FC_RS


# -- fuzz -------------------------------------------------------------------------------------

FUZZ_S = 2.0


def test_fuzz_random_and_corrupted_bytes_change_nothing():
    """Random bytes and valid requests with one bit flipped, for a bounded time: no crash, no
    answer (other than to nothing), no state change, and the station still works after."""
    rng = random.Random(20240608)
    station = Station()
    station.to_data_exchange()
    before = (station.dp.state, station.dp.master, station.dp.diagnosis(), len(station.outputs))
    counters = station.dp.counters
    counts = (counters.data_exchanges, counters.set_prm, counters.refused)
    valid = [
        encode(STATION, MASTER, SRD_HIGH, b"\1\1"),
        encode(STATION, MASTER, SRD_HIGH, bytes((0x80, 1, 1, 0, 0x12, 0x34, 0, 0, 0)), 61, 62),
        encode(STATION, MASTER, SRD_HIGH, b"\x00", 62, 62),
        encode(127, MASTER, SDN_HIGH, bytes((dpl.GC_CLEAR, 0)), 58, 62),
        encode(STATION, MASTER, SRD_HIGH, b"", 60, 62),
    ]
    deadline = time.monotonic() + FUZZ_S
    fed = 0
    while time.monotonic() < deadline:
        if rng.random() < 0.5:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
        else:
            frame = bytearray(rng.choice(valid))
            bit = rng.randrange(len(frame) * 8)
            frame[bit // 8] ^= 1 << (bit % 8)
            data = bytes(frame)
        for start in range(0, len(data), rng.randint(1, 64)):  # in bursts, as a UART delivers
            station.t += rng.choice((0.0, 0.0001, 0.01))
            for telegram in station.receiver.feed(data[start : start + 64], station.t):
                assert station.responder.handle(telegram) is None, telegram
        fed += len(data)
    assert fed > 10_000
    assert (station.dp.state, station.dp.master, station.dp.diagnosis()) == before[:3]
    assert len(station.outputs) == before[3]
    assert (counters.data_exchanges, counters.set_prm, counters.refused) == counts
    station.t += 1.0
    assert station.one(valid[0]).du == INPUTS
