"""Values to 16-bit registers and back, in the word and byte order a SCADA driver expects.

A 32-bit value is packed big-endian (bytes A B C D, A the most significant) and then laid out
as registers: word order "big" gives AB CD (high word first, the default), "little" CD AB;
byte order "little" swaps the two bytes inside each register (BA DC).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

from .config import DEFAULT_SENTINEL, INT_RANGE, DataType, Order

_PACK = {
    "float32": struct.Struct(">f"),
    "int32": struct.Struct(">i"),
    "uint32": struct.Struct(">I"),
    "int16": struct.Struct(">h"),
    "uint16": struct.Struct(">H"),
}
_WORDS = {2: struct.Struct(">HH"), 1: struct.Struct(">H")}


@dataclass(frozen=True)
class Encoding:
    """How one entry is laid out: its type, scale and orders, and its stale sentinel."""

    dtype: DataType
    scale: float = 1.0
    word_order: Order = "big"
    byte_order: Order = "big"
    sentinel: int | None = None

    @property
    def size(self) -> int:
        return 2 if self.dtype in ("float32", "int32", "uint32") else 1

    def encoder(self) -> Callable[[float | None], tuple[int, ...]]:
        """A function value -> registers (None, NaN or infinity: NaN or the sentinel)."""
        pack = _PACK[self.dtype].pack
        words = _WORDS[self.size].unpack
        scale = self.scale
        swap_bytes = self.byte_order == "little"
        swap_words = self.word_order == "little" and self.size == 2
        if self.dtype == "float32":
            missing = _arrange(words(pack(math.nan)), swap_words, swap_bytes)

            def encode_float(value: float | None) -> tuple[int, ...]:
                if value is None or not math.isfinite(value):
                    return missing
                scaled = value * scale
                if not math.isfinite(scaled) or abs(scaled) > 3.4028234663852886e38:
                    scaled = math.copysign(math.inf, scaled)
                return _arrange(words(pack(scaled)), swap_words, swap_bytes)

            return encode_float
        low, high = INT_RANGE[self.dtype]
        sentinel = self.sentinel if self.sentinel is not None else DEFAULT_SENTINEL[self.dtype]
        missing = _arrange(words(pack(sentinel)), swap_words, swap_bytes)

        def encode_int(value: float | None) -> tuple[int, ...]:
            if value is None or not math.isfinite(value):
                return missing
            scaled = value * scale  # rounded half away from zero, as PLCs do; saturated
            raw = min(max(int(math.copysign(math.floor(abs(scaled) + 0.5), scaled)), low), high)
            return _arrange(words(pack(raw)), swap_words, swap_bytes)

        return encode_int

    def decode(self, registers: tuple[int, ...] | list[int]) -> float:
        """Registers -> value (what a client does; used by tests and the exports' examples)."""
        regs = tuple(registers)
        regs = _arrange(regs, self.word_order == "little" and self.size == 2, False)
        if self.byte_order == "little":
            regs = tuple(((r & 0xFF) << 8) | (r >> 8) for r in regs)
        raw = _PACK[self.dtype].unpack(_WORDS[self.size].pack(*regs))[0]
        return raw / self.scale


def _arrange(words: tuple[int, ...], swap_words: bool, swap_bytes: bool) -> tuple[int, ...]:
    if swap_words:
        words = words[::-1]
    if swap_bytes:
        words = tuple(((w & 0xFF) << 8) | (w >> 8) for w in words)
    return words
