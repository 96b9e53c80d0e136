"""The live-stream machinery without a server: admission, change detection, shared bodies,
re-authentication and ending when the server stops."""

from __future__ import annotations

import asyncio

import pytest

from runtime.api import live_stream
from runtime.api.errors import ApiError
from runtime.api.live_stream import BodiesPerTick, StreamHub, event_stream


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def take(stream, n: int) -> list[bytes]:
    out = []
    async for chunk in stream:
        out.append(chunk)
        if len(out) == n:
            break
    return out


def test_admission_is_bounded_and_refused_while_closing():
    hub = StreamHub(max_streams=2)
    hub.admit()
    hub.open = 2
    with pytest.raises(ApiError) as full:
        hub.admit()
    assert full.value.status == 503 and "too many" in full.value.message
    hub.open = 0
    hub.close()
    with pytest.raises(ApiError) as stopping:
        hub.admit()
    assert stopping.value.status == 503


def test_a_topic_is_sent_on_connecting_and_then_only_when_it_changes(monkeypatch):
    monkeypatch.setattr(live_stream, "TICK_S", 0.001)
    values = iter([b"[1]", b"[1]", b"[1]", b"[2]", b"[2]", b"[3]"] + [b"[3]"] * 1000)
    hub = StreamHub()
    chunks = run(take(event_stream(hub, None, lambda r: None, {"t": lambda: next(values)}), 4))
    assert chunks[0].startswith(b"retry: ")
    assert chunks[1:] == [
        b"event: t\ndata: [1]\n\n",
        b"event: t\ndata: [2]\n\n",
        b"event: t\ndata: [3]\n\n",
    ]


def test_the_stream_ends_when_the_server_stops_and_counts_itself(monkeypatch):
    monkeypatch.setattr(live_stream, "TICK_S", 0.001)
    hub = StreamHub()

    async def scenario():
        stream = event_stream(hub, None, lambda r: None, {"t": lambda: b"[]"})
        assert (await stream.__anext__()).startswith(b"retry")
        assert await stream.__anext__() == b"event: t\ndata: []\n\n"
        assert hub.open == 1
        hub.close()
        rest = [chunk async for chunk in stream]
        return rest

    assert run(scenario()) == []
    assert hub.open == 0


def test_failed_reauthentication_sends_end_and_stops(monkeypatch):
    monkeypatch.setattr(live_stream, "TICK_S", 0.001)
    monkeypatch.setattr(live_stream, "REAUTH_S", 0.0)

    def revoked(request):
        raise ApiError(401, "the API key is not valid")

    hub = StreamHub()
    chunks = run(take(event_stream(hub, None, revoked, {"t": lambda: b"[]"}), 10))
    assert chunks[-1].startswith(b"event: end\ndata: ")
    assert b'"status": 401' in chunks[-1]
    assert hub.open == 0


def test_bodies_are_rendered_once_per_tick_for_all_streams(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(live_stream.time, "monotonic", lambda: clock[0])
    renders = []
    bodies = BodiesPerTick()

    def render() -> bytes:
        renders.append(1)
        return b"[%d]" % len(renders)

    assert bodies.get("devices", render) == b"[1]"
    assert bodies.get("devices", render) == b"[1]"  # a second stream, same tick
    clock[0] += live_stream.TICK_S
    assert bodies.get("devices", render) == b"[2]"
    assert len(renders) == 2
