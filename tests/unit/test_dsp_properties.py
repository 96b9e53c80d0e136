"""Property tests (hypothesis): relations that hold for every frame, not only chosen ones."""

from __future__ import annotations

import math

import numpy as np
from dsp_checks import compare_with_reference, metric
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dsp_ext import METRICS, AnalysisSettings, Analyzer, reference

SMALL_N = [256, 512, 1024, 2048]
FIELDS = ("metric_values", "spectrum", "peaks", "band_rms", "envelope_spectrum", "envelope_peaks")
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def analysis_settings(draw) -> AnalysisSettings:
    """Valid settings: any sample rate, frame length, window, peak count and bands."""
    n = draw(st.sampled_from(SMALL_N))
    fs = draw(st.floats(min_value=50.0, max_value=200_000.0))
    nyq = fs / 2
    df = fs / n

    def band():
        lo = draw(st.floats(min_value=0.0, max_value=nyq - 1.01 * df))
        hi = draw(st.floats(min_value=lo + 1.01 * df, max_value=nyq))
        return (lo, hi)

    kw = {
        "fs": fs,
        "n": n,
        "window": draw(st.sampled_from(["hann", "flattop"])),
        "n_peaks": draw(st.integers(min_value=0, max_value=12)),
        "bands": tuple(band() for _ in range(draw(st.integers(0, 3)))),
    }
    if draw(st.booleans()):
        kw["velocity_band"] = band()
    if draw(st.booleans()):
        kw["envelope_band"] = band()
    if draw(st.booleans()):
        kw["hf_band"] = band()
    if draw(st.booleans()):
        kw["envelope_fmax"] = draw(st.floats(min_value=df, max_value=nyq))
    return AnalysisSettings(**kw)


@st.composite
def frames_for(draw, n: int, max_channels: int = 4) -> np.ndarray:
    """Frames of n float32 samples: either arbitrary sample values (including constant,
    sparse and extreme ones) or sums of tones, a DC offset and noise."""
    channels = draw(st.integers(min_value=1, max_value=max_channels))
    if draw(st.booleans()):
        magnitude = float(np.float32(draw(st.sampled_from([1e-6, 1.0, 1e3, 1e6]))))
        elements = st.floats(
            min_value=-magnitude, max_value=magnitude, width=32, allow_subnormal=False
        )
        return draw(hnp.arrays(np.float32, (channels, n), elements=elements))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = np.empty((channels, n), dtype=np.float32)
    for c in range(channels):
        x = rng.normal(0.0, rng.uniform(0.0, 2.0), n) + rng.uniform(-20, 20)
        for _ in range(rng.integers(0, 4)):
            x += rng.uniform(0.1, 50) * np.sin(
                2 * np.pi * rng.uniform(0, 0.5) * t + rng.uniform(0, 6)
            )
        out[c] = x
    return out


@st.composite
def settings_and_frames(draw, max_channels: int = 4):
    s = draw(analysis_settings())
    return s, draw(frames_for(s.n, max_channels))


@PROPERTY_SETTINGS
@given(settings_and_frames())
def test_kernel_equals_reference_on_generated_signals(case):
    s, frames = case
    kernel = Analyzer(s).analyze(frames)
    ref = reference.analyze(s, frames)
    compare_with_reference(kernel, ref, frames, require_peaks=False)


@PROPERTY_SETTINGS
@given(settings_and_frames(max_channels=6))
def test_batch_equals_each_channel_alone(case):
    s, frames = case
    analyzer = Analyzer(s)
    batch = analyzer.analyze(frames)
    for c in range(len(frames)):
        alone = analyzer.analyze(frames[c].copy())
        for field in FIELDS:
            np.testing.assert_array_equal(getattr(batch, field)[c], getattr(alone, field)[0])


LINEAR = ("dc_offset", "accel_rms", "accel_peak", "accel_p2p", "vibration_rms", "hf_accel_rms")


FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def assert_float32_scaled(name: str, b: np.ndarray, a: np.ndarray, factor: float) -> None:
    """b == a * factor exactly, except where float32 results are subnormal: there float32 keeps
    fewer bits, and the two may differ by the subnormal spacing 2^-149 (times the factor)."""
    want = a.astype(np.float64) * factor
    normal = (np.abs(want) >= FLOAT32_TINY) & (np.abs(a) >= FLOAT32_TINY)
    np.testing.assert_array_equal(b[normal], want[normal].astype(np.float32), err_msg=name)
    slack = (abs(factor) + 1) * 2.0**-149
    assert np.all(np.abs(b[~normal] - want[~normal]) <= slack), name


@PROPERTY_SETTINGS
@given(settings_and_frames(max_channels=2), st.integers(min_value=-8, max_value=8), st.booleans())
def test_scaling_by_a_power_of_two_scales_exactly(case, exponent, negate):
    """x -> c x with c = +-2^k: every operation in the kernel (sums, products, FFT butterflies,
    sqrt of c² times something) commutes exactly with such a c in binary floating point, so
    linear figures scale by |c| bit for bit (dc_offset and skewness by c), dimensionless ones
    and frequencies do not change at all. (Only while no sample becomes subnormal: float32
    then drops bits of the input itself.)"""
    s, frames = case
    c = (-1.0 if negate else 1.0) * 2.0**exponent
    scaled = (frames.astype(np.float64) * c).astype(np.float32)
    assume(np.array_equal(scaled.astype(np.float64), frames.astype(np.float64) * c))
    analyzer = Analyzer(s)
    a = analyzer.analyze(frames)
    b = analyzer.analyze(scaled)
    for name in LINEAR:
        factor = c if name == "dc_offset" else abs(c)
        np.testing.assert_array_equal(b.metric(name), a.metric(name) * factor, err_msg=name)
    for name in ("crest_factor", "kurtosis", "dominant_freq"):
        np.testing.assert_array_equal(b.metric(name), a.metric(name), err_msg=name)
    np.testing.assert_array_equal(b.metric("skewness"), a.metric("skewness") * math.copysign(1, c))
    np.testing.assert_array_equal(b.band_rms, a.band_rms * abs(c))
    assert_float32_scaled("spectrum", b.spectrum, a.spectrum, abs(c))
    assert_float32_scaled("envelope_spectrum", b.envelope_spectrum, a.envelope_spectrum, abs(c))
    np.testing.assert_array_equal(b.peaks[..., 0], a.peaks[..., 0])
    np.testing.assert_array_equal(b.peaks[..., 1], a.peaks[..., 1] * abs(c))
    np.testing.assert_array_equal(b.envelope_peaks[..., 0], a.envelope_peaks[..., 0])
    np.testing.assert_array_equal(b.envelope_peaks[..., 1], a.envelope_peaks[..., 1] * abs(c))


@PROPERTY_SETTINGS
@given(
    st.sampled_from(SMALL_N).flatmap(lambda n: frames_for(n, 2)),
    st.floats(min_value=0.01, max_value=100.0),
)
def test_any_scale_factor_scales_rms_and_peak_within_float32_rounding(frames, c):
    """For a general c, float32 rounds each c*x[i] by e[i], |e| <= 2^-24 |c x[i]|. The RMS and
    the peak of the centred frame move by at most max|e| and 2 max|e| (triangle inequality),
    which bounds the test's tolerance."""
    n = frames.shape[1]
    s = AnalysisSettings(fs=1000.0, n=n)
    analyzer = Analyzer(s)
    a = analyzer.analyze(frames)
    scaled = (frames.astype(np.float64) * c).astype(np.float32)
    b = analyzer.analyze(scaled)
    # (in the subnormal range the rounding is absolute: at most 2^-150)
    e = 2.0**-24 * np.abs(frames.astype(np.float64) * c).max(axis=1) + 2.0**-149
    # plus the float64 rounding of both analyses
    tol = 1e-12 * (a.metric("accel_peak") * c + np.abs(a.metric("dc_offset") * c))
    assert np.all(np.abs(b.metric("accel_rms") - c * a.metric("accel_rms")) <= e + tol)
    assert np.all(np.abs(b.metric("accel_peak") - c * a.metric("accel_peak")) <= 2 * e + tol)


@PROPERTY_SETTINGS
@given(settings_and_frames(max_channels=3))
def test_invariants_of_every_result(case):
    """Figures that must hold whatever the frame: ranges and orderings."""
    s, frames = case
    r = Analyzer(s).analyze(frames)
    res = r.settings
    for c in range(len(frames)):
        rms, peak = metric(r, "accel_rms", c), metric(r, "accel_peak", c)
        assert 0 <= rms <= peak * (1 + 1e-12)
        assert peak <= metric(r, "accel_p2p", c) * (1 + 1e-12)
        if rms > 0:
            # Pearson kurtosis is at least skewness² + 1; crest at least 1
            kurt, skew = metric(r, "kurtosis", c), metric(r, "skewness", c)
            assert kurt >= skew**2 + 1 - 1e-9 * kurt
            assert metric(r, "crest_factor", c) >= 1 - 1e-12
        # every figure finite, except hf_accel_rms which is NaN exactly when its band is empty
        for name in METRICS:
            value = metric(r, name, c)
            if name == "hf_accel_rms":
                lo, hi = res.hf_band
                bins = reference.band_bins(res, res.hf_band)
                assert math.isnan(value) == (hi <= lo or bins.stop <= bins.start), (value, lo, hi)
            else:
                assert math.isfinite(value), name
        assert np.all(r.spectrum[c] >= 0) and np.all(r.envelope_spectrum[c] >= 0)
        assert np.all(r.band_rms[c] >= 0)
    assert r.spectrum.shape == (len(frames), s.n // 2 + 1)
    expected_env_bins = min(math.floor(res.envelope_fmax / res.bin_width + 1e-9), s.n // 2)
    assert r.envelope_spectrum.shape == (len(frames), expected_env_bins + 1)


@PROPERTY_SETTINGS
@given(
    st.sampled_from(SMALL_N).flatmap(lambda n: frames_for(n, 2)),
    st.floats(min_value=0.0, max_value=0.45),
    st.floats(min_value=0.01, max_value=0.45),
)
def test_nested_bands_never_have_less_energy(frames, lo, width):
    """A band containing another holds all its bins, so its RMS is at least as large; the
    full band (0, Nyquist) holds the most."""
    n = frames.shape[1]
    fs = 1000.0
    inner = (lo * fs, min(fs / 2, (lo + width) * fs))
    outer = (max(0.0, inner[0] - 20.0), min(fs / 2, inner[1] + 20.0))
    s = AnalysisSettings(fs=fs, n=n, bands=(inner, outer, (0.0, fs / 2)))
    r = Analyzer(s).analyze(frames)
    assert np.all(r.band_rms[:, 0] <= r.band_rms[:, 1])
    assert np.all(r.band_rms[:, 1] <= r.band_rms[:, 2])
