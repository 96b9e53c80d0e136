"""Vibration analysis of one accelerometer: frames from its ring buffer -> readings.

Per axis it reports the kernel's figures plus velocity at 1x/2x/3x running speed and envelope
amplitude at the bearing defect frequencies (when the machine's speed and bearing are known),
and one overall value per metric with axis None: the largest over the radial axes, plus the
axial axis only where the machine has a thrust bearing (ISO 20816 practice).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsp_ext import AnalysisSettings, Analyzer, BatchAnalysis, bearing_frequencies

from ..config import AnalysisOptions, MachineConfig
from ..config.models import MIN_UPDATE_INTERVAL_S
from ..live import SpectrumSnapshot
from ..readings import Reading
from .ring import RingBuffer

KERNEL_METRICS = (
    "vibration_rms",
    "accel_rms",
    "accel_peak",
    "crest_factor",
    "kurtosis",
    "hf_accel_rms",
    "dominant_freq",
)
UNITS = {
    "vibration_rms": "mm/s",
    "accel_rms": "m/s²",
    "accel_peak": "m/s²",
    "crest_factor": "",
    "kurtosis": "",
    "hf_accel_rms": "m/s²",
    "dominant_freq": "Hz",
    "velocity_1x": "mm/s",
    "velocity_2x": "mm/s",
    "velocity_3x": "mm/s",
    "envelope_bpfo": "m/s²",
    "envelope_bpfi": "m/s²",
    "envelope_bsf": "m/s²",
    "envelope_ftf": "m/s²",
}
HARMONICS = (1, 2, 3)
HARMONIC_HALF_WIDTH = 0.1  # band of ±10 % of running speed around each harmonic
DEFECT_TOLERANCE = 0.02  # defect frequencies are searched ±2 % (bearing slip)


@dataclass(frozen=True)
class Frame:
    """What one analysed frame produced."""

    readings: list[Reading]
    spectra: list[SpectrumSnapshot]


def frame_settings(options: AnalysisOptions, fs: float, machine: MachineConfig) -> AnalysisSettings:
    n = int(options.frame_length or 16384)
    bands: list[tuple[float, float]] = []
    if machine.running_speed_rpm:
        shaft = machine.running_speed_rpm / 60
        half = max(HARMONIC_HALF_WIDTH * shaft, 1.5 * fs / n)
        bands = [(k * shaft - half, k * shaft + half) for k in HARMONICS]
        bands = [(lo, hi) for lo, hi in bands if hi < fs / 2]
    return AnalysisSettings(
        fs=fs,
        n=n,
        window=options.window or "hann",
        velocity_band=options.velocity_band_hz,
        hf_band=options.hf_band_hz,
        envelope_band=options.envelope_band_hz,
        envelope_fmax=options.envelope_fmax_hz,
        bands=tuple(bands),
    )


def update_interval(options: AnalysisOptions, fs: float) -> float:
    """Seconds between analyses: given, or from the frame length and overlap (at least
    MIN_UPDATE_INTERVAL_S, so a short frame with a large overlap cannot flood the loop)."""
    if options.overlap is not None:
        interval = (options.frame_length or 16384) / fs * (1 - options.overlap)
        return max(interval, MIN_UPDATE_INTERVAL_S)
    return float(options.update_interval_s or 1.0)


class VibrationStage:
    """Analyses the newest frame of one accelerometer each update interval."""

    def __init__(
        self,
        sensor_id: str,
        machine: MachineConfig,
        axes: tuple[str, ...],
        mounting: dict[str, str],
        fs: float,
        options: AnalysisOptions,
        to_utc: Callable[[float], float],
    ) -> None:
        self.sensor_id = sensor_id
        self.machine = machine
        self.axes = axes
        self.fs = fs
        self.to_utc = to_utc
        self.settings = frame_settings(options, fs, machine)
        self.interval = update_interval(options, fs)
        self.analyzer = Analyzer(self.settings)
        self.settings = self.analyzer.settings  # resolved bands
        self._hf_enabled = self.settings.hf_enabled
        n = self.settings.n
        # Room for a frame plus the blocks that arrive between two updates.
        self.ring = RingBuffer(len(axes), n + int(fs * max(self.interval, 0.5)) + 4096)
        self._frame = np.empty((len(axes), n), dtype=np.float32)
        self._result: BatchAnalysis = self.analyzer.new_result(len(axes))
        self._analysed_upto = 0
        counted = {"radial_horizontal", "radial_vertical"}
        if machine.thrust_bearing:
            counted.add("axial")
        default_mounting = ("radial_horizontal", "radial_vertical", "axial")
        self.mounting = {
            axis: mounting.get(axis, default_mounting[min(i, 2)]) for i, axis in enumerate(axes)
        }
        self._overall_axes = [i for i, a in enumerate(axes) if self.mounting[a] in counted]
        if not self._overall_axes:
            self._overall_axes = list(range(len(axes)))
        self._defects: dict[str, float] = {}
        if machine.running_speed_rpm and machine.bearing:
            freqs = bearing_frequencies(machine.bearing.geometry(), machine.running_speed_rpm / 60)
            self._defects = {
                "envelope_bpfo": freqs.bpfo,
                "envelope_bpfi": freqs.bpfi,
                "envelope_bsf": freqs.bsf,
                "envelope_ftf": freqs.ftf,
            }

    def metric_units(self) -> dict[str, str]:
        """The metrics this stage reports (per axis and overall) with their units."""
        names = [m for m in KERNEL_METRICS if m != "hf_accel_rms" or self._hf_enabled]
        if self.settings.bands and self.machine.running_speed_rpm:
            names += [f"velocity_{k}x" for k in HARMONICS[: len(self.settings.bands)]]
        names += list(self._defects)
        return {name: UNITS[name] for name in names}

    def ready(self) -> bool:
        """A full frame is buffered and new samples arrived since the last analysis."""
        ring = self.ring
        return ring.total_written >= self.settings.n and ring.total_written > self._analysed_upto

    def analyse(self) -> Frame | None:
        taken = self.take_frame()
        return None if taken is None else self.compute(*taken)

    def take_frame(self) -> tuple[np.ndarray, float] | None:
        """Copy the newest frame out of the ring.

        The copy is reused: do not take the next frame before `compute` of this one ended.
        """
        with self.ring.lock:
            last = self.ring.last_sample_time
            if not self.ready() or last is None:
                return None
            self.ring.latest(self.settings.n, out=self._frame)
            self._analysed_upto = self.ring.total_written
        return self._frame, self.to_utc(last)

    def compute(self, frame: np.ndarray, ts: float) -> Frame:
        """The figures of a taken frame; safe in a worker thread (the kernel drops the GIL)."""
        result = self.analyzer.analyze(frame, out=self._result)
        return Frame(self._readings(result, ts), self._spectra(result, ts))

    def _per_axis_values(self, result: BatchAnalysis) -> dict[str, np.ndarray]:
        values = {name: result.metric(name) for name in KERNEL_METRICS}
        if not self._hf_enabled:
            del values["hf_accel_rms"]
        if self.settings.bands and self.machine.running_speed_rpm:
            shaft = self.machine.running_speed_rpm / 60
            for k, column in zip(HARMONICS, result.band_rms.T, strict=False):
                values[f"velocity_{k}x"] = column / (2 * math.pi * k * shaft) * 1000.0
        if self._defects:
            df = self.settings.bin_width
            env = result.envelope_spectrum
            for name, freq in self._defects.items():
                half = max(DEFECT_TOLERANCE * freq, df)
                lo = max(1, math.floor((freq - half) / df))
                hi = min(env.shape[1] - 1, math.ceil((freq + half) / df))
                if lo <= hi:
                    values[name] = env[:, lo : hi + 1].max(axis=1).astype(np.float64)
        return values

    def _readings(self, result: BatchAnalysis, ts: float) -> list[Reading]:
        device, sensor = self.machine.id, self.sensor_id
        out: list[Reading] = []
        overall_axes = self._overall_axes
        vib = result.metric("vibration_rms")
        loudest = max(overall_axes, key=lambda i: vib[i])
        for metric, per_axis in self._per_axis_values(result).items():
            unit = UNITS[metric]
            for i, axis in enumerate(self.axes):
                out.append(Reading(device, sensor, metric, axis, float(per_axis[i]), unit, ts))
            if metric == "dominant_freq":
                overall = float(per_axis[loudest])
            else:
                overall = float(max(per_axis[i] for i in overall_axes))
            out.append(Reading(device, sensor, metric, None, overall, unit, ts))
        return out

    def _spectra(self, result: BatchAnalysis, ts: float) -> list[SpectrumSnapshot]:
        df = self.settings.bin_width
        snapshots = []
        for i, axis in enumerate(self.axes):
            snapshots.append(
                SpectrumSnapshot(
                    self.sensor_id,
                    axis,
                    "spectrum",
                    ts,
                    df,
                    result.spectrum[i].copy(),
                    _peaks(result.peaks[i]),
                )
            )
            snapshots.append(
                SpectrumSnapshot(
                    self.sensor_id,
                    axis,
                    "envelope",
                    ts,
                    df,
                    result.envelope_spectrum[i].copy(),
                    _peaks(result.envelope_peaks[i]),
                )
            )
        return snapshots


def _peaks(rows: np.ndarray) -> tuple[tuple[float, float], ...]:
    return tuple((float(f), float(a)) for f, a in rows if f > 0)
