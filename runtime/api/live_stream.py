"""Server-sent events: the latest readings, the machines' health and the active alerts pushed
to a dashboard (the web UI's, or an integrator's) as they change, instead of polled.

One stream carries up to three topics, each an event whose data is exactly the JSON body of
the matching GET (so a client handles a pushed and a polled answer alike):

- `telemetry`: GET /telemetry/ with the stream's filters, after each publication of the
  live state (about once a second per sensor);
- `devices`: GET /devices/ (health, ISO zone, mode, active alert count), when it changes;
- `alerts`: GET /alerts/ (the active alerts), when it changes;
- `end`: the stream's credentials stopped working (`{"status": 401, "message": ...}`); the
  server closes the stream after it.

Each stream looks for changes every TICK_S. The bodies are rendered once per tick however
many streams are open (BodiesPerTick), and telemetry once per publication (LiveBodyCache), so
a control room with several screens costs the device little more than one. A stream checks
its key or session again every REAUTH_S: a revoked key or a logged-out session ends it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request

from .errors import ApiError

TOPICS = ("telemetry", "devices", "alerts")
TICK_S = 1.0  # "about once a second"; 0.5 s doubled the cost (docs/benchmarks.md)
KEEPALIVE_S = 15.0  # a comment line, so proxies and NAT keep an idle stream open
REAUTH_S = 5.0
RETRY_MS = 2000  # what the browser waits before reconnecting a dropped stream
MAX_STREAMS = 32  # per device; more get 503 (each costs a little work every tick)


class BodiesPerTick:
    """Bodies shared by all streams for one tick, by key."""

    def __init__(self) -> None:
        self._tick = -1
        self._bodies: dict[Any, bytes] = {}

    def get(self, key: Any, render: Callable[[], bytes]) -> bytes:
        tick = int(time.monotonic() / TICK_S)
        if tick != self._tick:
            self._tick, self._bodies = tick, {}
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = render()
        return body


class StreamHub:
    """The device's open streams: how many, their shared bodies, and the signal to end them
    all when the HTTP server stops (an open stream would otherwise hold the stop up)."""

    def __init__(self, max_streams: int = MAX_STREAMS) -> None:
        self.max_streams = max_streams
        self.open = 0
        self.closing = False
        self.bodies = BodiesPerTick()

    def admit(self) -> None:
        if self.closing:
            raise ApiError(503, "the device is stopping")
        if self.open >= self.max_streams:
            raise ApiError(
                503,
                f"too many live streams open ({self.max_streams}); close one or poll the "
                "endpoints instead",
                headers={"Retry-After": "10"},
            )

    def close(self) -> None:
        self.closing = True


def sse_event(topic: str, data: bytes) -> bytes:
    """One event; the bodies are compact JSON, so they hold no line breaks."""
    return b"event: " + topic.encode() + b"\ndata: " + data + b"\n\n"


async def event_stream(
    hub: StreamHub,
    request: Request,
    authenticate: Callable[[Request], Any],
    renderers: dict[str, Callable[[], bytes]],
) -> AsyncIterator[bytes]:
    """The stream's bytes: each topic's body when it differs from the last one sent (all of
    them at once on connecting), a keep-alive comment when idle, until the client goes away,
    its credentials stop working, or the server stops."""
    hub.open += 1
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent: dict[str, bytes] = {}
        last_write = last_auth = time.monotonic()
        while not hub.closing:
            now = time.monotonic()
            if now - last_auth >= REAUTH_S:
                last_auth = now
                try:
                    authenticate(request)
                except ApiError as exc:
                    end = {"status": exc.status, "message": exc.message}
                    yield sse_event("end", json.dumps(end).encode())
                    return
            for topic, render in renderers.items():
                body = render()
                if sent.get(topic) != body:
                    sent[topic] = body
                    last_write = now
                    yield sse_event(topic, body)
            if now - last_write >= KEEPALIVE_S:
                last_write = now
                yield b": keep-alive\n\n"
            await asyncio.sleep(TICK_S)
    finally:
        hub.open -= 1
