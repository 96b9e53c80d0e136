"""DSP kernel benchmarks (issue 2): full analysis and the FFT alone, kernel against baselines.

Not part of the test run (pyproject's testpaths is ["tests"]). Run, then tabulate:

    .venv/bin/python -m pytest bench/bench_dsp.py --benchmark-only \
        --benchmark-min-rounds=5 --benchmark-max-time=0.5 --benchmark-json=bench/dsp.json
    .venv/bin/python bench/report_dsp.py bench/dsp.json

All contenders of a group get the same frames in the same run:
- full analysis: `Analyzer.analyze` into a preallocated result (the device's hot path) against
  `dsp_ext.reference.analyze` (the numpy/scipy definition of the numbers) and a lean "plain
  analysis" in vectorised numpy/scipy (RMS, peak, kurtosis, Hann rfft amplitude spectrum,
  scipy.signal.hilbert envelope spectrum: less than the kernel computes, the baseline in
  ../shared/PEERS.md), for N = 1024, 8192, 65536 and batches of 3 and 48 channels;
- FFT alone: `Analyzer.rfft` into a preallocated output against numpy.fft.rfft on the same
  float64 input, and pyFFTW (FFTW_MEASURE plan, one thread, `execute()` on its own aligned
  buffers) when it is installed (it is not a project dependency: `pip install pyfftw`).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import signal

from dsp_ext import AnalysisSettings, Analyzer, reference

try:
    import pyfftw
except ImportError:  # optional contender
    pyfftw = None

FS = 25600.0
FULL_N = [1024, 8192, 65536]
CHANNELS = [3, 48]
FFT_N = [1 << e for e in range(8, 17)]


def frames_for(n: int, channels: int) -> np.ndarray:
    """Accelerometer-like frames: noise, a few machine tones, gravity on every third axis."""
    rng = np.random.default_rng(n * 1000 + channels)
    t = np.arange(n) / FS
    out = rng.normal(0.0, 0.5, (channels, n))
    for c in range(channels):
        for f, a in ((24.7, 3.0), (49.3, 1.0), (88.4, 0.4), (3900.0, 0.7)):
            out[c] += a * np.sin(2 * np.pi * f * (1 + 0.01 * c) * t + c)
        if c % 3 == 2:
            out[c] += 9.80665
    return out.astype(np.float32)


def plain_analysis(frames: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """What a numpy/scipy user writes: vectorised over channels, no band-pass, no peaks."""
    x = frames.astype(np.float64)
    d = x - x.mean(axis=1, keepdims=True)
    ms = np.mean(d**2, axis=1)
    rms = np.sqrt(ms)
    peak = np.max(np.abs(d), axis=1)
    kurtosis = np.mean(d**4, axis=1) / ms**2
    scale = 2.0 / w.sum()
    spectrum = np.abs(np.fft.rfft(d * w, axis=1)) * scale
    env = np.abs(signal.hilbert(d, axis=1))
    env -= env.mean(axis=1, keepdims=True)
    env_spectrum = np.abs(np.fft.rfft(env * w, axis=1)) * scale
    return rms, peak, kurtosis, spectrum, env_spectrum


def _describe(benchmark, kind: str, impl: str, n: int, channels: int = 1) -> None:
    benchmark.group = f"{kind} N={n}" + (f" x{channels}" if kind == "full" else "")
    benchmark.extra_info.update(
        kind=kind,
        impl=impl,
        n=n,
        channels=channels,
        openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", ""),
        cpu_count=os.cpu_count(),
    )


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("n", FULL_N)
@pytest.mark.parametrize("impl", ["kernel", "reference", "plain"])
def test_full_analysis(benchmark, impl, n, channels):
    _describe(benchmark, "full", impl, n, channels)
    frames = frames_for(n, channels)
    settings = AnalysisSettings(fs=FS, n=n)
    if impl == "kernel":
        analyzer = Analyzer(settings)
        out = analyzer.new_result(channels)
        result = benchmark(analyzer.analyze, frames, out)
        assert result is out
    elif impl == "reference":
        result = benchmark(reference.analyze, settings, frames)
        assert result.channels == channels
    else:
        w = signal.get_window("hann", n, fftbins=True)
        rms = benchmark(plain_analysis, frames, w)[0]
        assert rms.shape == (channels,)


@pytest.mark.parametrize("n", FFT_N)
@pytest.mark.parametrize("impl", ["kernel", "numpy", "pyfftw"])
def test_fft(benchmark, impl, n):
    _describe(benchmark, "fft", impl, n)
    x = np.random.default_rng(n).normal(size=n)
    want = np.fft.rfft(x)
    if impl == "kernel":
        analyzer = Analyzer(AnalysisSettings(fs=FS, n=n))
        out = np.empty(n // 2 + 1, dtype=np.complex128)
        got = benchmark(analyzer.rfft, x, out)
    elif impl == "numpy":
        got = benchmark(np.fft.rfft, x)
    else:
        if pyfftw is None:
            pytest.skip("pyFFTW is not installed (optional: pip install pyfftw)")
        a = pyfftw.empty_aligned(n, dtype="float64")
        b = pyfftw.empty_aligned(n // 2 + 1, dtype="complex128")
        plan = pyfftw.FFTW(a, b, flags=("FFTW_MEASURE",), threads=1)
        a[:] = x
        benchmark(plan.execute)
        got = b
        benchmark.extra_info["pyfftw_version"] = pyfftw.__version__
    # every contender computes the same transform
    assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))
