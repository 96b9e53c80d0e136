import numpy as np

from dsp_ext import AnalysisSettings, Analyzer


def test_kernel_imports_and_analyses_a_sine():
    fs, n = 25600.0, 4096
    t = np.arange(n) / fs
    frame = (10 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    result = Analyzer(AnalysisSettings(fs=fs, n=n)).analyze(frame)
    assert abs(result.metric("accel_rms")[0] - 10 / np.sqrt(2)) < 1e-3
