"""Decoders from a driver's RawBlock to engineering units, one bulk dsp_ext call per block.

The runtime never needs to know chips: `SensorInfo.decode(block)` gives (n, channels) float32
in the sensor's unit, whichever chip made the block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from drivers.ads131m04 import regs as ads_regs
from drivers.hal import RawBlock
from dsp_ext import adxl355_scale, decode_adxl355, decode_be24, decode_iis3dwb, iis3dwb_scale
from dsp_ext.rtd import max31865_to_celsius

from .model import SensorSpec

Decoder = Callable[[RawBlock], np.ndarray]


def adc_scale(s: SensorSpec) -> float:
    """Engineering units per LSB of an ADS131M04 channel: volts per LSB at the channel's gain
    times the transducer's units per volt (a clamp CT's A/V, 1000/R_shunt for mA)."""
    volts = ads_regs.REFERENCE_V / (1 << 23) / int(s.gain or 1)
    return volts * float(s.units_per_volt or 1.0)


def _iis3dwb(block: RawBlock) -> np.ndarray:
    samples, _skipped = decode_iis3dwb(block.payload, iis3dwb_scale(int(block.full_scale)))
    return samples


def _adxl355(block: RawBlock) -> np.ndarray:
    return decode_adxl355(block.payload, adxl355_scale(int(block.full_scale)))


def sensor_decoder(s: SensorSpec) -> Decoder:
    """Decoder for the blocks of the sensor's own driver (board.sensors[s.id])."""
    if s.chip == "iis3dwb":
        return _iis3dwb
    if s.chip == "adxl355":
        return _adxl355
    if s.chip == "max31865":
        r_ref, r0 = float(s.r_ref or 430.0), float(s.r0 or 100.0)

        def rtd(block: RawBlock) -> np.ndarray:
            return max31865_to_celsius(block.payload, r_ref, r0).astype(np.float32)[:, None]

        return rtd
    scale = [adc_scale(s)]
    first = 1 + int(s.channel or 0)

    def channel(block: RawBlock) -> np.ndarray:
        return decode_be24(block.payload, scale, ads_regs.FRAME_WORDS, first)

    return channel


def chip_decoder(chip: str, scales: Sequence[float]) -> Decoder:
    """Decoder of a whole ADS131M04 frame block: (n, 4) with per-channel scales."""
    if chip != "ads131m04":
        raise ValueError(f"no whole-chip decoder for {chip!r}")
    scales = list(scales)

    def frames(block: RawBlock) -> np.ndarray:
        return decode_be24(block.payload, scales, ads_regs.FRAME_WORDS, 1)

    return frames
