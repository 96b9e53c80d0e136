"""The HTTP server on a thread and event loop of its own, beside the device's loop.

Acquisition cannot wait for a request: an ADC with a two-conversion buffer needs a drain
every few milliseconds, while building a response, TLS and an export hold whichever loop runs
them for longer. With the server on its own thread the device's loop gets the interpreter back
within one switch interval (`sys.setswitchinterval`) whatever the API is doing. The API reads
the live state and the store, both safe from any thread, and does everything that touches the
device (the simulated plant, applying a config) on the device's loop through `on_device`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..priority import lower_priority
from .server import Listener, RunningServer, start_server

T = TypeVar("T")


def caller_on(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], T]], Any]:
    """An `on_device` for ApiContext: awaitable from any loop, runs `function` on `loop`."""

    async def call(function: Callable[[], T]) -> T:
        if asyncio.get_running_loop() is loop:
            return function()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not done.set_running_or_notify_cancel():
                return
            try:
                done.set_result(function())
            except BaseException as exc:  # handed to the awaiting side
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return await asyncio.wrap_future(done)

    return call


class ApiThread:
    """Start with `await start()` from the device's loop (bind errors are raised there);
    `await stop()` ends serving and the thread."""

    def __init__(
        self, app: Any, listener: Listener, certfile: str | None, keyfile: str | None
    ) -> None:
        self.app, self.listener = app, listener
        self.certfile, self.keyfile = certfile, keyfile
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="esocore-http", daemon=True)

    async def start(self) -> None:
        self._thread.start()
        await asyncio.wrap_future(self._started)

    async def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(self._thread.join, 30.0)

    def _run(self) -> None:
        lower_priority()
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop))
        finally:
            loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._stop = loop, asyncio.Event()
        try:
            server: RunningServer = await start_server(
                self.app, self.listener, self.certfile, self.keyfile
            )
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(None)
        await self._stop.wait()
        ctx = getattr(self.app.state, "ctx", None)
        if ctx is not None:
            ctx.streams.close()  # open event streams end within a tick instead of holding on
            ctx.exports.close()  # export children are killed; their downloads end truncated
        await server.stop()
