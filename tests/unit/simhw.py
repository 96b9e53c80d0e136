"""Helpers for the hardware-layer tests: one simulated chip on a bus, and bounded drains."""

from __future__ import annotations

import numpy as np

from board import load_board, open_board
from drivers.clock import VirtualClock
from drivers.hal import RawBlock
from dsp_ext import COMMON_BEARINGS, AnalysisSettings, Analyzer
from hal_sim.bus import SimSpiBus
from hal_sim.faults import FaultTimeline
from hal_sim.machine import MachineModel, MachineSpec
from hal_sim.sources import MachineAccel

IIS_FS = 26667.0


def motor(timeline: FaultTimeline | None = None, seed: int = 0) -> MachineModel:
    spec = MachineSpec("m", "M", 1480.0, COMMON_BEARINGS["6205"])
    return MachineModel(spec, timeline or FaultTimeline(), seed, 0.0)


def accel_source(timeline: FaultTimeline | None = None, seed: int = 0) -> MachineAccel:
    return MachineAccel(motor(timeline, seed), 1234, (0, 1, 2))


def on_bus(model, cs: int = 0, bus: str = "sim:spi0"):
    b = SimSpiBus(bus)
    b.attach(cs, model)
    return b.device(cs)


def drain(driver, clock: VirtualClock, seconds: float, step: float | None = None) -> list[RawBlock]:
    """Advance the clock in steps of `step` (default the driver's poll interval) for `seconds`
    and collect every block. Bounded: never more than seconds/step + 1 polls."""
    step = step or driver.poll_interval
    blocks = []
    for _ in range(int(seconds / step) + 1):
        clock.advance(step)
        block = driver.read_block()
        if block is not None:
            blocks.append(block)
    return blocks


def collect(driver, decode, clock: VirtualClock, n: int, step: float | None = None) -> np.ndarray:
    """At least n decoded samples (the last n returned), polling at most 4 n times."""
    step = step or driver.poll_interval
    chunks, total = [], 0
    for _ in range(4 * n):
        clock.advance(step)
        block = driver.read_block()
        if block is not None:
            x = decode(block)
            chunks.append(x)
            total += len(x)
            if total >= n:
                break
    assert total >= n, f"only {total} samples after polling"
    return np.concatenate(chunks)[-n:]


def sim_board(seed: int = 0, start: float = 0.0):
    clock = VirtualClock(start)
    board = open_board(load_board("sim"), clock, seed=seed)
    return board, clock


def analyse(samples: np.ndarray, fs: float, n: int | None = None):
    """Analyse the last n samples of every column with the dsp_ext kernel."""
    n = n or 1 << int(np.log2(len(samples)))
    frames = np.ascontiguousarray(samples[-n:].T, dtype=np.float32)
    return Analyzer(AnalysisSettings(fs=fs, n=n, n_peaks=8)).analyze(frames)


def amplitude_at(freqs: np.ndarray, spectrum: np.ndarray, f: float, bins: int = 2) -> float:
    """Largest spectrum amplitude within `bins` bins of frequency f."""
    i = round(f / (freqs[1] - freqs[0]))
    return float(spectrum[max(0, i - bins) : i + bins + 1].max())
