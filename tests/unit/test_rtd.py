"""dsp_ext.rtd: Callendar-Van Dusen both ways and MAX31865 payloads."""

from __future__ import annotations

import numpy as np
import pytest

from dsp_ext.rtd import (
    celsius_to_code,
    codes_to_ohms,
    max31865_codes,
    max31865_fault_bits,
    max31865_to_celsius,
    rtd_resistance,
    rtd_temperature,
)

# IEC 60751 table values for a PT100 (ohm).
TABLE = [
    (-200, 18.52),
    (-100, 60.26),
    (-40, 84.27),
    (0, 100.00),
    (100, 138.51),
    (300, 212.05),
    (850, 390.48),
]


@pytest.mark.parametrize(("celsius", "ohms"), TABLE)
def test_pt100_table(celsius, ohms):
    assert rtd_resistance(celsius) == pytest.approx(ohms, abs=0.006)
    assert rtd_temperature(ohms) == pytest.approx(celsius, abs=0.02)


def test_round_trip_pt100_and_pt1000_vectorised():
    t = np.linspace(-200, 850, 2101)
    for r0 in (100.0, 1000.0):
        back = rtd_temperature(rtd_resistance(t, r0), r0)
        assert np.abs(back - t).max() < 1e-9


def test_payload_to_celsius():
    r_ref = 430.0
    codes = [celsius_to_code(c, r_ref) for c in (0.0, 25.0, 100.0)]
    payload = b"".join(
        ((c << 1) | f).to_bytes(2, "big") for c, f in zip(codes, (0, 0, 1), strict=True)
    )
    assert list(max31865_codes(payload)) == codes
    assert list(max31865_fault_bits(payload)) == [False, False, True]
    temps = max31865_to_celsius(payload, r_ref)
    assert temps == pytest.approx([0.0, 25.0, 100.0], abs=0.04)
    assert codes_to_ohms(16384, r_ref) == pytest.approx(215.0)
