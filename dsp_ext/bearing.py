"""Rolling-element bearing defect frequencies from geometry and shaft speed.

Standard kinematic formulas (no slip), with r = (ball diameter / pitch diameter) * cos(contact
angle) and fr the shaft frequency in Hz:
    FTF  = fr / 2 * (1 - r)                      cage (fundamental train)
    BPFO = n * fr / 2 * (1 - r)                  ball pass, outer race
    BPFI = n * fr / 2 * (1 + r)                  ball pass, inner race
    BSF  = pitch / (2 * ball) * fr * (1 - r^2)   ball spin (a ball defect shows at 2 x BSF too)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BearingGeometry:
    """Geometry as printed in a bearing catalogue; diameters in mm, contact angle in degrees."""

    balls: int
    ball_diameter_mm: float
    pitch_diameter_mm: float
    contact_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.balls, int) or self.balls < 3:
            raise ValueError(f"balls: must be an integer of at least 3, got {self.balls!r}")
        if not 0 < self.ball_diameter_mm < self.pitch_diameter_mm:
            raise ValueError(
                "ball_diameter_mm must be positive and smaller than pitch_diameter_mm, got "
                f"{self.ball_diameter_mm!r} and {self.pitch_diameter_mm!r}"
            )
        if not 0 <= self.contact_angle_deg < 90:
            raise ValueError(
                f"contact_angle_deg: must be from 0 to below 90, got {self.contact_angle_deg!r}"
            )


@dataclass(frozen=True)
class DefectFrequencies:
    """Defect frequencies in Hz for one shaft speed."""

    shaft: float
    ftf: float
    bpfo: float
    bpfi: float
    bsf: float

    def as_dict(self) -> dict[str, float]:
        return {
            "shaft": self.shaft,
            "ftf": self.ftf,
            "bpfo": self.bpfo,
            "bpfi": self.bpfi,
            "bsf": self.bsf,
        }


# Widely published geometry of two deep-groove ball bearings (balls, ball and pitch diameter in
# mm). Other bearings: enter the geometry from the manufacturer's data sheet.
COMMON_BEARINGS: dict[str, BearingGeometry] = {
    "6203": BearingGeometry(8, 6.747, 28.5),
    "6205": BearingGeometry(9, 7.938, 39.04),
}


def bearing_frequencies(geometry: BearingGeometry, shaft_hz: float) -> DefectFrequencies:
    """Defect frequencies of `geometry` at `shaft_hz` (shaft rotation frequency, Hz)."""
    if not shaft_hz > 0 or math.isinf(shaft_hz):
        raise ValueError(f"shaft_hz: must be a positive frequency in Hz, got {shaft_hz!r}")
    r = geometry.ball_diameter_mm / geometry.pitch_diameter_mm
    r *= math.cos(math.radians(geometry.contact_angle_deg))
    n = geometry.balls
    return DefectFrequencies(
        shaft=shaft_hz,
        ftf=shaft_hz / 2 * (1 - r),
        bpfo=n * shaft_hz / 2 * (1 - r),
        bpfi=n * shaft_hz / 2 * (1 + r),
        bsf=geometry.pitch_diameter_mm / (2 * geometry.ball_diameter_mm) * shaft_hz * (1 - r * r),
    )
