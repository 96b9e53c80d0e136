"""Decoders from raw FIFO bytes to float32 engineering units (C, one call per block).

Scale factors are the datasheet sensitivities of each chip class, converted to SI units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._kernel import ffi, lib

STANDARD_GRAVITY = 9.80665  # m/s² per g

# IIS3DWB-class: sensitivity in mg/LSB per full-scale range in g.
IIS3DWB_SENSITIVITY_MG: dict[int, float] = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}
IIS3DWB_WORD_BYTES = 7
# ADXL355-class: sensitivity in µg/LSB per range in g (20-bit data).
ADXL355_SENSITIVITY_UG: dict[int, float] = {2: 3.9, 4: 7.8, 8: 15.6}
ADXL355_SAMPLE_BYTES = 9
BE24_WORD_BYTES = 3


def iis3dwb_scale(range_g: int) -> float:
    """m/s² per LSB for an IIS3DWB-class range (±2, 4, 8 or 16 g)."""
    if range_g not in IIS3DWB_SENSITIVITY_MG:
        raise ValueError(
            f"range_g: must be one of {sorted(IIS3DWB_SENSITIVITY_MG)}, got {range_g!r}"
        )
    return IIS3DWB_SENSITIVITY_MG[range_g] * 1e-3 * STANDARD_GRAVITY


def adxl355_scale(range_g: int) -> float:
    """m/s² per LSB for an ADXL355-class range (±2, 4 or 8 g)."""
    if range_g not in ADXL355_SENSITIVITY_UG:
        raise ValueError(
            f"range_g: must be one of {sorted(ADXL355_SENSITIVITY_UG)}, got {range_g!r}"
        )
    return ADXL355_SENSITIVITY_UG[range_g] * 1e-6 * STANDARD_GRAVITY


def _buffer(raw: bytes | bytearray | memoryview | np.ndarray, unit: int, what: str) -> memoryview:
    view = memoryview(raw).cast("B")
    if len(view) % unit:
        raise ValueError(f"{what}: {len(view)} bytes is not a whole number of {unit}-byte words")
    return view


def decode_iis3dwb(raw: bytes | bytearray | memoryview, scale: float) -> tuple[np.ndarray, int]:
    """FIFO words (tag + X, Y, Z int16 LE) -> (samples (n, 3) float32 m/s², skipped words).

    Words whose tag is not the accelerometer's (temperature, timestamp, config change) are
    skipped and counted.
    """
    view = _buffer(raw, IIS3DWB_WORD_BYTES, "IIS3DWB FIFO block")
    words = len(view) // IIS3DWB_WORD_BYTES
    out = np.empty((words, 3), dtype=np.float32)
    skipped = ffi.new("long *")
    count = lib.eso_decode_iis3dwb(
        ffi.from_buffer("uint8_t[]", view),
        words,
        float(scale),
        ffi.from_buffer("float[]", out),
        skipped,
    )
    return out[:count], int(skipped[0])


def decode_adxl355(raw: bytes | bytearray | memoryview, scale: float) -> np.ndarray:
    """FIFO samples (X, Y, Z as 20-bit left-justified BE in 3 bytes each) -> (n, 3) float32.

    Decoding stops at the first entry flagged empty; a sample whose X marker is missing means the
    read was not aligned to a sample boundary and raises ValueError.
    """
    view = _buffer(raw, ADXL355_SAMPLE_BYTES, "ADXL355 FIFO block")
    samples = len(view) // ADXL355_SAMPLE_BYTES
    out = np.empty((samples, 3), dtype=np.float32)
    count = lib.eso_decode_adxl355(
        ffi.from_buffer("uint8_t[]", view), samples, float(scale), ffi.from_buffer("float[]", out)
    )
    if count < 0:
        raise ValueError(
            f"ADXL355 FIFO block: sample {-count - 1} has no X-axis marker; "
            "the FIFO read was not aligned to a sample"
        )
    return out[:count]


def decode_be24(
    raw: bytes | bytearray | memoryview,
    scales: Sequence[float],
    frame_words: int,
    first_word: int = 0,
) -> np.ndarray:
    """Frames of 24-bit two's-complement BE words -> (frames, len(scales)) float32.

    `frame_words` words per frame; the channels are the len(scales) words from `first_word` on
    (an ADS131M04 frame is status, 4 channels, CRC: frame_words=6, first_word=1).
    """
    channels = len(scales)
    if channels == 0 or first_word < 0 or first_word + channels > frame_words:
        raise ValueError(
            f"{channels} channels from word {first_word} do not fit a frame of {frame_words} words"
        )
    view = _buffer(raw, BE24_WORD_BYTES * frame_words, "24-bit frame block")
    frames = len(view) // (BE24_WORD_BYTES * frame_words)
    out = np.empty((frames, channels), dtype=np.float32)
    scale_array = np.asarray(scales, dtype=np.float64)
    lib.eso_decode_be24(
        ffi.from_buffer("uint8_t[]", view),
        frames,
        frame_words,
        first_word,
        channels,
        ffi.from_buffer("double[]", scale_array),
        ffi.from_buffer("float[]", out),
    )
    return out
