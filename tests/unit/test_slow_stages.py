import numpy as np
import pytest

from runtime.pipeline.slow import LevelStage, RmsStage


def test_level_is_the_mean_of_the_samples_since_the_last_update():
    stage = LevelStage("t-1", "m-1", "temperature", "°C", 10.0, 1.0, lambda t: 100.0 + t)
    assert stage.analyse() == []
    stage.ring.write(np.array([[40.0], [42.0]], np.float32), 0.0, 10.0)
    (first,) = stage.analyse()
    assert first.value == pytest.approx(41.0) and first.ts == pytest.approx(100.1)
    assert stage.analyse() == []  # nothing new
    stage.ring.write(np.array([[50.0]], np.float32), 0.2, 10.0)
    assert stage.analyse()[0].value == pytest.approx(50.0)


def test_rms_removes_the_offset_and_uses_the_last_window():
    fs = 1000.0
    t = np.arange(3000) / fs
    stage = RmsStage("c-1", "m-1", "current_rms", "A", fs, 1.0, lambda x: x, window_s=1.0)
    quiet = 0.5 + 0.1 * np.sin(2 * np.pi * 50 * t[:2000])
    loud = 0.5 + 10.0 * np.sin(2 * np.pi * 50 * t[2000:])
    stage.ring.write(quiet[:, None].astype(np.float32), 0.0, fs)
    stage.ring.write(loud[:, None].astype(np.float32), 2.0, fs)
    (reading,) = stage.analyse()
    assert reading.metric == "current_rms" and reading.unit == "A"
    assert reading.value == pytest.approx(10.0 / np.sqrt(2), rel=1e-3)
    assert stage.metric_units() == {"current_rms": "A"}
