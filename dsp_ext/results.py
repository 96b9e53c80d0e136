"""The result of analysing a batch of frames: the same structure from the kernel and the
reference, so they can be compared field by field."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .settings import AnalysisSettings

# Scalar metrics per channel, in the kernel's column order (csrc/esocore_dsp.h ESO_M_*).
METRICS: tuple[str, ...] = (
    "dc_offset",
    "accel_rms",
    "accel_peak",
    "accel_p2p",
    "crest_factor",
    "kurtosis",
    "skewness",
    "vibration_rms",
    "hf_accel_rms",
    "dominant_freq",
)

METRIC_UNITS: dict[str, str] = {
    "dc_offset": "m/s²",
    "accel_rms": "m/s²",
    "accel_peak": "m/s²",
    "accel_p2p": "m/s²",
    "crest_factor": "",
    "kurtosis": "",
    "skewness": "",
    "vibration_rms": "mm/s",
    "hf_accel_rms": "m/s²",
    "dominant_freq": "Hz",
}


@dataclass
class BatchAnalysis:
    """Analysis of `channels` frames. Arrays are indexed by channel first.

    metric_values: (channels, len(METRICS)) float64; hf_accel_rms is NaN where not reported.
    spectrum: (channels, n/2 + 1) float32 amplitude spectrum (peak m/s²).
    peaks, envelope_peaks: (channels, n_peaks, 2) rows of (frequency Hz, amplitude); rows with
        frequency 0 are unused.
    band_rms: (channels, len(settings.bands)) RMS acceleration per configured band, m/s².
    envelope_spectrum: (channels, envelope_bins) float32 amplitude of the envelope, m/s² peak.
    """

    settings: AnalysisSettings
    metric_values: np.ndarray
    spectrum: np.ndarray
    peaks: np.ndarray
    band_rms: np.ndarray
    envelope_spectrum: np.ndarray
    envelope_peaks: np.ndarray

    @classmethod
    def empty(cls, settings: AnalysisSettings, channels: int, envelope_bins: int) -> BatchAnalysis:
        k = settings.n_peaks
        return cls(
            settings=settings,
            metric_values=np.zeros((channels, len(METRICS)), dtype=np.float64),
            spectrum=np.zeros((channels, settings.n // 2 + 1), dtype=np.float32),
            peaks=np.zeros((channels, k, 2), dtype=np.float64),
            band_rms=np.zeros((channels, len(settings.bands)), dtype=np.float64),
            envelope_spectrum=np.zeros((channels, envelope_bins), dtype=np.float32),
            envelope_peaks=np.zeros((channels, k, 2), dtype=np.float64),
        )

    @property
    def channels(self) -> int:
        return self.metric_values.shape[0]

    def metric(self, name: str) -> np.ndarray:
        """One metric for every channel, shape (channels,)."""
        return self.metric_values[:, METRICS.index(name)]

    @property
    def freqs(self) -> np.ndarray:
        return np.arange(self.spectrum.shape[1]) * self.settings.bin_width

    @property
    def envelope_freqs(self) -> np.ndarray:
        return np.arange(self.envelope_spectrum.shape[1]) * self.settings.bin_width

    def channel_summary(self, index: int) -> dict[str, Any]:
        """JSON-ready figures of one channel: metrics (None where not reported) and peaks."""
        metrics: dict[str, float | None] = {}
        for i, name in enumerate(METRICS):
            value = float(self.metric_values[index, i])
            metrics[name] = None if math.isnan(value) else value
        return {
            "metrics": metrics,
            "peaks": _peak_list(self.peaks[index]),
            "envelope_peaks": _peak_list(self.envelope_peaks[index]),
            "bands": [
                {"low_hz": lo, "high_hz": hi, "rms": float(v)}
                for (lo, hi), v in zip(self.settings.bands, self.band_rms[index], strict=True)
            ],
        }


def _peak_list(rows: np.ndarray) -> list[dict[str, float]]:
    return [{"frequency_hz": float(f), "amplitude": float(a)} for f, a in rows if f > 0 or a > 0]
