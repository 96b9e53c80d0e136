"""A fieldbus front end on a thread and event loop of its own, beside the device's loop (as
the HTTP server is: runtime/api/server_thread.py), at a lower OS priority, so a master polling
flat out never holds up the device's FIFO drains."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from ..priority import lower_priority


class Service(Protocol):
    def bind(self, *args: Any) -> None: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=Service)


class FrontEndUnavailable(Exception):
    """A front end that could not start (a port taken, a serial line that cannot be opened,
    a map that does not fit): the message says why; the device runs on without it."""


class ServiceThread(Generic[S]):
    """`await start(factory)` from the device's loop (errors are raised there) gives the
    service built by `factory` on the thread's loop; `bind` may be called from any thread;
    `await stop()` ends the service and the thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.service: S | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started: concurrent.futures.Future[S] = concurrent.futures.Future()
        self._thread: threading.Thread | None = None

    async def start(self, factory: Callable[[], Awaitable[S]]) -> S:
        self._thread = threading.Thread(
            target=self._run, args=(factory,), name=self.name, daemon=True
        )
        self._thread.start()
        self.service = await asyncio.wrap_future(self._started)
        return self.service

    def bind(self, *args: Any) -> None:
        """The service's `bind` on its own loop (after an in-process restart)."""
        if self.service is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: self.service and self.service.bind(*args))

    async def bind_now(self, *args: Any) -> None:
        """`bind` that returns once the service has taken the new state (for a caller that
        reports the change as applied); the service's errors are raised here."""
        loop, service = self._loop, self.service
        if service is None or loop is None:
            return

        async def bind() -> None:
            service.bind(*args)

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(bind(), loop))

    async def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30.0)

    def _run(self, factory: Callable[[], Awaitable[S]]) -> None:
        lower_priority()
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop, factory))
        finally:
            loop.close()

    async def _serve(
        self, loop: asyncio.AbstractEventLoop, factory: Callable[[], Awaitable[S]]
    ) -> None:
        self._loop, self._stop = loop, asyncio.Event()
        try:
            service = await factory()
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(service)
        await self._stop.wait()
        await service.stop()
