"""Bearing defect frequencies and envelope analysis of a synthetic outer-race fault."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsp_ext import (
    COMMON_BEARINGS,
    AnalysisSettings,
    Analyzer,
    BearingGeometry,
    bearing_frequencies,
    reference,
)

# --- defect frequency formulas ----------------------------------------------------------------


def test_hand_computed_geometry():
    """12 balls of 10 mm on a 50 mm pitch at 60°: r = 10/50 * cos 60° = 0.1 exactly, so
    FTF = fr/2 * 0.9, BPFO = 12 fr/2 * 0.9, BPFI = 12 fr/2 * 1.1, BSF = 50/20 * fr * 0.99."""
    fr = 30.0
    f = bearing_frequencies(BearingGeometry(12, 10.0, 50.0, 60.0), fr)
    assert f.shaft == fr
    assert f.ftf == pytest.approx(0.45 * fr, rel=1e-12)
    assert f.bpfo == pytest.approx(5.4 * fr, rel=1e-12)
    assert f.bpfi == pytest.approx(6.6 * fr, rel=1e-12)
    assert f.bsf == pytest.approx(2.475 * fr, rel=1e-12)
    assert f.as_dict() == {"shaft": fr, "ftf": f.ftf, "bpfo": f.bpfo, "bpfi": f.bpfi, "bsf": f.bsf}


@pytest.mark.parametrize(
    "designation, bpfo, bpfi, ftf, two_bsf",
    [
        # Multiples of shaft speed published with the Case Western Reserve University bearing
        # data set for the SKF 6205-2RS JEM (drive end) and 6203-2RS JEM (fan end) bearings;
        # their "ball spin" column is 2 x BSF (a ball defect hits both races).
        ("6205", 3.5848, 5.4152, 0.39828, 4.7135),
        ("6203", 3.0530, 4.9469, 0.3817, 3.9874),
    ],
)
def test_common_bearings_match_published_multiples(designation, bpfo, bpfi, ftf, two_bsf):
    f = bearing_frequencies(COMMON_BEARINGS[designation], 1.0)
    # catalogue diameters are rounded to 0.01 mm / 0.001 in: 0.1 %
    assert f.bpfo == pytest.approx(bpfo, rel=1e-3)
    assert f.bpfi == pytest.approx(bpfi, rel=1e-3)
    assert f.ftf == pytest.approx(ftf, rel=1e-3)
    assert 2 * f.bsf == pytest.approx(two_bsf, rel=1e-3)


def test_6205_at_1480_rpm_by_hand():
    """fr = 1480/60 = 24.667 Hz, r = 7.938/39.04 = 0.20333:
    BPFO = 4.5 * 24.667 * 0.79667 = 88.43 Hz, BPFI = 4.5 * 24.667 * 1.20333 = 133.57 Hz."""
    f = bearing_frequencies(COMMON_BEARINGS["6205"], 1480 / 60)
    assert f.bpfo == pytest.approx(88.43, abs=0.01)
    assert f.bpfi == pytest.approx(133.57, abs=0.01)
    assert f.ftf == pytest.approx(9.826, abs=0.001)
    assert f.bsf == pytest.approx(58.15, abs=0.01)


def test_relations_between_defect_frequencies():
    """BPFO + BPFI = balls * fr, BPFO = balls * FTF (no slip), all linear in speed; a contact
    angle lowers BPFI and raises BPFO."""
    g = BearingGeometry(9, 7.938, 39.04, 0.0)
    for fr in (1.0, 24.5, 300.0):
        f = bearing_frequencies(g, fr)
        assert f.bpfo + f.bpfi == pytest.approx(9 * fr, rel=1e-12)
        assert f.bpfo == pytest.approx(9 * f.ftf, rel=1e-12)
    f1, f2 = bearing_frequencies(g, 10.0), bearing_frequencies(g, 20.0)
    assert f2.bsf == pytest.approx(2 * f1.bsf, rel=1e-12)
    angled = bearing_frequencies(BearingGeometry(9, 7.938, 39.04, 40.0), 10.0)
    assert angled.bpfo > f1.bpfo and angled.bpfi < f1.bpfi
    r = 7.938 / 39.04 * math.cos(math.radians(40.0))
    assert angled.bpfo == pytest.approx(4.5 * 10.0 * (1 - r), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"balls": 2, "ball_diameter_mm": 5.0, "pitch_diameter_mm": 30.0}, "balls"),
        ({"balls": 9.0, "ball_diameter_mm": 5.0, "pitch_diameter_mm": 30.0}, "balls"),
        ({"balls": 9, "ball_diameter_mm": 0.0, "pitch_diameter_mm": 30.0}, "ball_diameter"),
        ({"balls": 9, "ball_diameter_mm": 40.0, "pitch_diameter_mm": 30.0}, "pitch_diameter"),
        (
            {
                "balls": 9,
                "ball_diameter_mm": 5.0,
                "pitch_diameter_mm": 30.0,
                "contact_angle_deg": 90,
            },
            "contact_angle",
        ),
    ],
)
def test_invalid_geometry_is_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        BearingGeometry(**kwargs)


@pytest.mark.parametrize("speed", [0.0, -5.0, float("nan"), float("inf")])
def test_invalid_shaft_speed_is_refused(speed):
    with pytest.raises(ValueError, match="shaft_hz"):
        bearing_frequencies(COMMON_BEARINGS["6205"], speed)


# --- envelope analysis of an outer-race fault --------------------------------------------------

FS = 26667.0
RPM = 1480.0


def bearing_signal(n: int, fault: bool, seed: int = 3) -> tuple[np.ndarray, float]:
    """A motor at 1480 rpm with imbalance (1x, 2x) and, with `fault`, impacts at BPFO of its
    6205 bearing ringing a 4.2 kHz structural resonance (damping ratio ~6 %), in noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    shaft = RPM / 60
    bpfo = bearing_frequencies(COMMON_BEARINGS["6205"], shaft).bpfo
    x = 2.0 * np.sin(2 * np.pi * shaft * t) + 0.6 * np.sin(2 * np.pi * 2 * shaft * t + 0.4)
    x += rng.normal(0.0, 0.4, n)
    if fault:
        impacts = np.zeros(n)
        # impact times rounded to the sample grid, as a real sensor samples them
        impacts[np.round(np.arange(0.0, n / FS, 1 / bpfo) * FS).astype(int) % n] = 1.0
        ring_t = np.arange(int(0.004 * FS)) / FS
        ring = np.exp(-1600.0 * ring_t) * np.sin(2 * np.pi * 4200.0 * ring_t)
        x += 8.0 * np.convolve(impacts, ring)[:n]
    return x.astype(np.float32), bpfo


@pytest.mark.parametrize("window", ["hann", "flattop"])
@pytest.mark.parametrize("n", [16384, 65536])
def test_outer_race_fault_shows_bpfo_as_largest_envelope_peak(n, window):
    settings = AnalysisSettings(fs=FS, n=n, window=window)
    resolved = settings.resolved()
    # the default envelope band holds the resonance and not the shaft tones
    assert resolved.envelope_band[0] <= 4200.0 <= resolved.envelope_band[1]
    assert resolved.envelope_band[0] > 2 * RPM / 60
    x, bpfo = bearing_signal(n, fault=True)
    r = Analyzer(settings).analyze(x)
    df = FS / n
    assert abs(r.envelope_peaks[0, 0, 0] - bpfo) <= df
    # its harmonics are there too: 2x BPFO among the envelope peaks
    assert np.min(np.abs(r.envelope_peaks[0, :, 0] - 2 * bpfo)) <= df
    # the plain spectrum is dominated by the shaft, not by the fault
    assert abs(r.metric("dominant_freq")[0] - RPM / 60) <= df
    # the reference agrees on the diagnosis
    ref = reference.analyze(settings, x)
    assert abs(ref.envelope_peaks[0, 0, 0] - bpfo) <= df


def test_healthy_bearing_has_no_bpfo_line():
    """Same machine without the impacts: the envelope spectrum near BPFO is noise, many times
    below the faulty one's line."""
    n = 65536
    settings = AnalysisSettings(fs=FS, n=n)
    analyzer = Analyzer(settings)
    faulty, bpfo = bearing_signal(n, fault=True)
    healthy, _ = bearing_signal(n, fault=False)
    r_faulty = analyzer.analyze(faulty)
    r_healthy = analyzer.analyze(healthy)
    k = round(bpfo / settings.bin_width)
    near = slice(k - 2, k + 3)
    assert (
        r_faulty.envelope_spectrum[0, near].max() > 10 * r_healthy.envelope_spectrum[0, near].max()
    )
    assert abs(r_healthy.envelope_peaks[0, 0, 0] - bpfo) > 2 * settings.bin_width
