"""Analysis settings: one immutable, validated description of how a frame is analysed.

Both the C kernel and the numpy reference take the same settings, so a setting can never mean
one thing in one and another thing in the other.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Literal

WindowName = Literal["hann", "flattop"]
WINDOWS: tuple[str, ...] = ("hann", "flattop")
MIN_N = 256
MAX_N = 65536
MAX_PEAKS = 64
MAX_BANDS = 256

# Usable bandwidth of a sampled sensor: the conventional fs / 2.56 (anti-alias filter roll-off).
USABLE_BANDWIDTH_DIVISOR = 2.56
ISO_VELOCITY_BAND = (10.0, 1000.0)
HF_BAND_START = 1000.0
ENVELOPE_BAND_START = 1000.0
ENVELOPE_FMAX = 1000.0

Band = tuple[float, float]


@dataclass(frozen=True)
class AnalysisSettings:
    """How one frame of acceleration samples is analysed.

    Bands left as None get documented defaults from the sample rate (see `resolved`):
    velocity 10-1000 Hz (ISO 20816), high-frequency 1 kHz to fs/2.56, envelope band
    1 kHz to fs/2.56 (upper half of the usable band for sensors slower than 5.12 kHz),
    envelope spectrum up to 1 kHz.
    """

    fs: float
    n: int = 8192
    window: WindowName = "hann"
    velocity_band: Band | None = None
    hf_band: Band | None = None
    envelope_band: Band | None = None
    envelope_fmax: float | None = None
    n_peaks: int = 5
    bands: tuple[Band, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid analysis settings: " + "; ".join(problems))
        object.__setattr__(self, "bands", tuple((float(lo), float(hi)) for lo, hi in self.bands))

    @property
    def nyquist(self) -> float:
        return self.fs / 2.0

    @property
    def usable_bandwidth(self) -> float:
        return self.fs / USABLE_BANDWIDTH_DIVISOR

    @property
    def bin_width(self) -> float:
        return self.fs / self.n

    def problems(self) -> list[str]:
        """Every reason these settings cannot be used (empty when they are fine)."""
        out: list[str] = []
        if not isinstance(self.n, int) or isinstance(self.n, bool):
            out.append(f"n: must be an integer, got {self.n!r}")
        elif self.n < MIN_N or self.n > MAX_N or self.n & (self.n - 1):
            out.append(f"n: must be a power of two from {MIN_N} to {MAX_N}, got {self.n}")
        if not _is_number(self.fs) or not self.fs > 0 or self.fs == float("inf"):
            out.append(f"fs: must be a positive sample rate in Hz, got {self.fs!r}")
            return out  # bands cannot be checked without a sample rate
        if self.window not in WINDOWS:
            out.append(f"window: must be one of {', '.join(WINDOWS)}, got {self.window!r}")
        if not isinstance(self.n_peaks, int) or not 0 <= self.n_peaks <= MAX_PEAKS:
            out.append(f"n_peaks: must be an integer from 0 to {MAX_PEAKS}, got {self.n_peaks!r}")
        named = {
            "velocity_band": self.velocity_band,
            "hf_band": self.hf_band,
            "envelope_band": self.envelope_band,
        }
        for name, band in named.items():
            if band is not None:
                out.extend(self._band_problems(name, band))
        if len(self.bands) > MAX_BANDS:
            out.append(f"bands: at most {MAX_BANDS} bands, got {len(self.bands)}")
        for i, band in enumerate(self.bands):
            out.extend(self._band_problems(f"bands[{i}]", band))
        if self.envelope_fmax is not None and (
            not _is_number(self.envelope_fmax) or not 0 < self.envelope_fmax <= self.nyquist
        ):
            out.append(
                f"envelope_fmax: must be above 0 and at most the Nyquist frequency "
                f"{self.nyquist:g} Hz, got {self.envelope_fmax!r}"
            )
        return out

    def _band_problems(self, name: str, band: object) -> list[str]:
        if (
            not isinstance(band, tuple | list)
            or len(band) != 2
            or not all(_is_number(v) for v in band)
        ):
            return [f"{name}: must be a pair (low_hz, high_hz), got {band!r}"]
        lo, hi = band
        if not 0 <= lo < hi:
            return [f"{name}: low edge must be >= 0 and below the high edge, got ({lo:g}, {hi:g})"]
        if hi > self.nyquist:
            return [
                f"{name}: ({lo:g}, {hi:g}) Hz reaches above the Nyquist frequency "
                f"{self.nyquist:g} Hz of fs={self.fs:g} Hz"
            ]
        if hi - lo < self.bin_width:
            return [
                f"{name}: ({lo:g}, {hi:g}) Hz is narrower than one bin "
                f"({self.bin_width:g} Hz at n={self.n}); widen it or raise n"
            ]
        return []

    def resolved(self) -> AnalysisSettings:
        """A copy with every default band filled in from the sample rate."""
        usable = self.usable_bandwidth
        velocity = self.velocity_band or (
            ISO_VELOCITY_BAND[0],
            min(ISO_VELOCITY_BAND[1], usable),
        )
        # An empty (lo >= hi) hf band means "not reported": a low-rate sensor has no HF band.
        hf = self.hf_band or (HF_BAND_START, usable)
        if self.envelope_band is not None:
            envelope = self.envelope_band
        elif usable >= 2 * ENVELOPE_BAND_START:
            envelope = (ENVELOPE_BAND_START, usable)
        else:
            envelope = (usable / 2, usable)
        fmax = self.envelope_fmax or min(ENVELOPE_FMAX, self.nyquist)
        # Not through the constructor: a disabled hf band (low edge above the usable
        # bandwidth) is a valid resolved state but not a valid band for a user to type.
        out = copy.copy(self)
        object.__setattr__(out, "velocity_band", (float(velocity[0]), float(velocity[1])))
        object.__setattr__(out, "hf_band", (float(hf[0]), float(hf[1])))
        object.__setattr__(out, "envelope_band", (float(envelope[0]), float(envelope[1])))
        object.__setattr__(out, "envelope_fmax", float(fmax))
        return out

    @property
    def hf_enabled(self) -> bool:
        """hf_accel_rms is reported when at least one bin lies inside its band (the same rule
        the kernel and the reference apply to every band)."""
        lo, hi = self.resolved().hf_band  # type: ignore[misc]
        if hi <= lo:
            return False
        first = max(1, math.ceil(lo / self.bin_width - 1e-9))
        last = min(self.n // 2, math.floor(hi / self.bin_width + 1e-9))
        return last >= first


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
