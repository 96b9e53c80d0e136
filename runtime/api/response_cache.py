"""Rendered answers that stay valid until the live state publishes again.

Readings change about once a second per sensor while a SCADA, a dashboard or a load test may
ask many times a second: between two publications those answers are the same bytes.
"""

from __future__ import annotations

from typing import Any

Generation = tuple[int, int, int]  # (live state, its readings_version, catalog)


class LiveBodyCache:
    MAX_ENTRIES = 256  # distinct queries kept for one generation

    def __init__(self) -> None:
        self._generation: Generation | None = None
        self._bodies: dict[bytes, bytes] = {}

    @staticmethod
    def generation(live: Any, catalog: Any) -> Generation:
        """Read it before reading the state: a publication in between then only makes the
        stored body one generation old, never newer than its key says."""
        return (id(live), live.readings_version, id(catalog))

    def get(self, generation: Generation, query: bytes) -> bytes | None:
        if generation != self._generation:
            return None
        return self._bodies.get(query)

    def put(self, generation: Generation, query: bytes, body: bytes) -> None:
        if generation != self._generation or len(self._bodies) >= self.MAX_ENTRIES:
            self._generation, self._bodies = generation, {}
        self._bodies[query] = body
