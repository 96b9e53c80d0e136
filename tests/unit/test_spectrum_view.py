"""What /spectrum/ and /telemetry/sensor/ make of spectra (runtime.api.routes.spectrum):
live snapshots first, the store's last snapshot before the first frame, fmax and peak-hold
decimation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from runtime.api.routes.spectrum import latest_spectra, spectrum_block, spectrum_summary
from runtime.catalog import SensorEntry
from runtime.live import LiveState, SpectrumSnapshot
from runtime.store import Store

T0 = 1_767_225_600.0
ACCEL = SensorEntry(
    "m1-accel", "Motor 1", "accel", "iis3dwb", "motor-1", 26667.0, ("x", "y"), {}, 1.0
)
TEMP = SensorEntry("m1-temp", "Temp", "temperature", "max31865", "motor-1", 1.0, (), {}, 1.0)


def _amplitudes(n=101):
    return (np.arange(n, dtype=np.float32) % 7) / 10


@pytest.fixture
def ctx(tmp_path):
    with Store(tmp_path) as store:
        store.add_spectrum("m1-accel", "x", T0, "spectrum", 2.0, _amplitudes(), [(10.0, 0.6)])
        store.add_spectrum("m1-accel", "x", T0, "envelope", 2.0, _amplitudes(), [(4.0, 0.5)])
    with Store(tmp_path, readonly=True) as reader:
        yield SimpleNamespace(live=LiveState(), store=reader)


def test_the_store_answers_until_the_first_live_frame(ctx):
    source, spectra = latest_spectra(ctx, ACCEL)
    assert source == "stored" and set(spectra) == {("x", "spectrum"), ("x", "envelope")}
    live = SpectrumSnapshot("m1-accel", "y", "spectrum", T0 + 5, 2.0, _amplitudes(), ())
    ctx.live.publish_spectrum(live)
    source, spectra = latest_spectra(ctx, ACCEL)
    assert source == "live" and spectra == {("y", "spectrum"): live}
    assert latest_spectra(ctx, TEMP) == ("stored", {})
    assert spectrum_summary(ctx, TEMP) is None


def test_summary_lists_the_strongest_peaks_first(ctx):
    peaks = [(10.0, 0.1), (20.0, 0.9), (30.0, 0.5), (40.0, 0.7)]
    ctx.live.publish_spectrum(
        SpectrumSnapshot("m1-accel", "x", "spectrum", T0, 2.0, _amplitudes(), tuple(peaks))
    )
    (summary,) = spectrum_summary(ctx, ACCEL, peaks=3)
    assert summary["axis"] == "x" and summary["envelope_peaks"] == []
    assert [p["frequency_hz"] for p in summary["peaks"]] == [20.0, 40.0, 30.0]


def test_fmax_and_peak_hold_decimation():
    amplitudes = np.random.default_rng(1).random(1001).astype(np.float32)
    snap = SpectrumSnapshot("s", "x", "spectrum", T0, 0.5, amplitudes, ((100.0, 1.0), (400, 2.0)))
    whole = spectrum_block(snap, None, None, frequencies=False, peaks=10)
    assert whole["n_bins"] == 1001 and whole["fmax_hz"] == 500.0 and whole["decimation"] == 1
    assert whole["amplitudes"] == pytest.approx(amplitudes.tolist(), rel=1e-5)

    cut = spectrum_block(snap, 200.0, None, frequencies=True, peaks=10)
    assert cut["n_bins"] == 401 and cut["fmax_hz"] == 200.0
    assert cut["frequencies"][:3] == [0.0, 0.5, 1.0] and cut["frequencies"][-1] == 200.0
    assert cut["peaks"] == [{"frequency_hz": 100.0, "amplitude": 1.0}]

    held = spectrum_block(snap, 200.0, 40, frequencies=False, peaks=10)
    step = held["decimation"]
    assert step == 11 and held["n_bins"] == 37 <= 40
    assert held["bin_width_hz"] == 0.5 * step
    expected = [
        float(f"{amplitudes[i : min(i + step, 401)].max():.6g}") for i in range(0, 401, step)
    ]
    assert held["amplitudes"] == expected
