"""Python face of the C kernel: builds a plan once, then analyses batches without allocating.

The C calls release the GIL (cffi's default), so analysis can run in a worker thread while the
asyncio loop keeps serving.
"""

from __future__ import annotations

import threading

import numpy as np

from ._kernel import ffi, lib
from .results import METRICS, BatchAnalysis
from .settings import AnalysisSettings

_WINDOW_CODES = {"hann": lib.ESO_WINDOW_HANN, "flattop": lib.ESO_WINDOW_FLATTOP}
assert len(METRICS) == lib.ESO_M_COUNT, "METRICS must mirror the kernel's ESO_M_* order"

BACKEND = "c-kernel"


class Analyzer:
    """A reusable analysis plan for frames of `settings.n` samples at `settings.fs`.

    Window, twiddles and band bin ranges are computed once here. One call of `analyze` at a
    time per Analyzer (a lock enforces it); make one per worker thread for parallel use.
    """

    def __init__(self, settings: AnalysisSettings) -> None:
        self.settings = settings.resolved()
        s = self.settings
        lo = np.array([b[0] for b in s.bands] or [0.0], dtype=np.float64)
        hi = np.array([b[1] for b in s.bands] or [0.0], dtype=np.float64)
        self._band_arrays = (lo, hi)  # the plan copies what it needs; kept for clarity
        c_settings = ffi.new(
            "eso_settings *",
            {
                "n": s.n,
                "fs": s.fs,
                "window": _WINDOW_CODES[s.window],
                "velocity_lo": s.velocity_band[0],
                "velocity_hi": s.velocity_band[1],
                "hf_lo": s.hf_band[0],
                "hf_hi": s.hf_band[1],
                "envelope_lo": s.envelope_band[0],
                "envelope_hi": s.envelope_band[1],
                "envelope_fmax": s.envelope_fmax,
                "n_peaks": s.n_peaks,
                "n_bands": len(s.bands),
                "band_lo": ffi.from_buffer("double[]", lo),
                "band_hi": ffi.from_buffer("double[]", hi),
            },
        )
        plan = lib.eso_plan_new(c_settings)
        if plan == ffi.NULL:
            raise MemoryError(f"could not allocate an analysis plan for n={s.n}")
        self._plan = ffi.gc(plan, lib.eso_plan_free)
        self.envelope_bins: int = lib.eso_plan_envelope_bins(self._plan)
        self._lock = threading.Lock()

    def new_result(self, channels: int) -> BatchAnalysis:
        """Preallocated output for `channels` frames, to pass back as `out` on every call."""
        return BatchAnalysis.empty(self.settings, channels, self.envelope_bins)

    def analyze(self, frames: np.ndarray, out: BatchAnalysis | None = None) -> BatchAnalysis:
        """Analyse frames of shape (channels, n) or (n,), float32 acceleration in m/s²."""
        frames = _check_frames(frames, self.settings.n)
        channels = frames.shape[0]
        if out is None:
            out = self.new_result(channels)
        elif out.channels != channels or out.settings != self.settings:
            raise ValueError(
                f"out was made for {out.channels} channels of other settings; "
                f"use analyzer.new_result({channels})"
            )
        outputs = ffi.new(
            "eso_outputs *",
            {
                "metrics": ffi.from_buffer("double[]", out.metric_values),
                "spectrum": ffi.from_buffer("float[]", out.spectrum),
                "peaks": ffi.from_buffer("double[]", out.peaks),
                "bands": ffi.from_buffer("double[]", out.band_rms),
                "envelope": ffi.from_buffer("float[]", out.envelope_spectrum),
                "envelope_peaks": ffi.from_buffer("double[]", out.envelope_peaks),
            },
        )
        with self._lock:
            code = lib.eso_analyze(
                self._plan, ffi.from_buffer("float[]", frames), channels, outputs
            )
        if code <= -lib.ESO_ERR_CHANNEL_BASE:
            bad = -code - lib.ESO_ERR_CHANNEL_BASE
            raise ValueError(f"channel {bad} contains NaN or infinite samples")
        if code != lib.ESO_OK:
            raise RuntimeError(f"kernel rejected its arguments (code {code})")
        return out

    def rfft(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Unnormalised real FFT of n float64 samples into n/2 + 1 complex bins."""
        n = self.settings.n
        if not isinstance(x, np.ndarray) or x.dtype != np.float64 or x.shape != (n,):
            raise ValueError(f"x must be a float64 array of shape ({n},)")
        x = np.ascontiguousarray(x)
        if out is None:
            out = np.empty(n // 2 + 1, dtype=np.complex128)
        elif out.dtype != np.complex128 or out.shape != (n // 2 + 1,) or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous complex128 array of shape ({n // 2 + 1},)")
        with self._lock:
            lib.eso_plan_rfft(
                self._plan, ffi.from_buffer("double[]", x), ffi.from_buffer("double[]", out)
            )
        return out


def _check_frames(frames: object, n: int) -> np.ndarray:
    if not isinstance(frames, np.ndarray):
        raise ValueError(f"frames must be a numpy array, got {type(frames).__name__}")
    if frames.dtype != np.float32:
        raise ValueError(
            f"frames must be float32 (got {frames.dtype}); convert with frames.astype(np.float32)"
        )
    if frames.ndim == 1:
        frames = frames[np.newaxis, :]
    if frames.ndim != 2 or frames.shape[1] != n:
        raise ValueError(f"frames must have shape (channels, {n}) or ({n},), got {frames.shape}")
    return np.ascontiguousarray(frames)
