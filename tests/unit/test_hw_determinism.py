"""Same seed, same bytes: whatever the drain schedule, whichever other sensors are read."""

from __future__ import annotations

import numpy as np
from simhw import sim_board

SENSORS = ("motor-1-accel", "motor-1-current", "motor-1-temp")


def record(seed: int, steps: list[float], faults: bool = True) -> dict[str, bytes]:
    """Drain every sensor of motor-1 with the given clock steps; inject the same faults at the
    same clock times. Returns the concatenated payloads per sensor."""
    board, clock = sim_board(seed=seed)
    for sid in SENSORS:
        board.sensors[sid].start()
    if faults:
        board.plant.inject_fault("motor-1", "bearing_outer", 0.7, ramp_s=0.3, at=0.2)
        board.plant.inject_fault("motor-1", "imbalance", 0.5, at=0.45)
    out = {sid: bytearray() for sid in SENSORS}
    for step in steps:
        clock.advance(step)
        for sid in SENSORS:
            block = board.sensors[sid].read_block()
            if block is not None:
                out[sid] += block.payload
    return {k: bytes(v) for k, v in out.items()}


def schedule(total: float, rng: np.random.Generator | None, fixed: float = 0.0018) -> list[float]:
    steps, t = [], 0.0
    while t < total:
        step = fixed if rng is None else float(rng.uniform(0.0001, 0.0019))
        steps.append(step)
        t += step
    return steps


def test_same_seed_same_bytes_with_any_drain_chunking():
    # ADC frames must be read within two conversion periods (4 ms at 500 SPS), so both
    # schedules stay under that; the accelerometer FIFO gets 1..70 words per drain.
    a = record(7, schedule(0.8, None))
    b = record(7, schedule(0.8, np.random.default_rng(3)))
    # The RTD converter has no buffer: it gives the conversion current at each read, so its
    # bytes depend on when it is read (same times, same bytes: see the last test).
    for sid in ("motor-1-accel", "motor-1-current"):
        n = min(len(a[sid]), len(b[sid]))
        assert n > 0, sid
        assert a[sid][:n] == b[sid][:n], sid
    assert len(a["motor-1-accel"]) > 7 * 20000


def test_other_sensors_do_not_disturb_a_sensor():
    board, clock = sim_board(seed=7)
    accel = board.sensors["motor-1-accel"]
    accel.start()
    lone = bytearray()
    for _ in range(80):
        clock.advance(0.0018)
        block = accel.read_block()
        if block is not None:
            lone += block.payload
    full = record(7, schedule(0.15, None), faults=False)["motor-1-accel"]
    n = min(len(lone), len(full))
    assert n > 7 * 3000 and bytes(lone[:n]) == full[:n]


def test_another_seed_gives_other_samples():
    a = record(7, schedule(0.2, None), faults=False)["motor-1-accel"]
    c = record(8, schedule(0.2, None), faults=False)["motor-1-accel"]
    n = min(len(a), len(c))
    assert a[:n] != c[:n]


def test_a_second_run_in_the_same_process_repeats_itself():
    """Caches (noise banks, sine tables, blocks) must not leak state between boards."""
    steps = schedule(0.3, np.random.default_rng(5))
    assert record(11, steps) == record(11, steps)
