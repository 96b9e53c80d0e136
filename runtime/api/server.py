"""Serving the ASGI app with uvicorn on the device's own asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Generator
from dataclasses import dataclass

import uvicorn

from ..errors import UsageError
from ..ports import standard_or_fallback

PRIVILEGED_PORT = 443
FALLBACK_PORT = 8443
PLAIN_PORT = 8080


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a process that handles its own signals (Ctrl-C stops the device)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    tls: bool

    @property
    def base_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::", "127.0.0.1") else self.host
        scheme = "https" if self.tls else "http"
        default = 443 if self.tls else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{scheme}://{host}{port}/api/v1/"


def choose_port(host: str, port: int | None, tls: bool) -> int:
    """The configured port, else 443 when this process may bind it, else 8443 (8080 plain)."""
    if port is not None:
        return port
    if not tls:
        return PLAIN_PORT
    return standard_or_fallback(host, PRIVILEGED_PORT, FALLBACK_PORT)


class RunningServer:
    def __init__(self, server: _EmbeddedServer, task: asyncio.Task[None]) -> None:
        self._server = server
        self._task = task

    async def stop(self, grace_s: float = 3.0) -> None:
        """Stop serving; responses under way get `grace_s` to finish. An idle keep-alive TLS
        connection closes only once the client answers the close (uvicorn waits up to 30 s
        for that), so a client holding one must not hold up stopping the device."""
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._server.force_exit = True
            await self._task


async def start_server(
    app: object,
    listener: Listener,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> RunningServer:
    """Bind (a clear UsageError if that fails) and start serving on the running loop."""
    config = uvicorn.Config(
        app,
        host=listener.host,
        port=listener.port,
        ssl_certfile=certfile if listener.tls else None,
        ssl_keyfile=keyfile if listener.tls else None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
    )
    server = _EmbeddedServer(config)
    try:
        config.load()
        sock = config.bind_socket()
        # uvicorn makes the socket with proto 0, and asyncio turns Nagle off (TCP_NODELAY)
        # only on sockets whose proto is TCP: without this every response waits ~40 ms for
        # the client's delayed ACK. Re-wrapping the descriptor reads the real proto.
        sock = socket.socket(fileno=sock.detach())
    except OSError as exc:
        raise UsageError(_bind_error(listener, exc)) from None
    except SystemExit:  # uvicorn exits the process on a bind error; keep it ours to report
        raise UsageError(f"cannot listen on {listener.host}:{listener.port}") from None
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn has no "started" event: look every 10 ms, bounded by the task ending.
    for _ in range(3000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()  # raises what stopped it
        raise UsageError(f"the HTTP server on {listener.host}:{listener.port} did not start")
    return RunningServer(server, task)


def _bind_error(listener: Listener, exc: OSError) -> str:
    where = f"{listener.host}:{listener.port}"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is in use (choose another with --http-port)"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need root)"
    return f"cannot listen on {where}: {exc.strerror or exc}"
