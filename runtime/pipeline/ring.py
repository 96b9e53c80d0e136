"""Preallocated per-sensor ring buffer of decoded samples (no allocation per block)."""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """Holds the last `capacity` samples of `channels` channels, float32, channel-major.

    `write` may run on the acquisition thread while the analysis reads on another: a reader
    takes `lock` around everything it reads (counts, time and samples) so they belong
    together; `write` takes it itself.
    """

    def __init__(self, channels: int, capacity: int) -> None:
        if channels < 1 or capacity < 1:
            raise ValueError("a ring buffer needs at least one channel and one sample")
        self.channels = channels
        self.capacity = capacity
        self._data = np.zeros((channels, capacity), dtype=np.float32)
        self.total_written = 0  # samples ever written (per channel)
        self.last_sample_time: float | None = None  # clock time of the newest sample
        self.lock = threading.Lock()

    def write(self, samples: np.ndarray, first_sample_time: float, rate_hz: float) -> None:
        """Append (n, channels) samples whose first sample was taken at first_sample_time."""
        with self.lock:
            self._write(samples, first_sample_time, rate_hz)

    def _write(self, samples: np.ndarray, first_sample_time: float, rate_hz: float) -> None:
        n = samples.shape[0]
        if n == 0:
            return
        if samples.ndim != 2 or samples.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) samples, got {samples.shape}")
        if n > self.capacity:  # only the newest capacity samples can be kept
            samples = samples[-self.capacity :]
            first_sample_time += (n - self.capacity) / rate_hz
            self.total_written += n - self.capacity
            n = self.capacity
        start = self.total_written % self.capacity
        first = min(n, self.capacity - start)
        self._data[:, start : start + first] = samples[:first].T
        if first < n:
            self._data[:, : n - first] = samples[first:].T
        self.total_written += n
        self.last_sample_time = first_sample_time + (n - 1) / rate_hz

    def latest(self, n: int, out: np.ndarray | None = None) -> np.ndarray:
        """The newest n samples as a contiguous (channels, n) array, oldest first (hold
        `lock` when another thread writes)."""
        if n > min(self.capacity, self.total_written):
            raise ValueError(f"only {min(self.capacity, self.total_written)} samples available")
        if out is None:
            out = np.empty((self.channels, n), dtype=np.float32)
        end = self.total_written % self.capacity
        start = end - n
        if start >= 0:
            out[:] = self._data[:, start:end]
        else:
            out[:, :-start] = self._data[:, start:]
            out[:, -start:] = self._data[:, :end]
        return out
