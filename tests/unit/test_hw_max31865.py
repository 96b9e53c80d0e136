"""MAX31865 driver against its register-level model, including every fault case."""

from __future__ import annotations

import pytest
from simhw import on_bus

from drivers.clock import VirtualClock
from drivers.hal import SensorFault, SensorNotResponding, WrongIdentity
from drivers.max31865 import Max31865
from drivers.max31865 import regs as R
from dsp_ext.rtd import celsius_to_code, max31865_to_celsius, rtd_temperature
from hal_sim.chips import Max31865Model
from hal_sim.sources import FixedTemperature


def make(celsius=42.0, r_ref=430.0, r0=100.0, wires=3):
    clock = VirtualClock()
    probe = FixedTemperature(celsius)
    model = Max31865Model(clock, probe, r_ref=r_ref, r0=r0)
    driver = Max31865(
        on_bus(model, cs=1),
        clock,
        r_ref=r_ref,
        r0=r0,
        wires=wires,
        low_code=celsius_to_code(-40, r_ref, r0),
        high_code=celsius_to_code(180, r_ref, r0),
        to_celsius=lambda ohms: float(rtd_temperature(ohms, r0)),
    )
    return clock, probe, model, driver


@pytest.mark.parametrize(("r0", "r_ref"), [(100.0, 430.0), (1000.0, 4300.0)])
@pytest.mark.parametrize("celsius", [-35.0, 0.0, 42.0, 150.0])
def test_reads_temperature_through_the_rtd_code(r0, r_ref, celsius):
    clock, _probe, _model, driver = make(celsius, r_ref, r0)
    driver.start()
    temps = []
    for _ in range(5):
        clock.advance(1.0)
        block = driver.read_block()
        assert block.count == 1 and len(block.payload) == 2 and block.full_scale == r_ref
        temps.extend(max31865_to_celsius(block.payload, r_ref, r0))
    # one LSB is about 0.03 °C at Rref = 4.3 R0
    assert sum(temps) / len(temps) == pytest.approx(celsius, abs=0.08)


def test_start_configures_bias_auto_filter_wires_and_thresholds():
    _clock, _probe, model, driver = make()
    driver.start()
    cfg = model.regs[R.CONFIG]
    assert cfg == R.CFG_VBIAS | R.CFG_AUTO | R.CFG_3WIRE | R.CFG_FILTER_50HZ
    high = (model.regs[R.HIGH_FAULT_MSB] << 8 | model.regs[R.HIGH_FAULT_LSB]) >> 1
    assert high == celsius_to_code(180, 430.0)


@pytest.mark.parametrize(
    ("state", "celsius", "message"),
    [
        ("open", 25.0, "open RTD or broken lead"),
        ("short", 25.0, "shorted RTD"),
        ("ok", 250.0, "temperature above range"),
        ("ok", -60.0, "temperature below range"),
    ],
)
def test_rtd_faults_are_decoded(state, celsius, message):
    clock, probe, _model, driver = make()
    driver.start()
    probe.state, probe.celsius = state, celsius
    clock.advance(1.0)
    with pytest.raises(SensorFault, match=message):
        driver.read_block()
    assert driver.stats.retries == 1  # cleared and read again once before giving up
    probe.state, probe.celsius = "ok", 25.0  # repaired: readings come back without a restart
    clock.advance(1.0)
    assert max31865_to_celsius(driver.read_block().payload, 430.0)[0] == pytest.approx(25, abs=0.1)


def test_open_rtd_found_by_the_fault_cycle_at_start():
    _clock, probe, _model, driver = make()
    probe.state = "open"
    with pytest.raises(SensorFault, match=r"open RTD.*REFIN- above"):
        driver.start()


def test_overvoltage_flag():
    clock, _probe, model, driver = make()
    driver.start()
    model.overvoltage = True
    clock.advance(1.0)
    with pytest.raises(SensorFault, match=r"over- or undervoltage"):
        driver.read_block()


def test_not_answering():
    _clock, _probe, model, driver = make()
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding, match="0xFF"):
        driver.start()
    model.force(disconnected=False)
    driver.start()
    model.force(disconnected=True)
    with pytest.raises(SensorNotResponding):
        driver.read_block()


def test_wrong_identity():
    _clock, _probe, model, driver = make()
    model.force(wrong_identity=True)
    with pytest.raises(WrongIdentity, match="does not behave like a MAX31865"):
        driver.start()


def test_reset_while_running_is_reported():
    _clock, _probe, model, driver = make()
    driver.start()
    model.power_on_reset()
    with pytest.raises(SensorFault, match="configuration lost"):
        driver.read_block()
    driver.start()
    assert driver.read_block() is not None


def test_bad_settings():
    clock, _probe, _model, driver = make()
    with pytest.raises(ValueError, match="wires"):
        Max31865(driver.spi, clock, wires=5)
    with pytest.raises(ValueError, match="thresholds"):
        Max31865(driver.spi, clock, low_code=100, high_code=50)
