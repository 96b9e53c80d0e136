"""Reference implementation in plain numpy/scipy: it defines the numbers the kernel must give.

Written for clarity, not speed. Every figure follows the same definitions as the C kernel:

- Statistics after removing the frame mean (DC); kurtosis and skewness are Pearson's (the
  kurtosis of Gaussian noise is 3). A constant frame has crest factor, kurtosis, skewness 0.
- Spectrum: periodic window (Hann or flat-top), amplitude = 2|X|/sum(w) (bins 0 and n/2 once),
  so a bin-centred sine of amplitude A shows a peak of A.
- Band RMS by Parseval over the windowed spectrum: mean square per bin = c|X|²/(n·sum(w²)) with
  c = 2 except at bins 0 and n/2, summed over bins whose frequency lies inside the band
  (edges inclusive). Velocity divides each bin by (2·pi·f)² first and reports mm/s.
- Peaks: the largest local maxima (a[k] > a[k-1] and a[k] >= a[k+1]), located between bins
  by the Hann two-bin ratio (exact for a pure tone) or, for flat-top, a parabola, and listed
  by interpolated amplitude, largest first.
- Envelope: the band's bins of the unwindowed spectrum, doubled (analytic signal), inverse FFT,
  magnitude, mean removed; its amplitude spectrum as above up to envelope_fmax.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .results import METRICS, BatchAnalysis
from .settings import AnalysisSettings

BACKEND = "numpy-reference"


def window(settings: AnalysisSettings) -> np.ndarray:
    """The periodic analysis window (the DFT-even form used for spectral analysis)."""
    return signal.get_window(settings.window, settings.n, fftbins=True)


def band_bins(settings: AnalysisSettings, band: tuple[float, float]) -> slice:
    """Bins whose centre frequency lies inside the band, edges inclusive, never bin 0."""
    df = settings.bin_width
    lo = max(1, int(np.ceil(band[0] / df - 1e-9)))
    hi = min(settings.n // 2, int(np.floor(band[1] / df + 1e-9)))
    return slice(lo, max(lo, hi + 1))


def one_sided_factor(n: int) -> np.ndarray:
    factor = np.full(n // 2 + 1, 2.0)
    factor[0] = factor[-1] = 1.0
    return factor


def amplitude_spectrum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return one_sided_factor(len(x)) * np.abs(np.fft.rfft(x * w)) / w.sum()


def power_per_bin(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One-sided mean-square contribution of each bin (window power corrected)."""
    n = len(x)
    return one_sided_factor(n) * np.abs(np.fft.rfft(x * w)) ** 2 / (n * np.sum(w**2))


def find_peaks(amp: np.ndarray, last: int, count: int, settings: AnalysisSettings) -> np.ndarray:
    """Top `count` local maxima among bins 1..last as rows (frequency, amplitude)."""
    out = np.zeros((count, 2))
    k = np.arange(1, last + 1)
    is_peak = (amp[k] > amp[k - 1]) & (amp[k] >= amp[k + 1])
    candidates = k[is_peak]
    order = np.argsort(-amp[candidates], kind="stable")[:count]
    for row, index in enumerate(candidates[order]):
        out[row] = interpolate_peak(amp, int(index), settings)
    found = len(order)
    out[:found] = out[:found][np.argsort(-out[:found, 1], kind="stable")]
    return out


def interpolate_peak(amp: np.ndarray, k: int, settings: AnalysisSettings) -> tuple[float, float]:
    left, mid, right = amp[k - 1], amp[k], amp[k + 1]
    if settings.window == "hann":
        # Hann main lobe: a[k±1]/a[k] = (1 + d)/(2 - d) for a tone d bins from k.
        if mid <= 0:
            return k * settings.bin_width, float(mid)
        ratio = max(left, right) / mid
        delta = float(np.clip((2 * ratio - 1) / (ratio + 1), 0.0, 0.5))
        if right < left:
            delta = -delta
        value = (
            mid
            if abs(delta) <= 1e-12
            else mid * np.pi * delta * (1 - delta**2) / np.sin(np.pi * delta)
        )
        return (k + delta) * settings.bin_width, float(value)
    denom = left - 2 * mid + right
    delta = float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5)) if denom != 0 else 0.0
    return (k + delta) * settings.bin_width, float(mid)


def envelope(x: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """Envelope of the band-passed signal: |analytic signal| of the band's bins."""
    n = len(x)
    spectrum = np.fft.rfft(x)
    analytic = np.zeros(n, dtype=complex)
    band = band_bins(settings, settings.envelope_band)
    analytic[band] = 2 * spectrum[band]
    if band.stop == n // 2 + 1:  # the Nyquist bin is its own mirror
        analytic[n // 2] = spectrum[n // 2]
    return np.abs(np.fft.ifft(analytic))


def analyze_channel(x: np.ndarray, settings: AnalysisSettings) -> dict[str, object]:
    s = settings
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("frame contains NaN or infinite samples")
    mean = x.mean()
    d = x - mean
    rms = np.sqrt(np.mean(d**2))
    peak = np.max(np.abs(d))
    w = window(s)
    freqs = np.fft.rfftfreq(s.n, 1 / s.fs)
    power = power_per_bin(d, w)
    amp = amplitude_spectrum(d, w)

    velocity_bins = band_bins(s, s.velocity_band)
    velocity_ms2 = power[velocity_bins] / (2 * np.pi * freqs[velocity_bins]) ** 2
    vibration_rms = np.sqrt(np.sum(velocity_ms2)) * 1000.0  # m/s -> mm/s

    hf_lo, hf_hi = s.hf_band
    hf_bins = band_bins(s, s.hf_band) if hf_hi > hf_lo else slice(1, 1)
    hf_empty = hf_bins.stop <= hf_bins.start or hf_hi <= hf_lo
    hf_rms = np.nan if hf_empty else np.sqrt(np.sum(power[hf_bins]))

    peaks = find_peaks(amp, s.n // 2 - 1, s.n_peaks, s)
    band_rms = np.array([np.sqrt(np.sum(power[band_bins(s, b)])) for b in s.bands])

    env = envelope(d, s)
    env_amp = amplitude_spectrum(env - env.mean(), w)
    env_bins = min(int(np.floor(s.envelope_fmax / s.bin_width + 1e-9)), s.n // 2) + 1
    env_peaks = find_peaks(env_amp, min(env_bins - 1, s.n // 2 - 1), s.n_peaks, s)

    m2 = rms**2
    metrics = {
        "dc_offset": mean,
        "accel_rms": rms,
        "accel_peak": peak,
        "accel_p2p": d.max() - d.min(),
        "crest_factor": peak / rms if rms > 0 else 0.0,
        "kurtosis": np.mean(d**4) / m2**2 if m2 > 0 else 0.0,
        "skewness": np.mean(d**3) / m2**1.5 if m2 > 0 else 0.0,
        "vibration_rms": vibration_rms,
        "hf_accel_rms": hf_rms,
        "dominant_freq": peaks[0, 0] if s.n_peaks else 0.0,
    }
    return {
        "metrics": np.array([metrics[name] for name in METRICS]),
        "spectrum": amp,
        "peaks": peaks,
        "band_rms": band_rms,
        "envelope_spectrum": env_amp[:env_bins],
        "envelope_peaks": env_peaks,
    }


def analyze(settings: AnalysisSettings, frames: np.ndarray) -> BatchAnalysis:
    """Analyse frames of shape (channels, n) or (n,) like `Analyzer.analyze`."""
    s = settings.resolved()
    frames = np.atleast_2d(np.asarray(frames))
    if frames.ndim != 2 or frames.shape[1] != s.n:
        raise ValueError(f"frames must have shape (channels, {s.n}), got {frames.shape}")
    per_channel = [analyze_channel(frame, s) for frame in frames]
    env_bins = len(per_channel[0]["envelope_spectrum"]) if per_channel else 0
    out = BatchAnalysis.empty(s, len(per_channel), env_bins)
    for i, result in enumerate(per_channel):
        out.metric_values[i] = result["metrics"]
        out.spectrum[i] = result["spectrum"]
        out.peaks[i] = result["peaks"]
        out.band_rms[i] = result["band_rms"]
        out.envelope_spectrum[i] = result["envelope_spectrum"]
        out.envelope_peaks[i] = result["envelope_peaks"]
    return out
