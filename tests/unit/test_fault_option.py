"""--fault MACHINE:KIND:SEVERITY@OFFSET[-END][~RAMP]."""

from __future__ import annotations

import pytest

from runtime.errors import UsageError
from runtime.fault_option import FaultSpec, parse_fault


def test_start_end_and_ramp():
    assert parse_fault("motor-2:bearing_outer:0.6@10m-20m~30s") == FaultSpec(
        "motor-2", "bearing_outer", 0.6, 600.0, 30.0, 1200.0
    )
    assert parse_fault("motor-1:imbalance:0.5@30s").end_s is None


@pytest.mark.parametrize("text", ["motor-1:imbalance:0.5@20m-10m", "motor-1:imbalance:0.5@1m-1m"])
def test_an_end_before_the_start_is_refused(text):
    with pytest.raises(UsageError, match="end must come after the start"):
        parse_fault(text)
