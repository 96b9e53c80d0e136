import numpy as np

from drivers.hal import RawBlock, SensorNotResponding
from runtime.live import LiveState, SensorStatus
from runtime.pipeline.acquisition import AcquisitionUnit, Sink


class FakeDriver:
    """Hands out numbered blocks; can be told to stop answering or to flag an overflow."""

    chip = "fake"
    odr_hz = 100.0
    poll_interval = 0.1

    def __init__(self) -> None:
        self.dead = False
        self.overflow_next = False
        self.starts = 0
        self.t = 0.0

    def start(self) -> None:
        if self.dead:
            raise SensorNotResponding("fake0", "no answer")
        self.starts += 1

    def read_block(self) -> RawBlock | None:
        if self.dead:
            raise SensorNotResponding("fake0", "no answer")
        samples = np.arange(20, dtype=np.float32).reshape(10, 2) + self.t
        payload = samples.tobytes()
        block = RawBlock("fake", self.t, self.odr_hz, 1.0, 10, payload, self.overflow_next)
        self.overflow_next = False
        self.t += 0.1
        return block

    def stop(self) -> None:
        pass


def make_unit(clock: list[float]):
    live = LiveState()
    for sid in ("s-a", "s-b"):
        live.register_sensor(SensorStatus(sid, "m-1", "current", "fake"))
    events: list[tuple[str, str | None]] = []
    written: dict[str, list[np.ndarray]] = {"s-a": [], "s-b": []}
    driver = FakeDriver()

    def decode(block: RawBlock) -> np.ndarray:
        return np.frombuffer(block.payload, dtype=np.float32).reshape(block.count, 2)

    sinks = [
        Sink(sid, "m-1", [col], lambda s, t, r, sid=sid: written[sid].append(s.copy()))
        for col, sid in enumerate(("s-a", "s-b"))
    ]
    unit = AcquisitionUnit(
        "fake0",
        driver,
        decode,
        sinks,
        live,
        lambda kind, message, **kw: events.append((kind, kw.get("sensor_id"))),
        now=lambda: clock[0],
        retry_interval_s=1.0,
    )
    return unit, driver, live, events, written


def test_each_sensor_gets_its_own_column_and_counters():
    clock = [0.0]
    unit, _driver, live, events, written = make_unit(clock)
    unit.poll()
    unit.poll()
    assert [w.shape for w in written["s-a"]] == [(10, 1), (10, 1)]
    np.testing.assert_array_equal(written["s-b"][0][:, 0], np.arange(1, 20, 2))
    status = live.sensor_status("s-a")
    assert (status.state, status.blocks, status.samples) == ("ok", 2, 20)
    assert events == []


def test_fault_is_logged_once_retried_and_recovered():
    clock = [0.0]
    unit, driver, live, events, _written = make_unit(clock)
    unit.poll()
    driver.dead = True
    for step in range(1, 30):  # 2.9 s of polling at 0.1 s with a 1 s retry interval
        clock[0] = step * 0.1
        unit.poll()
    assert events == [("sensor_fault", "s-a"), ("sensor_fault", "s-b")]
    assert live.sensor_status("s-a").state == "fault"
    assert "no answer" in live.sensor_status("s-a").last_error
    driver.dead = False
    clock[0] = 10.0
    unit.poll()
    assert live.sensor_status("s-b").state == "ok"
    assert live.sensor_status("s-b").recoveries == 1
    assert events[-1] == ("sensor_recovered", "s-b")
    assert driver.starts == 2


def test_overflow_is_counted_and_logged():
    clock = [0.0]
    unit, driver, live, events, _ = make_unit(clock)
    driver.overflow_next = True
    unit.poll()
    unit.poll()
    assert live.sensor_status("s-a").overflows == 1
    assert events.count(("fifo_overflow", "s-a")) == 1
