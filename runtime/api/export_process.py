"""File exports of the history API, formatted in a child process and relayed to the client.

Formatting a million rows in the device's process held the GIL for seconds in total and the
thread that drains the sensors' FIFOs lost blocks (docs/benchmarks.md). So the API checks the
request, then starts `python -m runtime.export_child` (a nicer process reading the SQLite
store itself) and copies its stdout to the client on the HTTP server's loop, asynchronously:
the HTTP thread only moves bytes.

- At most `MAX_CONCURRENT_EXPORTS` children at a time; one more request gets 503 with
  Retry-After, so a BI tool cannot start a child per row of a dashboard on a small board.
- A client that goes away kills its child at once (SIGKILL: it only reads); every child is
  waited for, so none is left a zombie; stopping the API kills the children still running.
- A child that fails before its first byte gives a 500 JSON error; after it, the response
  ends without its last chunk, so the client sees a truncated transfer, never a complete
  file with an error text inside. Both go to the device's event log (`export_failed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..export_child import MODULE, ExportJob
from ..store import StoreError
from .errors import error_body

log = logging.getLogger(__name__)

MAX_CONCURRENT_EXPORTS = 2
RETRY_AFTER_S = 30  # an export of a million rows takes a few seconds
READ_BYTES = 1 << 20  # per read from the child's pipe, and the reader's buffer
STDERR_TAIL_BYTES = 4096  # what is kept of a child's error output for the event log


class ExportStartError(RuntimeError):
    """The child process could not be started."""


class ExportChild:
    """One running child: its pipes, and whether we killed it (then an early end is no
    failure of the export)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.killed = False
        assert process.stderr is not None
        self._stderr = asyncio.ensure_future(_tail(process.stderr, STDERR_TAIL_BYTES))

    async def send_job(self, job: ExportJob) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(job.to_json())
            await stdin.drain()
        stdin.close()

    async def read(self) -> bytes:
        """The next bytes of the file; b"" at its end."""
        assert self.process.stdout is not None
        return await self.process.stdout.read(READ_BYTES)

    def kill(self) -> None:
        if self.process.returncode is None:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def outcome(self) -> tuple[int, str]:
        """Exit status and the end of its error output, once it has exited."""
        code = await self.process.wait()
        return code, await self._stderr

    async def end(self) -> None:
        """Kill it if it still runs and wait for it: no zombie, whatever happened."""
        self.kill()
        await asyncio.shield(self.process.wait())
        with contextlib.suppress(Exception):
            await self._stderr


async def _tail(stream: asyncio.StreamReader, keep: int) -> str:
    """Everything the stream says, read as it comes (a full pipe would stall the child);
    the last `keep` bytes are kept."""
    tail = b""
    while block := await stream.read(65536):
        tail = (tail + block)[-keep:]
    return tail.decode(errors="replace").strip()


class ExportRunner:
    """The export children of one API (one per ApiContext), all on the HTTP server's loop."""

    def __init__(
        self, limit: int = MAX_CONCURRENT_EXPORTS, command: tuple[str, ...] | None = None
    ) -> None:
        self.limit = limit
        self.command = command or (sys.executable, "-m", MODULE)
        self._taken = 0
        self._children: set[ExportChild] = set()
        self._closed = False

    @property
    def running(self) -> int:
        return self._taken

    @property
    def closed(self) -> bool:
        return self._closed

    def has_room(self) -> bool:
        return not self._closed and self._taken < self.limit

    @contextlib.asynccontextmanager
    async def child(self, job: ExportJob) -> AsyncIterator[ExportChild]:
        """A started child with its job sent; killed (if still running) and waited for on
        leaving. Take it only after has_room(): the slot is taken before the first await."""
        self._taken += 1
        try:
            try:
                process = await asyncio.create_subprocess_exec(
                    *self.command,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    limit=READ_BYTES,
                )
            except OSError as exc:  # no memory, too many processes, no interpreter
                raise ExportStartError(f"{type(exc).__name__}: {exc}") from exc
            child = ExportChild(process)
            self._children.add(child)
            try:
                if self._closed:  # stopped while it started
                    child.kill()
                await child.send_job(job)
                yield child
            finally:
                self._children.discard(child)
                await child.end()
        finally:
            self._taken -= 1

    def close(self) -> None:
        """The API stops: no new exports, running ones end now (their clients see a
        truncated transfer)."""
        self._closed = True
        for child in list(self._children):
            child.kill()


class ExportResponse(Response):
    """A file download made by a child process (see the module's docstring)."""

    def __init__(
        self,
        runner: ExportRunner,
        job: ExportJob,
        media_type: str,
        filename: str,
        log_event: Callable[..., None],
    ) -> None:
        # No body and no Content-Length: the length is known only at the end (chunked).
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers({"Content-Disposition": f'attachment; filename="{filename}"'})
        self.runner = runner
        self.job = job
        self.filename = filename
        self.log_event = log_event

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.runner.has_room():
            await busy_response(self.runner)(scope, receive, send)
            return
        try:
            async with self.runner.child(self.job) as child:
                await self._respond(child, scope, receive, send)
        except ExportStartError as exc:
            self._failed(-1, str(exc), 0)
            message = f"the {self.job.fmt} export could not start: {exc}"
            await JSONResponse(error_body("internal_error", message), 500)(scope, receive, send)

    async def _respond(
        self, child: ExportChild, scope: Scope, receive: Receive, send: Send
    ) -> None:
        first = await child.read()
        if not first:  # nothing yet: a failure can still be a JSON error
            code, reason = await child.outcome()
            if child.killed:  # the API stopped meanwhile
                await busy_response(self.runner)(scope, receive, send)
                return
            if code != 0:
                self._failed(code, reason, 0)
                message = f"the {self.job.fmt} export failed: {reason or f'exit status {code}'}"
                await JSONResponse(error_body("internal_error", message), 500)(scope, receive, send)
                return
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        if await self._relay(child, first, receive, send):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # else: returning without the last chunk makes the server close the connection, so
        # the client sees a truncated transfer.

    async def _relay(self, child: ExportChild, first: bytes, receive: Receive, send: Send) -> bool:
        """Copy the child's output to the client until its end (True: complete and the child
        succeeded) or until the client goes (the child is killed at once)."""
        sent = [0]
        copying = asyncio.ensure_future(_copy(child, first, send, sent))
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((copying, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not copying.done():  # the client went away, or we were cancelled
                child.kill()
                copying.cancel()
            gone.cancel()
            await asyncio.gather(copying, gone, return_exceptions=True)
        if copying.cancelled() or copying.exception() is not None:
            child.kill()  # sending failed: the client is gone
            return False
        code, reason = await child.outcome()
        if code == 0:
            return True
        if not child.killed:
            self._failed(code, reason, sent[0])
        return False

    def _failed(self, code: int, reason: str, sent: int) -> None:
        last = reason.splitlines()[-1] if reason else f"exit status {code}"
        message = f"{self.job.fmt} export {self.filename} failed after {sent} bytes: {last}"
        log.warning("%s", message)
        data = {"format": self.job.fmt, "exit_code": code, "bytes_sent": sent, "stderr": reason}
        try:
            self.log_event("export_failed", message, data=data)
        except StoreError as exc:  # the device is stopping
            log.warning("export_failed not logged: %s", exc)


async def _copy(child: ExportChild, block: bytes, send: Send, sent: list[int]) -> None:
    while block:
        await send({"type": "http.response.body", "body": block, "more_body": True})
        sent[0] += len(block)
        block = await child.read()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def busy_response(runner: ExportRunner) -> JSONResponse:
    """503 with Retry-After: every export slot is taken (or the API is stopping)."""
    if runner.closed:
        message = "the device is stopping; exports are not started any more"
    else:
        message = (
            f"{runner.running} file exports are running, the most this device formats at "
            f"once; try again in {RETRY_AFTER_S} s"
        )
    details: dict[str, Any] = {"running": runner.running, "limit": runner.limit}
    return JSONResponse(
        error_body("unavailable", message, details),
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
