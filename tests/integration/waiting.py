"""Waiting for a running device to reach a state, always with a bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL_S = 0.25


def wait_until(check: Callable[[], Any], timeout: float = 60) -> Any:
    """The first truthy answer of `check`, asked every POLL_S until `timeout` (then an
    AssertionError saying so)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(POLL_S)
