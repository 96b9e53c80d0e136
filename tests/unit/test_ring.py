import numpy as np
import pytest

from runtime.pipeline.ring import RingBuffer


def test_latest_returns_the_newest_samples_across_the_wrap():
    ring = RingBuffer(2, 10)
    data = np.arange(46, dtype=np.float32).reshape(23, 2)
    t = 0.0
    for chunk in np.array_split(data, 7):
        ring.write(chunk, t, 100.0)
        t += len(chunk) / 100.0
    out = ring.latest(10)
    np.testing.assert_array_equal(out, data[-10:].T)
    assert ring.total_written == 23
    assert ring.last_sample_time == pytest.approx(22 / 100.0)


def test_a_block_larger_than_the_ring_keeps_its_tail():
    ring = RingBuffer(1, 4)
    ring.write(np.arange(10, dtype=np.float32)[:, None], 1.0, 10.0)
    np.testing.assert_array_equal(ring.latest(4)[0], [6, 7, 8, 9])
    assert ring.last_sample_time == pytest.approx(1.9)


def test_asking_for_more_than_available_is_an_error():
    ring = RingBuffer(1, 8)
    ring.write(np.zeros((3, 1), np.float32), 0.0, 1.0)
    with pytest.raises(ValueError):
        ring.latest(4)
