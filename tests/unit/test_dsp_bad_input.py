"""Bad input to the DSP wrapper: always a ValueError whose message says what to change."""

from __future__ import annotations

import numpy as np
import pytest

from dsp_ext import AnalysisSettings, Analyzer, reference

FS, N = 25600.0, 1024


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AnalysisSettings(fs=FS, n=N))


def good_frames(channels: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(channels, N)).astype(np.float32)


# --- frames ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int16, np.int32, np.complex64])
def test_wrong_dtype(analyzer, dtype):
    with pytest.raises(ValueError, match=r"float32 \(got .*\); convert"):
        analyzer.analyze(good_frames().astype(dtype))


def test_big_endian_float32_is_not_float32(analyzer):
    with pytest.raises(ValueError, match="float32"):
        analyzer.analyze(good_frames().astype(">f4"))


@pytest.mark.parametrize("shape", [(N + 1,), (N - 1,), (3, N // 2), (N, 3), (2, 3, N), (), (0,)])
def test_wrong_shape(analyzer, shape):
    with pytest.raises(ValueError, match=rf"shape \(channels, {N}\)"):
        analyzer.analyze(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("frames", [[0.0] * N, None, "frames", memoryview(bytes(4 * N))])
def test_not_an_array(analyzer, frames):
    with pytest.raises(ValueError, match="numpy array"):
        analyzer.analyze(frames)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("channel", [0, 2, 4])
def test_nan_or_inf_names_the_channel(analyzer, bad, channel):
    frames = good_frames(5)
    frames[channel, 17] = bad
    with pytest.raises(ValueError, match=rf"^channel {channel} contains NaN or infinite"):
        analyzer.analyze(frames)


def test_plus_and_minus_inf_in_one_channel(analyzer):
    frames = good_frames(2)
    frames[1, 0], frames[1, 1] = np.inf, -np.inf
    with pytest.raises(ValueError, match="channel 1"):
        analyzer.analyze(frames)


def test_analyzer_still_works_after_refusing_input(analyzer):
    frames = good_frames(2)
    frames[1, 3] = np.nan
    with pytest.raises(ValueError):
        analyzer.analyze(frames)
    frames[1, 3] = 0.0
    r = analyzer.analyze(frames)
    assert np.all(np.isfinite(r.metric("accel_rms")))


def test_out_for_other_channels_or_settings(analyzer):
    with pytest.raises(ValueError, match=r"use analyzer.new_result\(3\)"):
        analyzer.analyze(good_frames(3), out=analyzer.new_result(2))
    other = Analyzer(AnalysisSettings(fs=FS / 2, n=N))
    with pytest.raises(ValueError, match="other settings"):
        analyzer.analyze(good_frames(3), out=other.new_result(3))


def test_reference_refuses_nan_too():
    frames = good_frames(1)
    frames[0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        reference.analyze(AnalysisSettings(fs=FS, n=N), frames)


@pytest.mark.parametrize(
    "x", [np.zeros(N, np.float32), np.zeros(N + 2), np.zeros((1, N)), [0.0] * N]
)
def test_rfft_bad_input(analyzer, x):
    with pytest.raises(ValueError, match=rf"float64 array of shape \({N},\)"):
        analyzer.rfft(x)


@pytest.mark.parametrize(
    "out",
    [
        np.zeros(N // 2 + 1, np.complex64),
        np.zeros(N // 2, np.complex128),
        np.zeros(N + 2, np.complex128)[::2],
    ],
)
def test_rfft_bad_out(analyzer, out):
    with pytest.raises(ValueError, match="contiguous complex128"):
        analyzer.rfft(np.zeros(N), out=out)


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1000, 300, 128, 131072, 0, -256, 255, 65537])
def test_frame_length_not_a_power_of_two_in_range(n):
    with pytest.raises(ValueError, match=rf"n: must be a power of two from 256 to 65536, got {n}"):
        AnalysisSettings(fs=FS, n=n)


@pytest.mark.parametrize("n", [1024.0, "1024", True, None])
def test_frame_length_not_an_integer(n):
    with pytest.raises(ValueError, match="n: must be an integer"):
        AnalysisSettings(fs=FS, n=n)


@pytest.mark.parametrize("fs", [0.0, -1.0, -25600.0, float("nan"), float("inf"), None, "25600"])
def test_bad_sample_rate(fs):
    with pytest.raises(ValueError, match="fs: must be a positive sample rate in Hz"):
        AnalysisSettings(fs=fs, n=N)


def test_unknown_window():
    with pytest.raises(ValueError, match="window: must be one of hann, flattop, got 'hamming'"):
        AnalysisSettings(fs=FS, n=N, window="hamming")


@pytest.mark.parametrize(
    "field, band, words",
    [
        ("velocity_band", (10.0, 20000.0), "above the Nyquist frequency 12800 Hz"),
        ("hf_band", (1000.0, 12800.1), "above the Nyquist frequency"),
        ("envelope_band", (13000.0, 14000.0), "above the Nyquist frequency"),
        ("velocity_band", (100.0, 110.0), "narrower than one bin \\(25 Hz at n=1024\\)"),
        ("envelope_band", (2000.0, 2000.0), "low edge must be >= 0 and below the high edge"),
        ("hf_band", (3000.0, 2000.0), "below the high edge"),
        ("velocity_band", (-10.0, 1000.0), "low edge must be >= 0"),
        ("velocity_band", (float("nan"), 1000.0), "must be a pair"),
        ("velocity_band", (10.0,), "must be a pair"),
        ("velocity_band", "10-1000", "must be a pair"),
    ],
)
def test_bad_named_band(field, band, words):
    with pytest.raises(ValueError, match=rf"{field}: .*{words}"):
        AnalysisSettings(fs=FS, n=N, **{field: band})


@pytest.mark.parametrize(
    "bands, words",
    [
        (((10.0, 100.0), (5000.0, 20000.0)), r"bands\[1\]: .*above the Nyquist"),
        (((10.0, 12.0),), r"bands\[0\]: .*narrower than one bin"),
        ((((1.0, 2.0, 3.0)),), r"bands\[0\]: must be a pair"),
    ],
)
def test_bad_extra_band(bands, words):
    with pytest.raises(ValueError, match=words):
        AnalysisSettings(fs=FS, n=N, bands=bands)


def test_too_many_bands():
    with pytest.raises(ValueError, match="bands: at most 256 bands, got 257"):
        AnalysisSettings(fs=FS, n=N, bands=((100.0, 200.0),) * 257)


@pytest.mark.parametrize("n_peaks", [-1, 65, 2.0])
def test_bad_peak_count(n_peaks):
    with pytest.raises(ValueError, match="n_peaks: must be an integer from 0 to 64"):
        AnalysisSettings(fs=FS, n=N, n_peaks=n_peaks)


@pytest.mark.parametrize("fmax", [0.0, -1.0, 12800.5, float("nan")])
def test_bad_envelope_fmax(fmax):
    with pytest.raises(ValueError, match="envelope_fmax: must be above 0 and at most the Nyquist"):
        AnalysisSettings(fs=FS, n=N, envelope_fmax=fmax)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ValueError) as info:
        AnalysisSettings(fs=FS, n=N, window="kaiser", n_peaks=99, velocity_band=(10.0, 99999.0))
    message = str(info.value)
    for part in ("window:", "n_peaks:", "velocity_band:"):
        assert part in message
