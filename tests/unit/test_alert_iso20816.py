"""ISO 20816-3 zone boundaries: the table, and values just either side of every boundary."""

from __future__ import annotations

import pytest

from runtime.alerts.iso20816 import boundaries, zone

TABLE = {
    (1, "rigid"): (2.3, 4.5, 7.1),
    (1, "flexible"): (3.5, 7.1, 11.0),
    (2, "rigid"): (1.4, 2.8, 4.5),
    (2, "flexible"): (2.3, 4.5, 7.1),
    # ISO 10816-3:1998 pump groups: 3 like group 1, 4 like group 2.
    (3, "rigid"): (2.3, 4.5, 7.1),
    (3, "flexible"): (3.5, 7.1, 11.0),
    (4, "rigid"): (1.4, 2.8, 4.5),
    (4, "flexible"): (2.3, 4.5, 7.1),
}
EPS = 1e-6


@pytest.mark.parametrize(("group", "foundation"), sorted(TABLE))
def test_boundaries_match_the_standard(group: int, foundation: str) -> None:
    assert boundaries(group, foundation) == TABLE[(group, foundation)]


@pytest.mark.parametrize(("group", "foundation"), sorted(TABLE))
def test_values_either_side_of_each_boundary(group: int, foundation: str) -> None:
    ab, bc, cd = TABLE[(group, foundation)]
    assert zone(0.0, group, foundation) == "A"
    assert zone(ab - EPS, group, foundation) == "A"
    assert zone(ab, group, foundation) == "B"  # a boundary belongs to the upper zone
    assert zone(ab + EPS, group, foundation) == "B"
    assert zone(bc - EPS, group, foundation) == "B"
    assert zone(bc + EPS, group, foundation) == "C"
    assert zone(cd - EPS, group, foundation) == "C"
    assert zone(cd + EPS, group, foundation) == "D"
    assert zone(100.0, group, foundation) == "D"


@pytest.mark.parametrize(("group", "foundation"), [(0, "rigid"), (5, "rigid"), (2, "soft")])
def test_unknown_group_or_foundation_is_refused(group: int, foundation: str) -> None:
    with pytest.raises(ValueError, match="groups 1-4"):
        boundaries(group, foundation)
