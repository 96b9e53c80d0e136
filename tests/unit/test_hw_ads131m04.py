"""ADS131M04 driver against its register-level model, including every fault case."""

from __future__ import annotations

import binascii
import itertools

import numpy as np
import pytest
from simhw import drain, motor, on_bus

from drivers.ads131m04 import AdcChannel, Ads131m04
from drivers.ads131m04 import regs as R
from drivers.clock import VirtualClock
from drivers.hal import SensorFault, SensorNotResponding, WrongIdentity
from dsp_ext import decode_be24
from hal_sim.bus import SimGpioInput
from hal_sim.chips import Ads131m04Model
from hal_sim.sources import MachineCurrent

LSB_V = R.REFERENCE_V / (1 << 23)
AMPS_PER_VOLT = 50.0


def make(odr=500.0, gains=(1, 1, 1, 1)):
    clock = VirtualClock()
    machine = motor()
    source = MachineCurrent(machine, 99, AMPS_PER_VOLT, lambda t: False)
    model = Ads131m04Model(clock, [source, None, None, None])
    drdy = SimGpioInput("sim:gpio25", model.drdy_level)
    adc = Ads131m04(on_bus(model, bus="sim:spi1"), drdy, clock, odr_hz=odr, gains=gains)
    return clock, model, adc, machine


def test_start_resets_checks_identity_configures_and_self_tests():
    _clock, model, adc, _ = make(odr=1000.0, gains=(2, 1, 1, 1))
    adc.start()
    assert model.regs[R.CLOCK] == 0x0F00 | (5 << 2) | 0b10  # OSR 4096: 1 kSPS at 8.192 MHz
    assert model.regs[R.GAIN1] & 0x7 == 1  # gain 2 on channel 0
    assert not model.regs[R.MODE] & R.MODE_RESET  # the reset flag was acknowledged
    assert adc.test_signal_v == pytest.approx((0.16,) * 4, abs=1e-5)
    assert all(model.regs[R.ch_cfg(c)] & 3 == R.MUX_INPUT for c in range(4))


def test_frames_carry_status_channels_and_a_valid_crc():
    clock, _model, adc, machine = make()
    adc.start()
    blocks = drain(adc, clock, 0.2)
    payload = b"".join(b.payload for b in blocks)
    assert len(payload) % R.FRAME_BYTES == 0
    for i in range(0, len(payload), R.FRAME_BYTES):
        frame = payload[i : i + R.FRAME_BYTES]
        assert binascii.crc_hqx(frame[:15], 0xFFFF) == frame[15] << 8 | frame[16]
        assert frame[1] & 0x0F == 0x0F  # DRDY bits of all four channels
    amps = decode_be24(payload, [LSB_V * AMPS_PER_VOLT], 6, 1)[:, 0]
    expected_rms = machine.current_rms()
    assert float(np.sqrt(np.mean(amps**2))) == pytest.approx(expected_rms, rel=0.05)
    assert len(amps) == pytest.approx(clock.now() * 500, abs=2)


def test_timestamps_are_contiguous_when_read_every_conversion():
    clock, _model, adc, _ = make()
    adc.start()
    blocks = drain(adc, clock, 0.5)
    assert not any(b.overflow for b in blocks)
    for a, b in itertools.pairwise(blocks):
        assert b.timestamp == pytest.approx(a.timestamp + a.count / 500.0, abs=1e-9)


def test_lost_frames_are_flagged_when_polled_too_late():
    clock, model, adc, _ = make()
    adc.start()
    drain(adc, clock, 0.02)
    clock.advance(0.05)  # 25 conversions, two-deep buffer
    block = adc.read_block()
    assert block.count == R.FIFO_DEPTH and block.overflow
    assert model.lost >= 20
    clock.advance(adc.poll_interval)
    assert not adc.read_block().overflow


def test_crc_error_drops_the_frame_and_counts_it():
    clock, model, adc, _ = make()
    adc.start()
    drain(adc, clock, 0.01)
    model.corrupt_next = 1
    clock.advance(2 / 500)
    block = adc.read_block()
    assert adc.stats.crc_errors == 1
    assert block.count == 1 and block.overflow


def test_not_answering():
    clock, model, adc, _ = make()
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding, match="no answer"):
        adc.start()
    model.force(disconnected=False)
    adc.start()
    model.force(disconnected=True)  # DRDY floats high, frames read all ones
    with pytest.raises(SensorNotResponding):
        for _ in range(500):
            clock.advance(adc.poll_interval)
            adc.read_block()
    assert not adc.started and not adc.healthy


def test_wrong_identity_is_a_two_channel_part():
    _clock, model, adc, _ = make()
    model.force(wrong_identity=True)
    with pytest.raises(WrongIdentity, match="2-channel ADS131M0x"):
        adc.start()


def test_chip_reset_behind_our_back_is_reported():
    clock, model, adc, _ = make()
    adc.start()
    drain(adc, clock, 0.01)
    model.power_on_reset()  # brown-out: registers back to defaults, RESET flag set
    with pytest.raises(SensorFault, match="reset"):
        for _ in range(10):
            clock.advance(adc.poll_interval)
            adc.read_block()


def test_stalled_conversions():
    clock, model, adc, _ = make()
    adc.start()
    model.force(stalled=True)
    with pytest.raises(SensorFault, match="stopped"):
        for _ in range(500):
            clock.advance(adc.poll_interval)
            adc.read_block()


def test_self_test_catches_a_broken_input_stage():
    _clock, model, adc, _ = make()
    model.test_signal_v = 0.02
    with pytest.raises(SensorFault, match=r"channel 0 reads 20\.0 mV"):
        adc.start()


def test_shared_channels_each_get_every_frame_and_decode_their_own_word():
    clock, _model, adc, _machine = make()
    ch0, ch1 = AdcChannel(adc, 0), AdcChannel(adc, 1, kind="voltage")
    ch0.start()
    ch1.start()
    assert adc.stats.starts == 1  # the second channel found the chip running
    a = drain(ch0, clock, 0.1)
    clock_now = clock.now()
    b = []
    for _ in range(3):
        block = ch1.read_block()
        if block:
            b.append(block)
    assert clock.now() == clock_now
    assert sum(x.count for x in a) == pytest.approx(0.1 * 500, abs=2)
    assert b  # frames read by ch0's polls were queued for ch1
    amps = decode_be24(b"".join(x.payload for x in a), [LSB_V * AMPS_PER_VOLT], 6, 1)
    volts = decode_be24(b"".join(x.payload for x in b), [LSB_V], 6, 2)
    assert float(np.abs(amps).max()) > 10 and float(np.abs(volts).max()) < 1e-3


def test_a_channel_restarts_the_shared_chip_after_a_fault():
    clock, model, adc, _ = make()
    ch0, ch1 = AdcChannel(adc, 0), AdcChannel(adc, 1)
    ch0.start()
    ch1.start()
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding):
        for _ in range(500):
            clock.advance(ch0.poll_interval)
            ch0.read_block()
    model.force(disconnected=False)
    ch0.start()  # what the runtime does after a fault
    clock.advance(1.0 / adc.odr_hz)  # one conversion
    first = ch1.read_block()
    assert first is not None and first.overflow  # ch1 lost frames meanwhile


def test_bad_settings():
    clock, _model, adc, _ = make()
    with pytest.raises(ValueError, match="odr_hz"):
        Ads131m04(adc.spi, adc.drdy, clock, odr_hz=3000)
    with pytest.raises(ValueError, match="gains"):
        Ads131m04(adc.spi, adc.drdy, clock, gains=(3, 1, 1, 1))
    with pytest.raises(ValueError, match="channel"):
        AdcChannel(adc, 4)
