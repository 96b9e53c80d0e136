"""ADXL355 driver against its register-level model, including every fault case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from simhw import accel_source, drain, on_bus

from drivers.adxl355 import Adxl355
from drivers.adxl355 import regs as R
from drivers.clock import VirtualClock
from drivers.hal import SensorFault, SensorNotResponding, WrongIdentity
from dsp_ext import adxl355_scale, decode_adxl355
from hal_sim.chips import Adxl355Model


@pytest.fixture
def rig():
    clock = VirtualClock()
    model = Adxl355Model(clock, accel_source())
    driver = Adxl355(on_bus(model), clock, odr_hz=4000, range_g=4)
    return clock, model, driver


def test_start_configures_rate_range_and_measurement(rig):
    _clock, model, driver = rig
    driver.start()
    assert driver.self_test_g == pytest.approx((0.3, 0.3, 1.5), abs=0.01)
    assert model.regs[R.FILTER] == R.ODR_CODES[4000.0]
    assert model.regs[R.RANGE] & 0x03 == R.RANGE_BITS[4]
    assert not model.regs[R.POWER_CTL] & R.POWER_STANDBY
    assert model.regs[R.SELF_TEST] == 0


def test_samples_are_aligned_contiguous_and_decode(rig):
    clock, _model, driver = rig
    driver.start()
    blocks = drain(driver, clock, 0.25)
    assert not any(b.overflow for b in blocks)
    for a, b in itertools.pairwise(blocks):
        assert b.timestamp == pytest.approx(a.timestamp + a.count / 4000.0, abs=1e-9)
    x = decode_adxl355(b"".join(b.payload for b in blocks), adxl355_scale(4))
    assert x.shape == (sum(b.count for b in blocks), 3)
    assert len(x) == pytest.approx(clock.now() * 4000.0, abs=2)
    assert 0.02 < float(x.std(axis=0).min()) < 1.0


def test_overflow_when_not_drained_in_time(rig):
    clock, _model, driver = rig
    driver.start()
    drain(driver, clock, 0.01)
    clock.advance(0.05)  # 200 samples into a 32-sample FIFO
    block = driver.read_block()
    assert block.overflow and block.count == 32
    clock.advance(driver.poll_interval)
    assert not driver.read_block().overflow


def test_a_read_that_ends_mid_sample_is_carried_over(rig):
    """Pop one entry behind the driver's back: the next drain must drop the orphaned Y, Z
    entries, flag the loss, and still hand out whole aligned samples."""
    clock, _model, driver = rig
    driver.start()
    drain(driver, clock, 0.01)
    clock.advance(0.002)
    driver.regs.read(R.FIFO_DATA, 3)  # one X entry gone
    block = driver.read_block()
    assert block.overflow
    assert len(block.payload) % 9 == 0
    decode_adxl355(block.payload, adxl355_scale(4))  # raises if misaligned
    clock.advance(driver.poll_interval)
    nxt = driver.read_block()
    assert len(nxt.payload) % 9 == 0 and not nxt.overflow


def test_not_answering(rig):
    clock, model, driver = rig
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding, match="FF FF FF"):
        driver.start()
    model.force(disconnected=False)
    driver.start()
    model.force(disconnected=True)
    clock.advance(driver.poll_interval)
    with pytest.raises(SensorNotResponding):
        driver.read_block()


def test_wrong_identity(rig):
    _clock, model, driver = rig
    model.force(wrong_identity=True)
    with pytest.raises(WrongIdentity, match="AD 1D F2"):
        driver.start()


def test_fifo_stall(rig):
    clock, model, driver = rig
    driver.start()
    model.force(stalled=True)
    with pytest.raises(SensorFault, match="stalled"):
        for _ in range(200):
            clock.advance(driver.poll_interval)
            driver.read_block()


def test_self_test_failure(rig):
    _clock, model, driver = rig
    model.self_test_g = (0.3, 0.3, 0.05)
    with pytest.raises(SensorFault, match=r"Z axis moved 0\.05 g"):
        driver.start()


def test_lower_rate_and_bad_settings():
    clock = VirtualClock()
    driver = Adxl355(on_bus(Adxl355Model(clock, accel_source())), clock, odr_hz=500, range_g=2)
    driver.start()
    assert driver.poll_interval == pytest.approx(0.032)
    blocks = drain(driver, clock, 1.0)
    assert sum(b.count for b in blocks) == pytest.approx(clock.now() * 500, abs=2)
    x = decode_adxl355(b"".join(b.payload for b in blocks), adxl355_scale(2))
    assert np.isfinite(x).all()
    with pytest.raises(ValueError, match="odr_hz"):
        Adxl355(driver.spi, clock, odr_hz=3000)
    with pytest.raises(ValueError, match="range_g"):
        Adxl355(driver.spi, clock, range_g=16)
