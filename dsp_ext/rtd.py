"""Platinum RTD temperature from MAX31865-class conversions (pure numpy, imports nothing of ours).

A MAX31865 measures the RTD against a reference resistor Rref as a 15-bit ratio:
    R_rtd = code * Rref / 2^15
and the temperature follows the Callendar-Van Dusen equation of IEC 60751 (alpha = 0.00385):
    R(T) = R0 (1 + A T + B T^2)                    for T >= 0 °C
    R(T) = R0 (1 + A T + B T^2 + C (T - 100) T^3)  for T <  0 °C
with A = 3.9083e-3, B = -5.775e-7, C = -4.183e-12. Above 0 °C the quadratic is solved exactly;
below, Newton's method refines it (a few iterations reach float64 precision).
"""

from __future__ import annotations

import numpy as np

CVD_A = 3.9083e-3
CVD_B = -5.775e-7
CVD_C = -4.183e-12
CODE_FULL_SCALE = 1 << 15
PT100 = 100.0
PT1000 = 1000.0


def rtd_resistance(celsius: float | np.ndarray, r0: float = PT100) -> float | np.ndarray:
    """RTD resistance (ohm) at `celsius` by Callendar-Van Dusen."""
    t = np.asarray(celsius, dtype=np.float64)
    r = 1.0 + CVD_A * t + CVD_B * t * t
    r = np.where(t < 0.0, r + CVD_C * (t - 100.0) * t**3, r)
    out = r0 * r
    return float(out) if out.ndim == 0 else out


def rtd_temperature(ohms: float | np.ndarray, r0: float = PT100) -> float | np.ndarray:
    """Temperature (°C) of an RTD reading `ohms` (inverse Callendar-Van Dusen)."""
    ratio = np.asarray(ohms, dtype=np.float64) / r0
    disc = CVD_A * CVD_A - 4.0 * CVD_B * (1.0 - ratio)
    t = (-CVD_A + np.sqrt(np.maximum(disc, 0.0))) / (2.0 * CVD_B)
    cold = ratio < 1.0
    if np.any(cold):
        tc = t[cold] if t.ndim else t
        rc = ratio[cold] if ratio.ndim else ratio
        for _ in range(8):
            f = 1.0 + CVD_A * tc + CVD_B * tc**2 + CVD_C * (tc - 100.0) * tc**3 - rc
            df = CVD_A + 2.0 * CVD_B * tc + CVD_C * (4.0 * tc**3 - 300.0 * tc**2)
            tc = tc - f / df
        if t.ndim:
            t = t.copy()
            t[cold] = tc
        else:
            t = tc
    return float(t) if np.ndim(t) == 0 else t


def max31865_codes(payload: bytes | bytearray | memoryview) -> np.ndarray:
    """15-bit RTD codes from RTD MSB/LSB register pairs (2 bytes each, fault bit D0 dropped)."""
    raw = np.frombuffer(bytes(payload), dtype=">u2")
    return (raw >> 1).astype(np.int32)


def max31865_fault_bits(payload: bytes | bytearray | memoryview) -> np.ndarray:
    """The fault flag (D0 of the LSB) of each register pair, as booleans."""
    raw = np.frombuffer(bytes(payload), dtype=">u2")
    return (raw & 1).astype(bool)


def codes_to_ohms(codes: np.ndarray | int, r_ref: float) -> np.ndarray | float:
    return np.asarray(codes, dtype=np.float64) * (r_ref / CODE_FULL_SCALE)


def ohms_to_code(ohms: float, r_ref: float) -> int:
    """The 15-bit code a MAX31865 gives for `ohms` (clamped to 0..32767)."""
    return int(min(CODE_FULL_SCALE - 1, max(0, round(ohms / r_ref * CODE_FULL_SCALE))))


def celsius_to_code(celsius: float, r_ref: float, r0: float = PT100) -> int:
    """The 15-bit code for `celsius` (fault thresholds are set this way)."""
    return ohms_to_code(float(rtd_resistance(celsius, r0)), r_ref)


def max31865_to_celsius(
    payload: bytes | bytearray | memoryview, r_ref: float, r0: float = PT100
) -> np.ndarray:
    """Temperatures (°C, float64) of a MAX31865 RawBlock payload."""
    ohms = codes_to_ohms(max31865_codes(payload), r_ref)
    return np.atleast_1d(rtd_temperature(ohms, r0))
