"""The C kernel against dsp_ext.reference for every frame length and both windows.

Tolerances and why: see dsp_checks.py (relative 1e-6 on every well-conditioned figure).
"""

from __future__ import annotations

import numpy as np
import pytest
from dsp_checks import compare_with_reference

from dsp_ext import AnalysisSettings, Analyzer, reference

ALL_N = [1 << e for e in range(8, 17)]
WINDOWS = ["hann", "flattop"]


def structured_frames(n: int, fs: float, seed: int) -> np.ndarray:
    """Four channels a vibration sensor sees: white noise; tones (one bin-centred, one between
    bins, one below the velocity band) on a gravity offset; an amplitude-modulated resonance
    (a bearing-like envelope); sparse impacts with heavy tails."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    df = fs / n
    noise = rng.normal(0.0, 1.0, n)
    tones = (
        9.80665
        + 4.0 * np.sin(2 * np.pi * (n // 16) * df * t)
        + 1.5 * np.sin(2 * np.pi * (n // 7 + 0.37) * df * t + 0.4)
        + 0.7 * np.sin(2 * np.pi * 3.3 * df * t)
        + rng.normal(0.0, 0.05, n)
    )
    carrier = 0.3 * fs
    modulated = (1 + 0.6 * np.cos(2 * np.pi * (n // 64 + 0.25) * df * t)) * np.sin(
        2 * np.pi * carrier * t
    ) + rng.normal(0.0, 0.1, n)
    impacts = rng.standard_t(3, n) * 0.2
    impacts[rng.integers(0, n, max(4, n // 512))] += rng.uniform(5, 20, max(4, n // 512))
    return np.stack([noise, tones, modulated, impacts]).astype(np.float32)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("n", ALL_N)
def test_kernel_equals_reference_for_every_n(n, window):
    fs = 25600.0
    settings = AnalysisSettings(
        fs=fs,
        n=n,
        window=window,
        n_peaks=8,
        # bands of a 1480 rpm machine and two wide ones, all wider than a bin at n=256
        bands=((0.0, fs / 2), (100.0, 400.0), (2000.0, 6000.0), (6000.0, 12800.0)),
    )
    frames = structured_frames(n, fs, seed=n)
    kernel = Analyzer(settings).analyze(frames)
    ref = reference.analyze(settings, frames)
    compared = compare_with_reference(kernel, ref, frames)
    assert compared == 2 * len(frames)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize(
    "fs, n, extra",
    [
        # a low-rate sensor: hf band empty (NaN in both), envelope band below 1 kHz
        (2000.0, 2048, {}),
        # envelope band up to Nyquist (the Nyquist bin is its own mirror) and a spectrum
        # reported up to Nyquist
        (26667.0, 4096, {"envelope_band": (8000.0, 13333.5), "envelope_fmax": 13333.5}),
        # many peaks, velocity band from 0 Hz (bin 0 is never used), odd sample rate
        (51200.0, 8192, {"n_peaks": 64, "velocity_band": (0.0, 2000.0)}),
        # no peaks at all, and a band that covers only a couple of bins
        (1000.0, 256, {"n_peaks": 0, "bands": ((100.0, 108.0),)}),
    ],
)
def test_kernel_equals_reference_for_edge_settings(fs, n, extra, window):
    settings = AnalysisSettings(fs=fs, n=n, window=window, **extra)
    frames = structured_frames(n, fs, seed=7)
    kernel = Analyzer(settings).analyze(frames)
    ref = reference.analyze(settings, frames)
    compare_with_reference(kernel, ref, frames, require_peaks=settings.n_peaks <= 8)


def test_batch_result_equals_per_channel_results():
    """Channels are independent: analysing 48 at once gives bit-identical figures."""
    n, fs = 4096, 25600.0
    settings = AnalysisSettings(fs=fs, n=n, bands=((10.0, 1000.0),))
    frames = np.concatenate([structured_frames(n, fs, seed) for seed in range(12)])
    analyzer = Analyzer(settings)
    batch = analyzer.analyze(frames)
    out = analyzer.new_result(1)
    for c in range(len(frames)):
        single = analyzer.analyze(frames[c], out=out)
        for field in (
            "metric_values",
            "spectrum",
            "peaks",
            "band_rms",
            "envelope_spectrum",
            "envelope_peaks",
        ):
            np.testing.assert_array_equal(getattr(batch, field)[c], getattr(single, field)[0])


def test_preallocated_out_is_reused_and_fully_overwritten():
    """A result buffer filled by one frame holds nothing of it after the next."""
    n, fs = 1024, 25600.0
    analyzer = Analyzer(AnalysisSettings(fs=fs, n=n))
    frames = structured_frames(n, fs, seed=3)
    out = analyzer.new_result(4)
    for field in ("metric_values", "spectrum", "peaks", "envelope_spectrum", "envelope_peaks"):
        getattr(out, field)[...] = 12345.0
    same = analyzer.analyze(frames, out=out)
    assert same is out
    fresh = analyzer.analyze(frames)
    np.testing.assert_array_equal(out.metric_values, fresh.metric_values)
    np.testing.assert_array_equal(out.spectrum, fresh.spectrum)
    np.testing.assert_array_equal(out.peaks, fresh.peaks)
    np.testing.assert_array_equal(out.envelope_peaks, fresh.envelope_peaks)


def test_non_contiguous_frames_give_the_same_result():
    n, fs = 512, 25600.0
    analyzer = Analyzer(AnalysisSettings(fs=fs, n=n))
    frames = structured_frames(n, fs, seed=5)
    fortran = np.asfortranarray(frames)
    strided = np.repeat(frames, 2, axis=1)[:, ::2]
    a = analyzer.analyze(frames)
    for other in (fortran, strided):
        b = analyzer.analyze(other)
        np.testing.assert_array_equal(a.metric_values, b.metric_values)
        np.testing.assert_array_equal(a.spectrum, b.spectrum)


@pytest.mark.parametrize("n", ALL_N)
def test_kernel_fft_equals_numpy_rfft(n):
    x = np.random.default_rng(n).normal(size=n)
    analyzer = Analyzer(AnalysisSettings(fs=1000.0, n=n))
    out = np.empty(n // 2 + 1, dtype=np.complex128)
    got = analyzer.rfft(x, out=out)
    assert got is out
    want = np.fft.rfft(x)
    # A float64 FFT's rounding error grows like eps * sqrt(log2 n) * max|X|.
    assert np.max(np.abs(got - want)) <= 1e-14 * np.max(np.abs(want))
    # The DC and Nyquist bins of a real transform are real.
    assert got[0].imag == 0.0 and got[-1].imag == 0.0
