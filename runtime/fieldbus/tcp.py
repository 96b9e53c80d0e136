"""Modbus TCP: MBAP framing and the listening server.

MBAP header: transaction id (2), protocol id (2, always 0), length (2: unit id + PDU), unit
id (1). A frame with another protocol id is not Modbus and is skipped without an answer; a
length outside 2..254 means the stream cannot be framed any more, so that connection (only
it) is closed. Requests are answered in order; a connection idle for `idle_timeout_s` is
closed; connections from addresses outside the allow-list, or beyond `max_clients`, are
closed at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import pdu as pdu_layer
from .datamodel import DataModel

log = logging.getLogger("esocore.modbus")

MBAP = struct.Struct(">HHHB")
MBAP_SIZE = 7
MAX_LENGTH = 254  # unit id + the largest PDU (253)
GATEWAY_TARGET_NO_RESPONSE = 0x0B


@dataclass
class TcpCounters:
    connections: int = 0
    refused: int = 0
    requests: int = 0
    exceptions: int = 0
    skipped_frames: int = 0  # wrong protocol id
    framing_errors: int = 0  # absurd length: the connection was closed
    idle_closed: int = 0


@dataclass
class TcpSettings:
    unit_id: int | None  # None: any
    max_clients: int = 16
    idle_timeout_s: float = 120.0
    allowed: list[Any] = field(default_factory=list)  # ipaddress networks; empty: all


class ModbusTcpServer:
    """`model` is read at every request, so a new map takes effect by assigning it."""

    def __init__(
        self,
        model: Callable[[], DataModel],
        settings: TcpSettings,
        log_event: Callable[..., None] | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.log_event = log_event
        self.counters = TcpCounters()
        self.connections: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, reuse_address=True
        )

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                connection.close()
            await self._server.wait_closed()

    def admits(self, peer: str) -> bool:
        if not self.settings.allowed:
            return True
        try:
            address = ipaddress.ip_address(peer.split("%")[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.settings.allowed)


class _Connection(asyncio.Protocol):
    def __init__(self, server: ModbusTcpServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.busy = False  # a write is waiting for the device's loop
        self.last_activity = time.monotonic()
        self.idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        peername = transport.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peername[0]}:{peername[1]}"
        if not server.admits(str(peername[0])):
            self._refuse(f"Modbus TCP client {self.peer} refused: not in allowed_clients")
            return
        if len(server.connections) >= server.settings.max_clients:
            self._refuse(
                f"Modbus TCP client {self.peer} refused: "
                f"{server.settings.max_clients} clients connected (max_clients)"
            )
            return
        server.connections.add(self)
        server.counters.connections += 1
        self._arm_idle_timer()

    def _refuse(self, message: str) -> None:
        self.server.counters.refused += 1
        log.warning("%s", message)
        if self.server.log_event is not None:
            self.server.log_event("modbus_client_refused", message)
        assert self.transport is not None
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.idle_timer is not None:
            self.idle_timer.cancel()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _arm_idle_timer(self) -> None:
        timeout = self.server.settings.idle_timeout_s
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self.idle_timer = loop.call_at(loop.time() + timeout, self._idle_check)

    def _idle_check(self) -> None:
        idle = time.monotonic() - self.last_activity
        timeout = self.server.settings.idle_timeout_s
        if idle >= timeout and not self.busy:
            self.server.counters.idle_closed += 1
            log.info("Modbus TCP client %s idle for %.0f s: closed", self.peer, idle)
            self.close()
            return
        loop = asyncio.get_running_loop()
        self.idle_timer = loop.call_at(loop.time() + max(timeout - idle, 0.05), self._idle_check)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        self.buffer += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        """Answer every complete frame in the buffer, in order."""
        buffer, counters = self.buffer, self.server.counters
        while len(buffer) >= MBAP_SIZE and not self.busy:
            tid, protocol, length, unit = MBAP.unpack_from(buffer)
            if not 2 <= length <= MAX_LENGTH:
                counters.framing_errors += 1
                log.warning(
                    "Modbus TCP client %s sent an MBAP length of %d (2..%d): connection closed",
                    self.peer,
                    length,
                    MAX_LENGTH,
                )
                buffer.clear()
                self.close()
                return
            end = 6 + length
            if len(buffer) < end:
                return  # the rest of the frame is still on its way
            request = bytes(buffer[MBAP_SIZE:end])
            del buffer[:end]
            if protocol != 0:
                counters.skipped_frames += 1
                continue
            self._answer(tid, unit, request)

    def _answer(self, tid: int, unit: int, request: bytes) -> None:
        server = self.server
        server.counters.requests += 1
        wanted = server.settings.unit_id
        if wanted is not None and unit != wanted:
            function_code = request[0] if request else 0
            refusal = pdu_layer.exception_pdu(function_code, GATEWAY_TARGET_NO_RESPONSE)
            self._send(tid, unit, refusal)
            return
        answer = pdu_layer.handle(request, server.model(), f"modbus-tcp {self.peer}")
        if isinstance(answer, bytes):
            self._send(tid, unit, answer)
            return
        self.busy = True
        assert self.transport is not None
        self.transport.pause_reading()
        asyncio.get_running_loop().create_task(self._finish(tid, unit, answer))

    async def _finish(self, tid: int, unit: int, pending: Any) -> None:
        try:
            self._send(tid, unit, await pending)
        finally:
            self.busy = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()
                self._process()

    def _send(self, tid: int, unit: int, response: bytes) -> None:
        if response and response[0] & 0x80:
            self.server.counters.exceptions += 1
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(MBAP.pack(tid, 0, len(response) + 1, unit) + response)
