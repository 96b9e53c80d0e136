"""IIS3DWB driver against its register-level model, including every fault case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from simhw import IIS_FS, accel_source, drain, on_bus

from drivers.clock import VirtualClock
from drivers.hal import SensorFault, SensorNotResponding, WrongIdentity
from drivers.iis3dwb import Iis3dwb
from drivers.iis3dwb import regs as R
from dsp_ext import decode_iis3dwb, iis3dwb_scale
from hal_sim.chips import Iis3dwbModel


@pytest.fixture
def rig():
    clock = VirtualClock()
    model = Iis3dwbModel(clock, accel_source())
    driver = Iis3dwb(on_bus(model), clock, range_g=8)
    return clock, model, driver


def test_start_checks_identity_resets_self_tests_and_configures(rig):
    _clock, model, driver = rig
    model.regs[R.FIFO_CTRL1] = 0x55  # left over from a previous run: reset must clear it
    driver.start()
    assert driver.started
    assert driver.self_test_mg == pytest.approx((1600, 1600, 1600), rel=0.01)
    assert model.regs[R.CTRL1_XL] == R.XL_EN_26K7 | R.FS_BITS[8]
    assert model.regs[R.FIFO_CTRL4] == R.FIFO_MODE_CONTINUOUS
    assert model.regs[R.FIFO_CTRL1] | (model.regs[R.FIFO_CTRL2] & 1) << 8 == 256
    assert model.regs[R.CTRL5_C] == 0  # self-test force off again


def test_blocks_are_whole_words_contiguous_in_time_and_decode(rig):
    clock, _model, driver = rig
    driver.start()
    blocks = drain(driver, clock, 0.2)
    assert blocks and all(len(b.payload) == 7 * b.count for b in blocks)
    assert not any(b.overflow for b in blocks)
    for a, b in itertools.pairwise(blocks):
        assert b.timestamp == pytest.approx(a.timestamp + a.count / IIS_FS, abs=1e-9)
    total = sum(b.count for b in blocks)
    assert total == pytest.approx(0.2 * IIS_FS, abs=driver.poll_interval * IIS_FS + 2)
    x, skipped = decode_iis3dwb(b"".join(b.payload for b in blocks), iis3dwb_scale(8))
    assert skipped == 0 and x.shape == (total, 3)
    assert 0.02 < float(x.std(axis=0).min()) < 1.0  # a healthy machine: small vibration
    assert blocks[0].full_scale == 8.0 and blocks[0].odr_hz == IIS_FS


def test_each_drain_is_two_transfers(rig):
    clock, _model, driver = rig
    driver.start()
    device = driver.spi
    before = device.transfers
    clock.advance(driver.poll_interval)
    block = driver.read_block()
    assert block is not None and block.count > 200
    assert device.transfers - before == 2  # FIFO status, then every word in one transfer


def test_overflow_flagged_when_not_drained_in_time(rig):
    clock, _model, driver = rig
    driver.start()
    drain(driver, clock, 0.05)
    clock.advance(0.1)  # 2667 samples into a 512-word FIFO
    block = driver.read_block()
    assert block.overflow and block.count == R.FIFO_WORDS
    assert driver.stats.overflows == 1
    # the overflow is latched once; the next drain in time is clean and contiguous again
    clock.advance(driver.poll_interval)
    nxt = driver.read_block()
    assert not nxt.overflow
    assert nxt.timestamp == pytest.approx(block.timestamp + block.count / IIS_FS, abs=1e-9)


def test_watermark_flag_in_fifo_status(rig):
    clock, _model, driver = rig
    driver.start()
    clock.advance(300 / IIS_FS)
    status = driver.regs.read(R.FIFO_STATUS1, 2)
    level = status[0] | (status[1] & 3) << 8
    assert level >= 256 and status[1] & R.FIFO_STATUS2_WTM


def test_not_answering_at_start(rig):
    _clock, model, driver = rig
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding, match="WHO_AM_I reads 0xFF"):
        driver.start()
    assert driver.stats.retries == 2  # the boot-time retries the data sheet allows


def test_unplugged_while_running_then_recovered(rig):
    clock, model, driver = rig
    driver.start()
    drain(driver, clock, 0.02)
    model.force(disconnected=True)
    clock.advance(driver.poll_interval)
    with pytest.raises(SensorNotResponding, match="does not answer"):
        driver.read_block()
    model.force(disconnected=False)  # plugged back: the chip was power-cycled
    clock.advance(0.1)
    with pytest.raises(SensorFault, match="configuration lost"):
        for _ in range(100):
            clock.advance(driver.poll_interval)
            driver.read_block()
    driver.start()
    assert drain(driver, clock, 0.05)


def test_miso_pulled_low_is_found_by_the_stall_check():
    clock = VirtualClock()
    model = Iis3dwbModel(clock, accel_source())
    model.miso_idle = 0x00
    driver = Iis3dwb(on_bus(model), clock)
    driver.start()
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding):
        for _ in range(200):  # 200 x 9.6 ms: well past the 0.25 s stall timeout
            clock.advance(driver.poll_interval)
            assert driver.read_block() is None
    assert clock.now() > 0.25


def test_wrong_identity_at_start_and_while_running(rig):
    clock, model, driver = rig
    model.force(wrong_identity=True)
    with pytest.raises(WrongIdentity, match="WHO_AM_I is 0x6C"):
        driver.start()
    model.force(wrong_identity=False)
    driver.start()
    model.force(wrong_identity=True)
    with pytest.raises(WrongIdentity, match="replaced"):
        for _ in range(100):
            clock.advance(driver.poll_interval)
            driver.read_block()


def test_fifo_stall_is_a_sensor_fault(rig):
    clock, model, driver = rig
    driver.start()
    drain(driver, clock, 0.02)
    model.force(stalled=True)
    with pytest.raises(SensorFault, match="stalled"):
        for _ in range(100):
            clock.advance(driver.poll_interval)
            driver.read_block()
    assert 0.25 < clock.now() < 0.35


def test_self_test_failure(rig):
    _clock, model, driver = rig
    model.self_test_g = 0.3  # 300 mg: below the 800 mg the data sheet requires
    with pytest.raises(SensorFault, match="self-test failed: X axis moved 300 mg"):
        driver.start()


def test_range_is_applied_to_the_data():
    """The same signal read at 2 g and 16 g decodes to the same values (within 1 LSB)."""
    out = {}
    for rng in (2, 16):
        clock = VirtualClock()
        driver = Iis3dwb(on_bus(Iis3dwbModel(clock, accel_source())), clock, range_g=rng)
        driver.start()
        blocks = drain(driver, clock, 0.05)
        out[rng] = decode_iis3dwb(b"".join(b.payload for b in blocks), iis3dwb_scale(rng))[0]
    n = min(len(out[2]), len(out[16]))
    assert np.abs(out[2][:n] - out[16][:n]).max() <= iis3dwb_scale(16)


def test_read_before_start_and_bad_settings():
    clock = VirtualClock()
    driver = Iis3dwb(on_bus(Iis3dwbModel(clock, accel_source())), clock)
    with pytest.raises(RuntimeError, match="before start"):
        driver.read_block()
    with pytest.raises(ValueError, match="range_g"):
        Iis3dwb(driver.spi, clock, range_g=3)


def test_stop_puts_the_chip_in_bypass(rig):
    _clock, model, driver = rig
    driver.start()
    driver.stop()
    assert model.regs[R.FIFO_CTRL4] == R.FIFO_MODE_BYPASS and model.regs[R.CTRL1_XL] == 0
    assert not driver.started
