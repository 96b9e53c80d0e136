"""The servers' default port: the standard one when it can be bound, else the fallback."""

from __future__ import annotations

import socket

from runtime.ports import standard_or_fallback


def test_a_free_standard_port_is_taken_and_a_busy_one_falls_back():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        assert standard_or_fallback("127.0.0.1", busy, 5020) == 5020
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert standard_or_fallback("127.0.0.1", free, 5020) == free
