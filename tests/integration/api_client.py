"""A keep-alive HTTPS client for the API tests: one TLS handshake per module rather than per
request, and closed before the device stops, as a well-behaved integrator's client is."""

from __future__ import annotations

import requests

from .device_server import RunningDevice


class Api:
    def __init__(self, running: RunningDevice, role: str = "read-only") -> None:
        self.running = running
        self.role = role
        self.session = running.session(role)

    @property
    def base_url(self) -> str:
        return self.running.base_url

    def get(self, path: str, role: str | None = "read-only", **kwargs) -> requests.Response:
        """GET base_url + path (or an absolute URL, e.g. from a Link header)."""
        url = path if path.startswith("https://") else self.base_url + path
        if role != self.role:
            with self.running.session(role) as other:
                return other.get(url, timeout=30, **kwargs)
        return self.session.get(url, timeout=30, **kwargs)

    def close(self) -> None:
        self.session.close()
