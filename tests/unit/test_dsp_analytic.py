"""Analytic cases: signals whose figures are known from the formulas, not from a previous run.

Error bounds used for the sub-bin peak interpolation (the "documented error"):

- Hann, two-bin ratio: exact for an isolated tone. What is left comes from the tone's mirror
  image at -f, whose Hann sidelobe at distance D bins is below 1/(pi D^3) of the tone; for a
  tone at least 20 bins from DC and Nyquist (D >= 40) that is < 5e-6, so the bounds
  1e-4 relative amplitude and 1e-3 bin are conservative (float32 input adds ~1e-7).
- Flat-top, parabola through three bins, amplitude not corrected: the amplitude is off by at
  most the window's gain ripple over half a bin (computed from the window below: -0.11 %
  to +0.03 %),
  the frequency by at most 0.15 bin (the parabola is a poor model of the flat lobe; the
  worst case, 0.137 bin, is at about a quarter bin off centre).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from dsp_checks import metric
from scipy import signal

from dsp_ext import AnalysisSettings, Analyzer

SQRT2 = math.sqrt(2.0)
WINDOWS = ["hann", "flattop"]


def sine(n: int, fs: float, freq: float, amp: float, phase: float = 0.3) -> np.ndarray:
    t = np.arange(n) / fs
    return amp * np.sin(2 * np.pi * freq * t + phase)


def analyze(x: np.ndarray, **kw) -> object:
    settings = AnalysisSettings(**kw)
    return Analyzer(settings).analyze(np.asarray(x, dtype=np.float32))


# --- time-domain statistics -----------------------------------------------------------------


@pytest.mark.parametrize("amp, cycles", [(10.0, 160), (0.25, 1001), (3.0, 17)])
def test_sine_rms_peak_crest(amp, cycles):
    """A whole number of periods: RMS A/sqrt2, peak A, p2p 2A, crest sqrt2, kurtosis 1.5,
    skewness 0 (the moments of a sine). With a 0.3 rad phase the samples miss the crest by at
    most half a sample step: peak >= A cos(pi cycles/n)."""
    n, fs = 8192, 8192.0
    r = analyze(sine(n, fs, cycles, amp), fs=fs, n=n)
    assert metric(r, "accel_rms", 0) == pytest.approx(amp / SQRT2, rel=1e-6)
    sampled_crest_error = 1 - math.cos(math.pi * cycles / n)
    assert amp * (1 - sampled_crest_error - 1e-6) <= metric(r, "accel_peak", 0) <= amp * 1.000001
    assert metric(r, "accel_p2p", 0) == pytest.approx(2 * amp, rel=2 * sampled_crest_error + 1e-6)
    assert metric(r, "crest_factor", 0) == pytest.approx(SQRT2, rel=sampled_crest_error + 1e-6)
    assert metric(r, "kurtosis", 0) == pytest.approx(1.5, rel=1e-5)
    assert abs(metric(r, "skewness", 0)) < 1e-5


def test_square_wave_has_crest_one_and_kurtosis_one():
    n = 4096
    x = np.where((np.arange(n) // 64) % 2 == 0, 2.0, -2.0)
    r = analyze(x, fs=4096.0, n=n)
    assert metric(r, "accel_rms", 0) == pytest.approx(2.0, rel=1e-12)
    assert metric(r, "crest_factor", 0) == pytest.approx(1.0, rel=1e-12)
    assert metric(r, "kurtosis", 0) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_gaussian_noise_kurtosis_three_skewness_zero(seed):
    """Sample kurtosis and skewness of n Gaussian samples have standard deviations
    sqrt(24/n) and sqrt(6/n) (0.019 and 0.0096 at n=65536): 5 sigma bounds."""
    n = 65536
    sigma = 2.5
    x = np.random.default_rng(seed).normal(0.0, sigma, n)
    r = analyze(x, fs=25600.0, n=n)
    assert abs(metric(r, "kurtosis", 0) - 3.0) < 5 * math.sqrt(24 / n)
    assert abs(metric(r, "skewness", 0)) < 5 * math.sqrt(6 / n)
    # RMS of n samples: relative standard deviation 1/sqrt(2n)
    assert metric(r, "accel_rms", 0) == pytest.approx(sigma, rel=5 / math.sqrt(2 * n))


def test_skewed_noise_has_positive_skewness():
    """Exponential noise: skewness 2, kurtosis 9 (sample s.d. grows with the heavy tail; the
    bounds are loose but exclude the Gaussian values)."""
    x = np.random.default_rng(4).exponential(1.0, 65536)
    r = analyze(x, fs=25600.0, n=65536)
    assert metric(r, "skewness", 0) == pytest.approx(2.0, abs=0.2)
    assert metric(r, "kurtosis", 0) == pytest.approx(9.0, abs=1.5)


def test_dc_offset_is_reported_and_removed():
    """Gravity on one axis: dc_offset reports it; every other figure is that of the AC part."""
    n, fs = 8192, 25600.0
    ac = sine(n, fs, 100 * fs / n, 2.0) + np.random.default_rng(1).normal(0, 0.1, n)
    ac -= ac.mean()
    g = 9.80665
    with_dc = analyze(ac + g, fs=fs, n=n)
    without = analyze(ac, fs=fs, n=n)
    assert metric(with_dc, "dc_offset", 0) == pytest.approx(g, abs=1e-6)
    assert abs(metric(without, "dc_offset", 0)) < 1e-6
    # float32 rounding of g + ac moves samples by up to 2^-24 * 12 ~ 7e-7 m/s²
    for name in ("accel_rms", "accel_peak", "accel_p2p", "vibration_rms", "hf_accel_rms"):
        assert metric(with_dc, name, 0) == pytest.approx(metric(without, name, 0), rel=1e-5), name
    # Bin 0 holds only the window-weighted mean of the AC part (noise), never the 9.8 m/s²
    assert with_dc.spectrum[0, 0] == pytest.approx(without.spectrum[0, 0], abs=1e-5)
    assert with_dc.spectrum[0, 0] < 0.01
    # the 0.1 m/s² noise pulls the interpolated frequency by ~1e-3 bin
    assert abs(metric(with_dc, "dominant_freq", 0) - 100 * fs / n) < 0.01 * fs / n


def test_constant_frame_gives_zeros_not_nan():
    r = analyze(np.full(1024, 3.5), fs=1024.0, n=1024)
    assert metric(r, "dc_offset", 0) == 3.5
    for name in ("accel_rms", "accel_peak", "crest_factor", "kurtosis", "skewness"):
        assert metric(r, name, 0) == 0.0, name
    assert not np.any(r.peaks)


# --- velocity (ISO 20816) -------------------------------------------------------------------


def velocity_from_bins(settings: AnalysisSettings, freq: float, amp: float) -> float:
    """Velocity RMS in mm/s that the bin-wise integration must give for a bin-centred tone.

    The window spreads the tone over bins k0 + j with complex weights c_j = W[j] / n (the
    window's own DFT); each bin's power share is |c_j|^2 / sum |c|^2 and is divided by
    (2 pi f_j)^2 at its own frequency. Independent of the kernel: it uses scipy's window.
    """
    s = settings.resolved()
    w = signal.get_window(s.window, s.n, fftbins=True)
    c = np.fft.fft(w) / s.n
    j = np.arange(-6, 7)
    share = np.abs(c[j]) ** 2 / np.sum(np.abs(c) ** 2)
    f_j = freq + j * s.bin_width
    inside = (f_j >= s.velocity_band[0]) & (f_j <= s.velocity_band[1])
    v2 = amp**2 / 2 * np.sum(share[inside] / (2 * np.pi * f_j[inside]) ** 2)
    return math.sqrt(v2) * 1000.0


def test_velocity_of_50_hz_sine_is_22_51_mm_s():
    """The issue's example: 10 m/s² peak at 50 Hz -> v = A/(2 pi f)/sqrt2 = 22.508 mm/s.
    At 0.78 Hz bins the Hann spread over 50 +- 0.78 Hz biases v by (df/f)^2 / 2 = 1.2e-4."""
    n, fs = 32768, 25600.0
    r = analyze(sine(n, fs, 50.0, 10.0), fs=fs, n=n)
    exact = 10.0 / (2 * math.pi * 50.0) / SQRT2 * 1000.0
    assert exact == pytest.approx(22.5079, abs=1e-4)
    assert metric(r, "vibration_rms", 0) == pytest.approx(exact, rel=2e-4)
    assert round(metric(r, "vibration_rms", 0), 2) == 22.51


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("n, bin_index", [(1024, 5), (4096, 8), (8192, 33), (65536, 1000)])
def test_velocity_matches_the_bin_wise_formula(window, n, bin_index):
    """Coarse bins make the window spread matter (2 % at 4096): the kernel must follow the
    integration formula exactly, whatever the resolution. (From bin 5 up: the flat-top lobe
    is 9 bins wide, and nearer DC the tone's mirror image at -f would overlap it.)"""
    fs = 25600.0
    settings = AnalysisSettings(fs=fs, n=n, window=window)
    freq = bin_index * fs / n
    x = sine(n, fs, freq, 10.0)
    r = Analyzer(settings).analyze(x.astype(np.float32))
    assert metric(r, "vibration_rms", 0) == pytest.approx(
        velocity_from_bins(settings, freq, 10.0), rel=1e-5
    )


@pytest.mark.parametrize("window", WINDOWS)
def test_tones_outside_the_velocity_band_are_excluded(window):
    """5.5 Hz (below 10 Hz) and 3 kHz (above 1 kHz) add nothing to the 10-1000 Hz velocity.
    Bin-centred, the Hann or flat-top leakage ends 1 or 4 bins from the tone: both tones are
    many bins from the band edges, so only rounding leaks in."""
    n, fs = 32768, 25600.0
    df = fs / n
    f_in = 64 * df  # 50 Hz
    inside = sine(n, fs, f_in, 10.0)
    low = sine(n, fs, 7 * df, 30.0)  # 5.47 Hz
    high = sine(n, fs, 3840 * df, 30.0)  # 3000 Hz
    alone = analyze(inside, fs=fs, n=n, window=window)
    mixed = analyze(inside + low + high, fs=fs, n=n, window=window)
    only_outside = analyze(low + high, fs=fs, n=n, window=window)
    assert metric(mixed, "vibration_rms", 0) == pytest.approx(
        metric(alone, "vibration_rms", 0), rel=1e-5
    )
    assert metric(only_outside, "vibration_rms", 0) < 1e-4 * metric(alone, "vibration_rms", 0)


def test_custom_velocity_band():
    n, fs = 16384, 25600.0
    df = fs / n
    x = sine(n, fs, 320 * df, 5.0) + sine(n, fs, 1600 * df, 5.0)  # 500 Hz and 2500 Hz
    narrow = analyze(x, fs=fs, n=n, velocity_band=(10.0, 1000.0))
    wide = analyze(x, fs=fs, n=n, velocity_band=(10.0, 5000.0))
    v500 = 5.0 / (2 * math.pi * 500.0) / SQRT2 * 1000.0
    v2500 = 5.0 / (2 * math.pi * 2500.0) / SQRT2 * 1000.0
    assert metric(narrow, "vibration_rms", 0) == pytest.approx(v500, rel=1e-4)
    assert metric(wide, "vibration_rms", 0) == pytest.approx(math.hypot(v500, v2500), rel=1e-4)


# --- band RMS, hf_accel_rms -----------------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
def test_band_rms_of_tones_in_configured_bands(window):
    """Parseval with the window power correction: a tone's power A²/2 lands in its band,
    wherever it sits between bins (the leakage beyond +-40 bins is < 1e-7 of it)."""
    n, fs = 16384, 25600.0
    x = sine(n, fs, 123.4, 3.0) + sine(n, fs, 2987.6, 0.5, 1.0) + sine(n, fs, 6000.0, 2.0)
    bands = ((80.0, 180.0), (2500.0, 3500.0), (400.0, 1500.0), (5000.0, 7000.0), (0.0, 12800.0))
    r = analyze(x, fs=fs, n=n, window=window, bands=bands)
    want = [3.0 / SQRT2, 0.5 / SQRT2, 0.0, 2.0 / SQRT2, math.sqrt((9 + 0.25 + 4) / 2)]
    np.testing.assert_allclose(r.band_rms[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("window", WINDOWS)
def test_band_rms_of_white_noise_is_its_share_of_the_variance(window):
    """White noise of variance s² puts s² * width / (fs/2) in a band. The windowed estimate
    over B bins has relative s.d. about sqrt(ENBW / B) (ENBW 1.5 Hann, 3.8 flat-top bins):
    < 2 % for the bands below, so 10 % on the power is a 5-sigma bound."""
    n, fs, sigma = 65536, 25600.0, 2.0
    x = np.random.default_rng(11).normal(0.0, sigma, n)
    bands = ((1000.0, 2000.0), (3000.0, 9000.0))
    r = analyze(x, fs=fs, n=n, window=window, bands=bands)
    for value, (lo, hi) in zip(r.band_rms[0], bands, strict=True):
        share = (hi - lo) / (fs / 2)
        assert value**2 == pytest.approx(sigma**2 * share, rel=0.1)
    # default hf band: 1000 Hz .. fs/2.56 = 10 kHz
    hf_share = (fs / 2.56 - 1000.0) / (fs / 2)
    assert metric(r, "hf_accel_rms", 0) ** 2 == pytest.approx(sigma**2 * hf_share, rel=0.1)


def test_hf_accel_rms_of_a_high_tone_and_none_of_a_low_one():
    n, fs = 8192, 25600.0
    r = analyze(np.stack([sine(n, fs, 4000.0, 3.0), sine(n, fs, 300.0, 3.0)]), fs=fs, n=n)
    assert r.metric("hf_accel_rms")[0] == pytest.approx(3.0 / SQRT2, rel=1e-4)
    assert r.metric("hf_accel_rms")[1] < 1e-4


@pytest.mark.parametrize("fs", [2000.0, 1000.0, 2560.0])
def test_hf_accel_rms_not_reported_for_a_low_rate_sensor(fs):
    """fs/2.56 <= 1 kHz: the default HF band is empty and the figure is NaN, not 0."""
    n = 2048
    r = analyze(np.random.default_rng(0).normal(0, 1, n), fs=fs, n=n)
    assert math.isnan(metric(r, "hf_accel_rms", 0))
    for name in ("accel_rms", "vibration_rms", "kurtosis"):
        assert math.isfinite(metric(r, name, 0))


def test_hf_accel_rms_reported_for_a_fast_sensor_and_a_chosen_band():
    n, fs = 2048, 2000.0
    r = analyze(sine(n, fs, 700.0, 1.0), fs=fs, n=n, hf_band=(600.0, 800.0))
    assert metric(r, "hf_accel_rms", 0) == pytest.approx(1 / SQRT2, rel=1e-4)


# --- spectrum and peaks ---------------------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("n", [256, 4096, 65536])
def test_bin_centred_sine_shows_peak_a(window, n):
    fs = 25600.0
    k = n // 5
    amp = 7.5
    r = analyze(sine(n, fs, k * fs / n, amp), fs=fs, n=n, window=window)
    assert r.spectrum[0, k] == pytest.approx(amp, rel=1e-6)
    assert int(np.argmax(r.spectrum[0])) == k
    assert r.peaks[0, 0, 0] == pytest.approx(k * fs / n, rel=1e-9)
    assert r.peaks[0, 0, 1] == pytest.approx(amp, rel=1e-6)
    # Hann: exactly 3 bins carry the tone (A/2 on each side); beyond them only rounding.
    if window == "hann":
        assert r.spectrum[0, k - 1] == pytest.approx(amp / 2, rel=1e-6)
        assert r.spectrum[0, k + 1] == pytest.approx(amp / 2, rel=1e-6)
        assert np.max(np.delete(r.spectrum[0], [k - 1, k, k + 1])) < 1e-5 * amp


@pytest.mark.parametrize("n", [1024, 8192, 65536])
@pytest.mark.parametrize("offset", np.linspace(0.0, 0.95, 20).round(3).tolist())
def test_off_bin_tone_hann_interpolation(n, offset):
    fs = 25600.0
    df = fs / n
    for k0 in (20, n // 8, n // 2 - 21):
        f = (k0 + offset) * df
        r = analyze(sine(n, fs, f, 4.0, 1.1), fs=fs, n=n, window="hann")
        assert abs(r.peaks[0, 0, 0] - f) < 1e-3 * df, (k0, offset)
        assert r.peaks[0, 0, 1] == pytest.approx(4.0, rel=1e-4), (k0, offset)
        assert abs(metric(r, "dominant_freq", 0) - f) < 1e-3 * df


def flattop_gain_range() -> tuple[float, float]:
    """Lowest and highest gain of the flat-top window for a tone 0 .. 1/2 bin from the
    nearest bin (the peak bin), from its DTFT sampled every 1/128 bin."""
    n, over = 256, 128
    w = signal.get_window("flattop", n, fftbins=True)
    gain = np.abs(np.fft.rfft(w, n * over))[: over // 2 + 1] / np.sum(w)
    return float(gain.min()), float(gain.max())


def test_flattop_gain_is_within_the_documented_bound():
    """Flat within -0.12 % / +0.03 % over half a bin (published: about 0.01 dB)."""
    lo, hi = flattop_gain_range()
    assert 1 - 0.0012 < lo < 1 - 0.0005
    assert 1.0 < hi < 1.0003


@pytest.mark.parametrize("n", [1024, 8192, 65536])
def test_off_bin_tone_flattop(n):
    fs = 25600.0
    df = fs / n
    lo, hi = flattop_gain_range()
    worst_f = 0.0
    for k0 in (20, n // 8, n // 2 - 21):
        for offset in np.linspace(0.0, 0.95, 20):
            f = (k0 + offset) * df
            r = analyze(sine(n, fs, f, 4.0, 1.1), fs=fs, n=n, window="flattop")
            worst_f = max(worst_f, abs(r.peaks[0, 0, 0] - f) / df)
            assert 4.0 * (lo - 1e-5) <= r.peaks[0, 0, 1] <= 4.0 * (hi + 1e-5)
    assert worst_f < 0.15


@pytest.mark.parametrize("window", WINDOWS)
def test_dominant_frequency_within_one_bin(window):
    rng = np.random.default_rng(21)
    n, fs = 4096, 25600.0
    for _ in range(25):
        f = float(rng.uniform(30.0, 12000.0))
        x = sine(n, fs, f, 2.0, float(rng.uniform(0, 6))) + sine(n, fs, f * 0.37, 0.5)
        x += rng.normal(0, 0.05, n)
        r = analyze(x, fs=fs, n=n, window=window)
        assert abs(metric(r, "dominant_freq", 0) - f) <= fs / n, f


def test_peaks_list_several_tones_by_amplitude():
    n, fs = 16384, 25600.0
    tones = [(310.7, 1.0), (1200.2, 4.0), (55.55, 2.5), (7777.7, 0.4)]
    x = sum(sine(n, fs, f, a, 0.2 * i) for i, (f, a) in enumerate(tones))
    r = analyze(x, fs=fs, n=n, n_peaks=4)
    want = sorted(tones, key=lambda t: -t[1])
    np.testing.assert_allclose(r.peaks[0, :, 0], [f for f, _ in want], atol=1e-3 * fs / n)
    np.testing.assert_allclose(r.peaks[0, :, 1], [a for _, a in want], rtol=1e-3)


def test_envelope_of_an_am_signal_shows_the_modulation():
    """(1 + m cos 2pi fm t) A cos 2pi fc t has envelope A (1 + m cos 2pi fm t): its envelope
    spectrum peaks at fm with amplitude m A."""
    n, fs = 16384, 25600.0
    fm = 100.0
    t = np.arange(n) / fs
    x = 2.0 * (1 + 0.5 * np.cos(2 * np.pi * fm * t)) * np.cos(2 * np.pi * 4000.0 * t)
    for window in WINDOWS:
        r = analyze(x, fs=fs, n=n, window=window, envelope_band=(2000.0, 6000.0))
        assert r.envelope_peaks[0, 0, 0] == pytest.approx(fm, abs=1e-3 * fs / n)
        assert r.envelope_peaks[0, 0, 1] == pytest.approx(1.0, rel=1e-4)
        # the envelope spectrum covers 0 .. envelope_fmax (default 1 kHz)
        assert r.envelope_spectrum.shape[1] == int(1000.0 / (fs / n)) + 1
