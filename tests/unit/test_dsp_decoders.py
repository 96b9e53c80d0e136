"""Decoders from raw FIFO bytes, against bytes built here with struct from the datasheet
layouts (not from the decoder's own code)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dsp_ext import (
    adxl355_scale,
    decode_adxl355,
    decode_be24,
    decode_iis3dwb,
    iis3dwb_scale,
)

G = 9.80665

# --- IIS3DWB: 7-byte words, tag byte (sensor tag in bits 7..3), X, Y, Z int16 little-endian ----

TAG_ACCEL, TAG_TEMPERATURE, TAG_TIMESTAMP, TAG_CONFIG = 0x02, 0x03, 0x04, 0x05
INT16_EDGES = [0x7FFF, -0x8000, -1, 0, 1, 0x7FFE, -0x7FFF, 12345, -12345]


def iis3dwb_word(tag: int, x: int, y: int, z: int, low_bits: int = 0) -> bytes:
    """Bits 2..1 of the tag byte are a rolling counter and bit 0 a parity bit: not data."""
    return struct.pack("<Bhhh", (tag << 3) | (low_bits & 0x07), x, y, z)


def test_iis3dwb_sign_edges_and_scale():
    scale = iis3dwb_scale(4)
    words = [
        (v, INT16_EDGES[(i + 3) % 9], INT16_EDGES[(i + 6) % 9]) for i, v in enumerate(INT16_EDGES)
    ]
    raw = b"".join(iis3dwb_word(TAG_ACCEL, *w, low_bits=i) for i, w in enumerate(words))
    samples, skipped = decode_iis3dwb(raw, scale)
    assert skipped == 0
    assert samples.dtype == np.float32 and samples.shape == (len(words), 3)
    want = (np.array(words, dtype=np.float64) * scale).astype(np.float32)
    np.testing.assert_array_equal(samples, want)
    # the extremes: +32767 and -32768 counts, i.e. just under +4 g and exactly -4 g nominal
    assert samples[0, 0] == np.float32(32767 * scale) and samples[0, 0] > 0
    assert samples[1, 0] == np.float32(-32768 * scale) and samples[1, 0] < 0


def test_iis3dwb_skips_and_counts_other_tags():
    raw = b"".join(
        [
            iis3dwb_word(TAG_TIMESTAMP, 1000, 2000, 3000),
            iis3dwb_word(TAG_ACCEL, 100, -200, 300),
            iis3dwb_word(TAG_TEMPERATURE, 0x7FFF, 0, 0),
            iis3dwb_word(TAG_ACCEL, -1, 0, 1, low_bits=0b111),
            iis3dwb_word(TAG_CONFIG, 5, 5, 5),
            iis3dwb_word(0x1F, 5, 5, 5),  # an unknown tag is not an acceleration either
        ]
    )
    samples, skipped = decode_iis3dwb(raw, 1.0)
    assert skipped == 4
    np.testing.assert_array_equal(samples, [[100, -200, 300], [-1, 0, 1]])


def test_iis3dwb_empty_and_all_skipped_blocks():
    samples, skipped = decode_iis3dwb(b"", 1.0)
    assert samples.shape == (0, 3) and skipped == 0
    samples, skipped = decode_iis3dwb(iis3dwb_word(TAG_TIMESTAMP, 1, 2, 3) * 3, 1.0)
    assert samples.shape == (0, 3) and skipped == 3


@pytest.mark.parametrize("length", [1, 6, 8, 13, 7 * 10 + 3])
def test_iis3dwb_partial_word_raises(length):
    with pytest.raises(ValueError, match=r"7-byte"):
        decode_iis3dwb(bytes(length), 1.0)


def test_iis3dwb_accepts_bytearray_memoryview_and_uint8_array():
    raw = iis3dwb_word(TAG_ACCEL, 1, 2, 3) + iis3dwb_word(TAG_ACCEL, -4, -5, -6)
    want, _ = decode_iis3dwb(raw, 0.5)
    for form in (bytearray(raw), memoryview(raw), np.frombuffer(raw, dtype=np.uint8)):
        got, _ = decode_iis3dwb(form, 0.5)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("range_g, mg_per_lsb", [(2, 0.061), (4, 0.122), (8, 0.244), (16, 0.488)])
def test_iis3dwb_scale_is_datasheet_sensitivity(range_g, mg_per_lsb):
    assert iis3dwb_scale(range_g) == pytest.approx(mg_per_lsb * 1e-3 * G, rel=1e-12)
    # full scale reaches the range (within the datasheet's rounding of the sensitivity)
    assert 32767 * iis3dwb_scale(range_g) == pytest.approx(range_g * G, rel=0.01)


# --- ADXL355: 9 bytes per sample, X, Y, Z 20-bit left-justified big-endian in 3 bytes ---------

INT20_EDGES = [0x7FFFF, -0x80000, -1, 0, 1, 0x7FFFE, -0x7FFFF, 123456, -123456]
X_MARKER, EMPTY = 0x01, 0x02


def adxl355_axis(value: int, flags: int = 0, junk: int = 0) -> bytes:
    """20-bit two's complement, left-justified: bits 19..12, 11..4, then 3..0 in the high
    nibble of the third byte; the low nibble holds flags (X marker, empty) and reserved bits."""
    u = value & 0xFFFFF
    return bytes(
        [(u >> 12) & 0xFF, (u >> 4) & 0xFF, ((u & 0xF) << 4) | (flags & 0x3) | (junk & 0xC)]
    )


def adxl355_sample(x: int, y: int, z: int, flags: int = X_MARKER, junk: int = 0) -> bytes:
    return adxl355_axis(x, flags, junk) + adxl355_axis(y, 0, junk) + adxl355_axis(z, 0, junk)


def test_adxl355_sign_edges_and_scale():
    scale = adxl355_scale(2)
    rows = [
        (v, INT20_EDGES[(i + 4) % 9], INT20_EDGES[(i + 7) % 9]) for i, v in enumerate(INT20_EDGES)
    ]
    raw = b"".join(adxl355_sample(*r, junk=0xC if i % 2 else 0) for i, r in enumerate(rows))
    samples = decode_adxl355(raw, scale)
    assert samples.dtype == np.float32 and samples.shape == (len(rows), 3)
    np.testing.assert_array_equal(
        samples, (np.array(rows, dtype=np.float64) * scale).astype(np.float32)
    )
    assert samples[0, 0] > 0 and samples[1, 0] < 0


def test_adxl355_stops_at_the_first_empty_entry():
    raw = (
        adxl355_sample(1, 2, 3)
        + adxl355_sample(-4, -5, -6)
        + adxl355_sample(0, 0, 0, flags=EMPTY)  # FIFO ran empty here (no X marker needed)
        + adxl355_sample(7, 8, 9)  # stale bytes after it must not be decoded
    )
    samples = decode_adxl355(raw, 1.0)
    np.testing.assert_array_equal(samples, [[1, 2, 3], [-4, -5, -6]])
    assert decode_adxl355(adxl355_sample(1, 1, 1, flags=EMPTY | X_MARKER), 1.0).shape == (0, 3)


def test_adxl355_missing_x_marker_raises_with_the_sample_index():
    raw = adxl355_sample(1, 2, 3) + adxl355_sample(4, 5, 6, flags=0) + adxl355_sample(7, 8, 9)
    with pytest.raises(ValueError, match=r"sample 1 has no X-axis marker"):
        decode_adxl355(raw, 1.0)
    # a read that started one axis late: Y, Z, X, Y, ... -> the first "X" byte has no marker
    shifted = (adxl355_sample(1, 2, 3) * 3)[3:] + adxl355_axis(1, X_MARKER)
    with pytest.raises(ValueError, match="not aligned"):
        decode_adxl355(shifted, 1.0)


@pytest.mark.parametrize("length", [1, 3, 8, 10, 9 * 4 + 5])
def test_adxl355_partial_sample_raises(length):
    with pytest.raises(ValueError, match=r"9-byte"):
        decode_adxl355(bytes(length), 1.0)


def test_adxl355_empty_block():
    assert decode_adxl355(b"", 1.0).shape == (0, 3)


@pytest.mark.parametrize("range_g, ug_per_lsb", [(2, 3.9), (4, 7.8), (8, 15.6)])
def test_adxl355_scale_is_datasheet_sensitivity(range_g, ug_per_lsb):
    assert adxl355_scale(range_g) == pytest.approx(ug_per_lsb * 1e-6 * G, rel=1e-12)
    # 2^19 counts reach the nominal range (the datasheet rounds 256000 LSB/g to 3.9 ug)
    assert 0x7FFFF * adxl355_scale(range_g) == pytest.approx(range_g * G, rel=0.03)


@pytest.mark.parametrize("bad", [0, 1, 3, 32, "2", None])
def test_unknown_ranges_are_refused(bad):
    with pytest.raises(ValueError, match="range_g"):
        iis3dwb_scale(bad)
    with pytest.raises(ValueError, match="range_g"):
        adxl355_scale(bad)


def test_adxl355_has_no_16_g_range():
    with pytest.raises(ValueError, match="range_g"):
        adxl355_scale(16)


# --- 24-bit two's complement big-endian (ADS131M-class ADC) ----------------------------------

INT24_EDGES = [0x7FFFFF, -0x800000, -1, 0, 1, 0x7FFFFE, -0x7FFFFF, 4_000_000, -4_000_000]


def be24(value: int) -> bytes:
    return (value & 0xFFFFFF).to_bytes(3, "big")


def ads131m04_frame(status: int, channels: list[int], crc: int) -> bytes:
    """Status word, 4 channel words, CRC word (24-bit words)."""
    return be24(status) + b"".join(be24(v) for v in channels) + be24(crc)


def test_be24_sign_edges_with_per_channel_scales():
    scales = [1.0, 2.5e-7, -3.0, 1e-3]
    rows = [[INT24_EDGES[(i + j * 2) % 9] for j in range(4)] for i in range(9)]
    raw = b"".join(ads131m04_frame(0x0500 + i, row, 0xABCDEF) for i, row in enumerate(rows))
    samples = decode_be24(raw, scales, frame_words=6, first_word=1)
    assert samples.dtype == np.float32 and samples.shape == (9, 4)
    want = (np.array(rows, dtype=np.float64) * np.array(scales)).astype(np.float32)
    np.testing.assert_array_equal(samples, want)
    assert decode_be24(be24(0x7FFFFF), [1.0], 1)[0, 0] == 8388607
    assert decode_be24(be24(-0x800000), [1.0], 1)[0, 0] == -8388608


def test_be24_selects_the_channel_words_of_a_frame():
    raw = ads131m04_frame(0x111111, [10, 20, 30, 40], 0x222222) * 2
    np.testing.assert_array_equal(decode_be24(raw, [1.0, 1.0], 6, first_word=3), [[30, 40]] * 2)
    np.testing.assert_array_equal(decode_be24(raw, [1.0], 6, first_word=0), [[0x111111]] * 2)


@pytest.mark.parametrize("length", [1, 2, 17, 18 + 5])
def test_be24_partial_frame_raises(length):
    with pytest.raises(ValueError, match="18-byte"):
        decode_be24(bytes(length), [1.0] * 4, frame_words=6, first_word=1)


@pytest.mark.parametrize(
    "scales, frame_words, first_word",
    [([], 6, 1), ([1.0] * 4, 4, 1), ([1.0], 6, -1), ([1.0] * 7, 6, 0), ([1.0], 0, 0)],
)
def test_be24_channels_outside_the_frame_are_refused(scales, frame_words, first_word):
    with pytest.raises(ValueError, match="do not fit"):
        decode_be24(bytes(36), scales, frame_words, first_word)


def test_be24_empty_block():
    assert decode_be24(b"", [1.0, 1.0], 6, 1).shape == (0, 2)
