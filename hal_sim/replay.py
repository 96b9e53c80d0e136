"""Replay of a recorded waveform (WAV, CSV or NPY) as what a simulated sensor measures.

The recording starts at the first sample the chip produces after it is configured (a chip
that is configured again, e.g. after a fault, starts the recording again) and either loops or
plays once (then silence). Values are in the sensor's engineering units after
multiplying by `scale` (WAV integer PCM is read as a fraction of full scale first). A file
whose sample rate is known (WAV, or `fs` given) and differs from the chip's rate is resampled
by linear interpolation once, when the rate is first asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dsp_ext.signal_io import Waveform, read_waveform


class ReplaySource:
    def __init__(
        self,
        recording: str | Path | Waveform,
        channels: int,
        *,
        loop: bool = True,
        scale: float = 1.0,
        fs: float | None = None,
        columns: list[str] | None = None,
    ) -> None:
        wave = recording if isinstance(recording, Waveform) else read_waveform(recording, columns)
        self.name = str(recording) if not isinstance(recording, Waveform) else "waveform"
        if wave.samples.shape[1] > channels:
            wave = Waveform(wave.samples[:, :channels], wave.fs, wave.channel_names[:channels])
        self.wave = wave
        self.channels = channels
        self.loop = loop
        self.scale = float(scale)
        self.fs = fs if fs is not None else wave.fs
        self.origin: int | None = None
        self._by_rate: dict[float, np.ndarray] = {}

    def begin(self, first_index: int, rate: float) -> None:
        self.origin = first_index

    def samples_for(self, rate: float) -> np.ndarray:
        """The recording at `rate`, (n, channels) float32 in engineering units."""
        data = self._by_rate.get(rate)
        if data is None:
            src = self.wave.samples * self.scale
            if self.fs is not None and abs(self.fs - rate) > 1e-3 * rate:
                n_out = max(1, round(src.shape[0] * rate / self.fs))
                t_out = np.arange(n_out) / rate
                t_in = np.arange(src.shape[0]) / self.fs
                src = np.stack([np.interp(t_out, t_in, src[:, c]) for c in range(src.shape[1])], 1)
            data = np.zeros((src.shape[0], self.channels), dtype=np.float32)
            data[:, : src.shape[1]] = src
            self._by_rate[rate] = data
        return data

    def block(self, rate: float, index: int, size: int) -> np.ndarray:
        data = self.samples_for(rate)
        n = data.shape[0]
        origin = self.origin or 0
        idx = np.arange(index * size - origin, index * size - origin + size, dtype=np.int64)
        if self.loop:
            return data[np.mod(idx, n)]
        out = np.zeros((size, self.channels), dtype=np.float32)
        inside = (idx >= 0) & (idx < n)
        out[inside] = data[idx[inside]]
        return out
