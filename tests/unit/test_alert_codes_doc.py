"""docs/alerts.md documents exactly the alert types and codes the device uses."""

from __future__ import annotations

import re
from pathlib import Path

from runtime.alerts.types import ALERT_TYPE, ALERT_TYPES, NO_ALERT_CODE, alert_code

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
ROW = re.compile(r"^\| (\d+) \| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|$")


def documented() -> list[tuple[int, str, str, str]]:
    rows = []
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            code, name, title, action = match.groups()
            rows.append((int(code), name, title.strip(), action.strip()))
    return rows


def test_the_code_table_in_the_docs_is_the_one_in_the_code():
    assert documented() == [(t.code, t.name, t.title, t.recommended_action) for t in ALERT_TYPES]


def test_codes_and_names_are_unique_and_never_zero():
    codes = [t.code for t in ALERT_TYPES]
    assert len(set(codes)) == len(codes)
    assert len(ALERT_TYPE) == len(ALERT_TYPES)
    assert NO_ALERT_CODE not in codes
    assert alert_code("bearing_outer_race") == 130
