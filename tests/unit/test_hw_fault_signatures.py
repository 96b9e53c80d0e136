"""Every fault kind, injected through the plant of the `sim` board, read through the real
drivers and analysed with dsp_ext, shows the signature a vibration analyst looks for."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from simhw import IIS_FS, amplitude_at, analyse, collect, sim_board

from drivers.hal import SensorFault, SensorNotResponding, WrongIdentity
from hal_sim import FaultError

N = 32768  # 1.23 s at 26.667 kHz, 0.81 Hz bins
X, Y, Z = 0, 1, 2  # mounted radial horizontal, radial vertical, axial on both motors


def vibration(kind: str | None, severity: float = 0.8, machine: str = "motor-1"):
    board, clock = sim_board()
    sid = f"{machine}-accel"
    board.sensors[sid].start()
    if kind:
        board.plant.inject_fault(machine, kind, severity)
    samples = collect(board.sensors[sid], board.sensor_info[sid].decode, clock, N)
    model = board.plant.machines[machine]
    return analyse(samples, IIS_FS, N), model.spec.shaft_hz, model.defects


@pytest.fixture(scope="module")
def healthy():
    return vibration(None)[0]


def test_healthy_machine_is_in_iso_zone_a(healthy):
    assert float(healthy.metric("vibration_rms")[:2].max()) < 1.4
    assert float(healthy.metric("kurtosis").max()) < 3.5


def test_imbalance_makes_1x_dominant_on_the_radial_axes(healthy):
    r, fr, _ = vibration("imbalance")
    for axis in (X, Y):
        top = r.peaks[axis][0]
        assert top[0] == pytest.approx(fr, abs=r.settings.bin_width)
        assert amplitude_at(r.freqs, r.spectrum[axis], fr) > 5 * amplitude_at(
            r.freqs, r.spectrum[axis], 2 * fr
        )
    assert r.metric("vibration_rms")[X] > 4 * healthy.metric("vibration_rms")[X]
    assert r.metric("vibration_rms")[Z] < 0.3 * r.metric("vibration_rms")[X]  # little axial


def test_misalignment_shows_2x_and_strong_axial():
    r, fr, _ = vibration("misalignment")
    z = r.spectrum[Z]
    assert r.peaks[Z][0][0] == pytest.approx(2 * fr, abs=r.settings.bin_width)
    assert amplitude_at(r.freqs, z, 2 * fr) > 2 * amplitude_at(r.freqs, z, fr)
    assert amplitude_at(r.freqs, z, 2 * fr) > 2 * amplitude_at(r.freqs, r.spectrum[X], 2 * fr)
    v = r.metric("vibration_rms")
    assert v[Z] > v[X] and v[Z] > v[Y]


def test_looseness_shows_harmonics_and_half_orders(healthy):
    r, fr, _ = vibration("looseness")
    y = r.spectrum[Y]
    floor = float(np.median(y[: int(1000 / r.settings.bin_width)]))
    for order in (0.5, 1.5, 2.5, 3.5):
        assert amplitude_at(r.freqs, y, order * fr) > 30 * floor, order
        assert amplitude_at(r.freqs, healthy.spectrum[Y], order * fr) < 5 * floor, order
    for order in range(1, 9):
        assert amplitude_at(r.freqs, y, order * fr) > 30 * floor, order


@pytest.mark.parametrize("axis", [X, Y])
def test_outer_race_defect_peaks_the_envelope_at_bpfo(axis, healthy):
    r, _, d = vibration("bearing_outer", 0.5)
    assert r.envelope_peaks[axis][0][0] == pytest.approx(d.bpfo, abs=2 * r.settings.bin_width)
    assert amplitude_at(r.envelope_freqs, r.envelope_spectrum[axis], 2 * d.bpfo) > 0.3
    quiet = amplitude_at(healthy.envelope_freqs, healthy.envelope_spectrum[axis], d.bpfo)
    assert r.envelope_peaks[axis][0][1] > 100 * quiet
    assert r.metric("kurtosis")[axis] > 6  # impulsive


def test_inner_race_defect_peaks_at_bpfi_with_1x_sidebands():
    r, fr, d = vibration("bearing_inner", 0.5)
    env, f = r.envelope_spectrum[Y], r.envelope_freqs
    assert r.envelope_peaks[Y][0][0] == pytest.approx(d.bpfi, abs=2 * r.settings.bin_width)
    floor = float(np.median(env))
    for sideband in (d.bpfi - fr, d.bpfi + fr):
        assert amplitude_at(f, env, sideband) > 10 * floor, sideband
    assert amplitude_at(f, env, fr) > 10 * floor  # the shaft modulation itself


def test_ball_defect_peaks_at_twice_bsf_with_cage_sidebands():
    r, _, d = vibration("bearing_ball", 0.5)
    env, f = r.envelope_spectrum[Y], r.envelope_freqs
    assert r.envelope_peaks[Y][0][0] == pytest.approx(2 * d.bsf, abs=2 * r.settings.bin_width)
    floor = float(np.median(env))
    for sideband in (2 * d.bsf - d.ftf, 2 * d.bsf + d.ftf):
        assert amplitude_at(f, env, sideband) > 10 * floor


def test_cage_defect_shows_ftf(healthy):
    r, _, d = vibration("cage")
    floor = float(np.median(r.spectrum[Y][:1000]))
    assert amplitude_at(r.freqs, r.spectrum[Y], d.ftf) > 20 * floor
    assert amplitude_at(healthy.freqs, healthy.spectrum[Y], d.ftf) < 3 * floor


def test_second_motor_has_its_own_speed_and_bearing():
    r, fr, d = vibration("bearing_outer", 0.5, machine="motor-2")
    assert fr == pytest.approx(49.5)
    assert r.envelope_peaks[Y][0][0] == pytest.approx(d.bpfo, abs=2 * r.settings.bin_width)


def test_ramp_grows_the_fault_over_time():
    board, clock = sim_board()
    driver, info = board.sensors["motor-1-accel"], board.sensor_info["motor-1-accel"]
    driver.start()
    board.plant.inject_fault("motor-1", "imbalance", 1.0, ramp_s=20.0)
    levels = []
    for _ in range(3):
        r = analyse(collect(driver, info.decode, clock, 8192), IIS_FS, 8192)
        levels.append(float(r.metric("vibration_rms")[X]))
        clock.advance(9.0)  # the FIFO overflows meanwhile; the next read starts afresh
        driver.read_block()
    assert levels[0] < levels[1] < levels[2]


def test_overheating_raises_the_bearing_temperature():
    board, clock = sim_board()
    driver, info = board.sensors["motor-1-temp"], board.sensor_info["motor-1-temp"]
    driver.start()
    start = float(info.decode(driver.read_block())[0, 0])
    board.plant.inject_fault("motor-1", "overheating", 1.0)
    temps = []
    for _ in range(15):  # 15 minutes, one reading a minute
        clock.advance(60.0)
        temps.append(float(info.decode(driver.read_block())[0, 0]))
    assert all(b > a for a, b in itertools.pairwise(temps))
    assert temps[-1] - start > 30  # tau 10 min towards +60 °C
    other = board.sensors["motor-2-temp"]
    other.start()
    cool = float(board.sensor_info["motor-2-temp"].decode(other.read_block())[0, 0])
    assert cool == pytest.approx(30 + 15 * 0.7, abs=0.5)  # motor-2 unaffected


def test_bearing_defect_warms_the_bearing_a_little():
    board, clock = sim_board()
    driver, info = board.sensors["motor-1-temp"], board.sensor_info["motor-1-temp"]
    driver.start()
    start = float(info.decode(driver.read_block())[0, 0])
    board.plant.inject_fault("motor-1", "bearing_outer", 1.0)
    clock.advance(3600)
    warm = float(info.decode(driver.read_block())[0, 0])
    assert 10 < warm - start < 20


def current(kind: str | None, n: int = 8192):
    board, clock = sim_board()
    driver, info = board.sensors["motor-1-current"], board.sensor_info["motor-1-current"]
    driver.start()
    if kind:
        board.plant.inject_fault("motor-1", kind, 1.0)
    amps = collect(driver, info.decode, clock, n)
    return analyse(amps, driver.odr_hz, n), board.plant.machines["motor-1"]


def test_motor_current_and_broken_rotor_bar_sidebands():
    healthy, machine = current(None)
    broken, _ = current("broken_rotor_bar")
    f, slip = machine.spec.line_hz, machine.spec.slip
    rms = healthy.metric("accel_rms")[0]  # the RMS of whatever the channel carries: amps
    assert rms == pytest.approx(machine.current_rms(), rel=0.03)
    assert healthy.peaks[0][0][0] == pytest.approx(f, abs=healthy.settings.bin_width)
    for sideband in (f * (1 - 2 * slip), f * (1 + 2 * slip)):
        before = amplitude_at(healthy.freqs, healthy.spectrum[0], sideband, bins=1)
        after = amplitude_at(broken.freqs, broken.spectrum[0], sideband, bins=1)
        assert after > 8 * before
        assert after < 0.05 * broken.peaks[0][0][1]  # still a sideband, -30 dB or so


def test_unplugged_accelerometer_stops_answering_and_comes_back():
    board, clock = sim_board()
    driver = board.sensors["motor-1-accel"]
    driver.start()
    fault = board.plant.inject_fault("motor-1-accel", "sensor_disconnect", 1.0)
    clock.advance(driver.poll_interval)
    with pytest.raises(SensorNotResponding):
        driver.read_block()
    with pytest.raises(SensorNotResponding):
        driver.start()
    board.plant.clear_fault(fault)
    driver.start()
    clock.advance(driver.poll_interval)
    assert driver.read_block().count > 0
    other = board.sensors["motor-2-accel"]  # never affected
    other.start()
    clock.advance(other.poll_interval)
    assert other.read_block().count > 0


def test_unplugged_rtd_is_an_open_circuit_and_an_unplugged_clamp_reads_zero():
    board, clock = sim_board()
    temp, amps = board.sensors["motor-1-temp"], board.sensors["motor-1-current"]
    temp.start()
    amps.start()
    board.plant.inject_fault("motor-1", "sensor_disconnect", 1.0)
    clock.advance(1.0)
    with pytest.raises(SensorFault, match="open RTD"):
        temp.read_block()
    x = collect(amps, board.sensor_info["motor-1-current"].decode, clock, 1024)
    assert float(np.abs(x[-256:]).max()) < 0.01  # 50 A/V clamp hanging free


def test_swapped_chip_and_stalled_fifo_through_the_plant():
    board, clock = sim_board()
    accel = board.sensors["motor-2-accel"]
    accel.start()
    board.plant.inject_fault("motor-2-accel", "wrong_identity", 1.0)
    with pytest.raises(WrongIdentity):
        for _ in range(100):
            clock.advance(accel.poll_interval)
            accel.read_block()
    with pytest.raises(WrongIdentity):
        accel.start()
    adc = board.sensors["motor-2-current"]
    adc.start()
    board.plant.inject_fault("motor-2", "fifo_stall", 1.0)
    with pytest.raises(SensorFault, match="stopped"):
        for _ in range(1000):
            clock.advance(adc.poll_interval)
            adc.read_block()


def test_scheduled_fault_waits_for_its_time():
    board, clock = sim_board()
    driver = board.sensors["motor-1-accel"]
    driver.start()
    board.plant.inject_fault("motor-1-accel", "sensor_disconnect", 1.0, at=0.5)
    for _ in range(40):  # 0.38 s: still fine
        clock.advance(driver.poll_interval)
        driver.read_block()
    with pytest.raises(SensorNotResponding):
        for _ in range(20):
            clock.advance(driver.poll_interval)
            driver.read_block()
    assert 0.5 <= clock.now() < 0.52


def test_plant_api_validates_and_lists_faults():
    board, clock = sim_board()
    plant = board.plant
    f1 = plant.inject_fault("motor-1", "imbalance", 0.4, ramp_s=60)
    f2 = plant.inject_fault("motor-2-accel", "fifo_stall", 1.0)
    assert [f.id for f in plant.faults()] == [f1, f2]
    assert plant.faults()[0].as_dict()["active"] is True
    plant.clear_fault(f1)
    assert [f.id for f in plant.faults()] == [f2]
    with pytest.raises(FaultError, match="no machine or sensor 'motor-9'"):
        plant.inject_fault("motor-9", "imbalance", 0.5)
    with pytest.raises(FaultError, match="unknown fault 'rust'"):
        plant.inject_fault("motor-1", "rust", 0.5)
    with pytest.raises(FaultError, match="severity"):
        plant.inject_fault("motor-1", "imbalance", 1.5)
    with pytest.raises(FaultError, match="acts on a machine"):
        plant.inject_fault("motor-1-accel", "imbalance", 0.5)
    with pytest.raises(FaultError, match="no fault 'f99'"):
        plant.clear_fault("f99")
    clock.advance(10)
    past = plant.inject_fault("motor-1", "cage", 0.2, at=1.0)  # the past is not rewritten
    assert next(f for f in plant.faults() if f.id == past).at == 10.0
