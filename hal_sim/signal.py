"""Deterministic, cheap signal building blocks for the simulated chips.

Every sample is a function of its ABSOLUTE index: signals are made in fixed-size blocks
(block b holds samples b*size .. b*size+size-1) and every random draw is keyed by
(seed, sensor or machine, block or event index). So the same seed gives the same bytes, bit
for bit, however often and in whatever chunks a chip's buffer is drained.

Cost matters (the runtime benchmark runs 50+ simulated wideband sensors on one core), hence:
- sums of sinusoids are one small matrix product per block against cached cos/sin tables;
- broadband noise is a slice of a seeded bank of normal deviates at a hashed offset, not a
  fresh generator per block;
- finished blocks are cached, so a block drained in several pieces is made once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import numpy as np

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def stable_key(*parts: object) -> int:
    """A 64-bit key from strings and numbers that is the same in every process (unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def mix64(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    x = (x + _GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def mix64_array(keys: np.ndarray) -> np.ndarray:
    """mix64 over a uint64 array (wrapping arithmetic)."""
    x = keys.astype(np.uint64) + np.uint64(_GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hashed_uniform(key: int, indices: np.ndarray, stream: int = 0) -> np.ndarray:
    """Uniform deviates in [0, 1), one per event index, keyed by (key, stream)."""
    base = np.uint64(mix64(key ^ mix64(stream)))
    h = mix64_array(indices.astype(np.uint64) * np.uint64(_GOLDEN) + base)  # wraps mod 2^64
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hashed_normal_pair(
    key: int, indices: np.ndarray, stream: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normal deviates per event index (both Box-Muller outputs)."""
    u1 = hashed_uniform(key, indices, 2 * stream + 1)
    u2 = hashed_uniform(key, indices, 2 * stream + 2)
    radius = np.sqrt(-2.0 * np.log1p(-u1))
    angle = 2.0 * np.pi * u2
    return radius * np.cos(angle), radius * np.sin(angle)


def hashed_normal(key: int, indices: np.ndarray, stream: int = 0) -> np.ndarray:
    """Standard normal deviates, one per event index."""
    return hashed_normal_pair(key, indices, stream)[0]


class NoiseBank:
    """A seeded bank of standard normal float32 deviates; a block of noise is a slice of it at
    an offset hashed from (key, block index). Slicing costs nothing, and the bank is shared by
    every sensor of a plant."""

    SIZE = 1 << 20

    def __init__(self, seed: int, max_block: int = 1 << 16) -> None:
        rng = np.random.default_rng([seed & MASK64, 0x5EED_0001])
        bank = rng.standard_normal(self.SIZE, dtype=np.float32)
        self._bank = np.concatenate([bank, bank[: max_block * 4]])
        self.max_block = max_block

    def block(self, key: int, index: int, n: int, columns: int = 1) -> np.ndarray:
        """(n, columns) normal deviates for block `index` of stream `key` (a read-only view)."""
        size = n * columns
        if size > self.max_block * 4:
            raise ValueError(f"noise block of {size} values is larger than the bank allows")
        offset = mix64(key ^ mix64(index & MASK64)) % self.SIZE
        return self._bank[offset : offset + size].reshape(n, columns)


_BANKS: dict[int, NoiseBank] = {}


def noise_bank(seed: int) -> NoiseBank:
    """The process-wide bank for `seed` (made once: about 4 MB)."""
    bank = _BANKS.get(seed)
    if bank is None:
        bank = _BANKS[seed] = NoiseBank(seed)
    return bank


class LruCache:
    """A small least-recently-used cache of finished blocks."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, object] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], object]) -> object:
        try:
            value = self._items[key]
        except KeyError:
            value = make()
            self._items[key] = value
            if len(self._items) > self.capacity:
                self._items.popitem(last=False)
            return value
        self._items.move_to_end(key)
        return value

    def clear(self) -> None:
        self._items.clear()


class SineTables:
    """Cached cos/sin tables: the sum of H sinusoids over a block is (size, 2H) @ (2H, axes)."""

    def __init__(self, capacity: int = 64) -> None:
        self._cache = LruCache(capacity)

    def table(self, freqs: tuple[float, ...], rate: float, size: int) -> np.ndarray:
        def make() -> np.ndarray:
            k = np.arange(size, dtype=np.float64)[:, None]
            w = 2.0 * np.pi * np.asarray(freqs, dtype=np.float64)[None, :] / rate
            return np.ascontiguousarray(
                np.concatenate([np.cos(k * w), np.sin(k * w)], axis=1), dtype=np.float32
            )

        return self._cache.get((freqs, rate, size), make)  # type: ignore[return-value]

    def synth(
        self,
        freqs: Sequence[float],
        amplitudes: np.ndarray,
        phases: np.ndarray,
        rate: float,
        first_index: int,
        size: int,
    ) -> np.ndarray:
        """sum_h A[h, a] * cos(2 pi f_h (first_index + k) / rate + phi[h, a]) -> (size, axes).

        amplitudes, phases: (H, axes). Phases at the block start are reduced modulo one turn in
        float64, so long runs keep their accuracy.
        """
        if not isinstance(freqs, tuple):
            freqs = tuple(float(f) for f in freqs)
        table = self.table(freqs, rate, size)
        t0 = first_index / rate
        turns = np.mod(np.asarray(freqs) * t0, 1.0)[:, None]
        theta = 2.0 * np.pi * turns + phases
        coeff = np.concatenate([amplitudes * np.cos(theta), -amplitudes * np.sin(theta)], axis=0)
        return table @ coeff.astype(np.float32)


SINE_TABLES = SineTables()


def ringdown_kernel(resonance_hz: float, damping: float, rate: float) -> np.ndarray:
    """Impulse response of a lightly damped structural mode, peak-normalised, float32.

    Long enough for the envelope to fall to 1 % (about 4.6 / (damping * 2 pi f)).
    """
    decay = damping * 2.0 * np.pi * resonance_hz
    length = max(8, int(np.ceil(4.6 / decay * rate)))
    t = np.arange(length) / rate
    h = np.exp(-decay * t) * np.sin(2.0 * np.pi * resonance_hz * t)
    peak = np.max(np.abs(h))
    return (h / peak).astype(np.float32) if peak > 0 else h.astype(np.float32)
