"""Hardware-layer benchmarks (issue 3): what one simulated IIS3DWB costs per second of signal.

Not part of the test run (pyproject's testpaths is ["tests"]). Run:

    .venv/bin/python -m pytest bench/bench_hardware.py --benchmark-only \
        --benchmark-columns=min,median,max,rounds

Each round covers ONE SECOND of signal of one wideband 3-axis sensor at 26.667 kHz, drained
every `poll_interval` (9.6 ms) through the simulated SPI bus and decoded with dsp_ext:

- full path: driver + bus + chip model + machine synthesis + decode, as the runtime sees it
  on the `sim` board;
- device share: the same driver and decode against a canned FIFO (a chip stand-in that only
  counts words and hands out pre-made bytes), i.e. what a real board would spend;
- synthesis share: the chip model making and encoding 26,667 FIFO words from the machine
  model (what real silicon does for free);
the difference between the full path and those two is the simulated bus and register model.

Plus the machine model's synthesis rate (3-axis sample sets per CPU second, healthy and with
four faults at once) and the other chips' cost per second of signal.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from board import load_board, open_board
from drivers.clock import VirtualClock
from drivers.iis3dwb import Iis3dwb
from drivers.iis3dwb import regs as R
from dsp_ext import COMMON_BEARINGS
from hal_sim.bus import SimSpiBus
from hal_sim.chips import Iis3dwbModel
from hal_sim.chips.iis3dwb import BLOCK
from hal_sim.faults import FaultTimeline
from hal_sim.machine import MachineModel, MachineSpec
from hal_sim.sources import MachineAccel

FS = R.ODR_HZ
ROUNDS = 15


def machine(faulty: bool) -> MachineModel:
    timeline = FaultTimeline()
    model = MachineModel(MachineSpec("m", "M", 1480.0, COMMON_BEARINGS["6205"]), timeline, 0, 0.0)
    if faulty:
        for kind in ("imbalance", "misalignment", "bearing_outer", "bearing_inner"):
            timeline.add("m", kind, 0.5, 0.0, 0.0)
    return model


class CannedFifo:
    """An IIS3DWB stand-in: answers FIFO status from the clock and FIFO reads from a ring of
    pre-made words, with none of the register model or synthesis."""

    def __init__(self, clock: VirtualClock, words: bytes) -> None:
        self.clock = clock
        self.words = words + words
        self.count = len(words) // 7
        self.next = 0
        self.read = 0

    def spi_transfer(self, data: bytes) -> bytes:
        newest = math.floor(self.clock.now() * FS)
        level = min(R.FIFO_WORDS, newest + 1 - self.read)
        if data[0] == R.READ | R.FIFO_STATUS1:
            return bytes((0, level & 0xFF, (level >> 8) & 3))
        n = (len(data) - 1) // 7
        start = (self.read % self.count) * 7
        self.read += n
        return b"\x00" + self.words[start : start + 7 * n]


def drain_one_second(driver, decode, clock: VirtualClock) -> int:
    samples = 0
    for _ in range(round(1.0 / driver.poll_interval)):
        clock.advance(driver.poll_interval)
        block = driver.read_block()
        if block is not None:
            samples += len(decode(block))
    return samples


@pytest.fixture(params=["healthy", "bearing_outer"])
def sim_accel(request):
    clock = VirtualClock()
    board = open_board(load_board("sim"), clock)
    driver = board.sensors["motor-1-accel"]
    driver.start()
    if request.param != "healthy":
        board.plant.inject_fault("motor-1", request.param, 0.5)
    drain_one_second(driver, board.sensor_info["motor-1-accel"].decode, clock)
    return driver, board.sensor_info["motor-1-accel"].decode, clock


def test_iis3dwb_full_path_per_signal_second(benchmark, sim_accel):
    driver, decode, clock = sim_accel
    benchmark.group = "iis3dwb: one second of signal"
    samples = benchmark.pedantic(
        drain_one_second, args=(driver, decode, clock), rounds=ROUNDS, iterations=1
    )
    assert samples == pytest.approx(FS, rel=0.02)
    benchmark.extra_info["polls_per_second"] = round(1.0 / driver.poll_interval)


def test_iis3dwb_device_share_per_signal_second(benchmark, sim_accel):
    real_driver, decode, real_clock = sim_accel
    clock = VirtualClock(real_clock.now())
    real_clock.advance(0.019)
    words = real_driver.read_block().payload  # 506 real FIFO words, replayed in a ring
    assert len(words) % 7 == 0 and words
    canned = CannedFifo(clock, words)
    canned.read = math.floor(clock.now() * FS) + 1
    bus = SimSpiBus("bench")
    bus.attach(0, canned)
    driver = Iis3dwb(bus.device(0), clock, self_test=False)
    driver._started = True  # the canned chip has no registers to bring up
    driver.fifo.restart()
    benchmark.group = "iis3dwb: one second of signal"
    samples = benchmark.pedantic(
        drain_one_second, args=(driver, decode, clock), rounds=ROUNDS, iterations=1
    )
    assert samples == pytest.approx(FS, rel=0.02)


@pytest.mark.parametrize("fault", ["healthy", "bearing_outer"])
def test_iis3dwb_synthesis_share_per_signal_second(benchmark, fault):
    clock = VirtualClock()
    timeline = FaultTimeline()
    spec = load_board("sim").machines[0]  # motor-1, as in the full path
    source = MachineAccel(MachineModel(spec, timeline, 0, 0.0), 1, (0, 1, 2))
    if fault != "healthy":
        timeline.add("motor-1", fault, 0.5, 0.0, 0.0)
    model = Iis3dwbModel(clock, source)
    model.regs[R.CTRL1_XL] = R.XL_EN_26K7 | R.FS_BITS[16]
    blocks_per_second = FS / BLOCK
    state = {"next": 0}

    def one_second() -> int:
        n = 0
        while n < blocks_per_second:
            model._encoded(state["next"])  # new indices: never a cache hit
            state["next"] += 1
            n += 1
        return n * BLOCK

    benchmark.group = "iis3dwb: one second of signal"
    assert benchmark.pedantic(one_second, rounds=ROUNDS, iterations=1) >= FS


@pytest.mark.parametrize("faulty", [False, True], ids=["healthy", "four-faults"])
def test_machine_synthesis_rate(benchmark, faulty):
    model = machine(faulty)
    state = {"index": 0}
    size = 4096

    def block() -> np.ndarray:
        state["index"] += 1
        return model.accel_block(1, (0, 1, 2), FS, state["index"], size)

    benchmark.group = "machine model: one block of 4096 x 3 samples"
    out = benchmark.pedantic(block, rounds=200, iterations=1)
    assert out.shape == (size, 3)
    benchmark.extra_info["sample_sets_per_call"] = size


def test_ads131m04_chip_per_signal_second(benchmark):
    clock = VirtualClock()
    board = open_board(load_board("sim"), clock)
    chip = next(c for c in board.chips if c.driver.chip == "ads131m04")
    chip.driver.start()

    def one_second() -> int:
        frames = 0
        for _ in range(round(chip.driver.odr_hz)):
            clock.advance(chip.driver.poll_interval)
            block = chip.driver.read_block()
            if block is not None:
                frames += len(chip.decode(block))
        return frames

    benchmark.group = "other chips: one second of signal"
    frames = benchmark.pedantic(one_second, rounds=ROUNDS, iterations=1)
    assert frames == pytest.approx(chip.driver.odr_hz, rel=0.02)


def test_max31865_one_reading(benchmark):
    clock = VirtualClock()
    board = open_board(load_board("sim"), clock)
    driver, info = board.sensors["motor-1-temp"], board.sensor_info["motor-1-temp"]
    driver.start()

    def one() -> float:
        clock.advance(1.0)
        return float(info.decode(driver.read_block())[0, 0])

    benchmark.group = "other chips: one second of signal"
    assert 20 < benchmark.pedantic(one, rounds=200, iterations=1) < 80
