"""ISO 20816-3 evaluation zones for broadband vibration velocity (r.m.s., mm/s, 10-1000 Hz)
measured on the bearing housings of industrial machines above 15 kW.

Zone A: newly commissioned machines. B: fine for unrestricted long-term operation. C: not
suitable for long-term continuous operation (plan an inspection). D: severe enough to damage
the machine.

Boundary values (A/B, B/C, C/D in mm/s) of ISO 20816-3:2022, Annex A, which are the same as
those of ISO 10816-3:2009, Tables A.1 and A.2:

    group 1 (large: 300 kW - 50 MW, shaft height >= 315 mm)    rigid    2.3   4.5   7.1
                                                               flexible 3.5   7.1  11.0
    group 2 (medium: 15 - 300 kW, shaft height 160 - 315 mm)   rigid    1.4   2.8   4.5
                                                               flexible 2.3   4.5   7.1

The device also accepts groups 3 and 4 of the first edition (ISO 10816-3:1998), which covered
pumps with a multivane impeller above 15 kW before they moved to ISO 10816-7: group 3 (separate
driver) had the boundaries of group 1 and group 4 (integrated driver) those of group 2, so the
table maps them that way.

A foundation is "flexible" when the lowest natural frequency of machine and support in the
measuring direction is below the main excitation frequency (usually the running speed) by
more than 25 %; otherwise "rigid".
"""

from __future__ import annotations

from typing import Literal

Zone = Literal["A", "B", "C", "D"]
Foundation = Literal["rigid", "flexible"]

_BOUNDARIES: dict[tuple[int, str], tuple[float, float, float]] = {
    (1, "rigid"): (2.3, 4.5, 7.1),
    (1, "flexible"): (3.5, 7.1, 11.0),
    (2, "rigid"): (1.4, 2.8, 4.5),
    (2, "flexible"): (2.3, 4.5, 7.1),
}
# ISO 10816-3:1998 pump groups -> the 20816-3 group with the same boundaries.
_SAME_AS = {1: 1, 2: 2, 3: 1, 4: 2}


def boundaries(group: int, foundation: str) -> tuple[float, float, float]:
    """(A/B, B/C, C/D) in mm/s r.m.s. for a machine group (1-4) and foundation."""
    try:
        return _BOUNDARIES[(_SAME_AS[group], foundation)]
    except KeyError:
        raise ValueError(
            f"no ISO 20816-3 zones for group {group!r} on a {foundation!r} foundation "
            "(groups 1-4, foundation rigid or flexible)"
        ) from None


def zone(value: float, group: int, foundation: str) -> Zone:
    """The zone of a velocity r.m.s. value; a value on a boundary belongs to the upper zone
    (the same rule the alert levels use: reaching a level raises it)."""
    ab, bc, cd = boundaries(group, foundation)
    if value >= cd:
        return "D"
    if value >= bc:
        return "C"
    if value >= ab:
        return "B"
    return "A"
