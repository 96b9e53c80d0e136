"""Default ports of the device's servers: the standard (privileged) port when this process may
bind it (a board service, root or CAP_NET_BIND_SERVICE), otherwise a documented fallback, so a
developer's `esocore run` works without privileges."""

from __future__ import annotations

import socket


def standard_or_fallback(host: str, standard: int, fallback: int) -> int:
    """`standard` if a socket can be bound to it on `host` now, else `fallback`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, standard))
        except OSError:
            return fallback
    return standard
