"""Modbus RTU on a serial line (an RS-485 adapter): silent-interval framing and CRC.

A frame ends when the line has been silent for 3.5 character times (1.75 ms fixed above
19200 baud, as the standard recommends), so the answer also goes out no sooner than that after
the request. A frame with a bad CRC, one for another station, or a broadcast read is dropped
without an answer, as the standard requires on a multi-drop line; a broadcast write (address
0) is carried out and not answered. The 1.5-character inter-character limit is not enforced:
USB adapters and pseudo-terminals deliver bytes in bursts that would break it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.framer.rtu import FramerRTU

from . import pdu as pdu_layer
from .datamodel import DataModel

log = logging.getLogger("esocore.modbus")

MAX_FRAME = 256  # address + PDU (253) + CRC
BROADCAST = 0
PARITY_BITS = {"N": 0, "E": 1, "O": 1}


def character_time_s(baud: int, parity: str = "E", stop_bits: int = 1) -> float:
    """Start bit, 8 data bits, the parity bit if any and the stop bits."""
    return (1 + 8 + PARITY_BITS[parity] + stop_bits) / baud


def frame_gap_s(baud: int, parity: str = "E", stop_bits: int = 1) -> float:
    """The silent interval (t3.5) that ends a frame."""
    if baud > 19200:
        return 0.00175
    return 3.5 * character_time_s(baud, parity, stop_bits)


def crc_ok(frame: bytes) -> bool:
    return FramerRTU.compute_CRC(frame[:-2]) == int.from_bytes(frame[-2:], "big")


def with_crc(frame: bytes) -> bytes:
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


@dataclass
class RtuCounters:
    frames: int = 0
    answered: int = 0
    bad_crc: int = 0
    too_short: int = 0
    overruns: int = 0  # longer than any Modbus frame: dropped
    other_station: int = 0
    broadcasts: int = 0


class ModbusRtuServer:
    def __init__(
        self,
        model: Callable[[], DataModel],
        device: str,
        baud: int = 19200,
        parity: str = "E",
        stop_bits: int = 1,
        unit_id: int | None = 1,
    ) -> None:
        self.model, self.device = model, device
        self.baud, self.parity, self.stop_bits = baud, parity, stop_bits
        self.unit_id = unit_id
        self.gap_s = frame_gap_s(baud, parity, stop_bits)
        self.counters = RtuCounters()
        self._serial: Any = None
        self._buffer = bytearray()
        self._last_rx = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        import serial  # pyserial

        self._serial = serial.Serial(
            self.device,
            baudrate=self.baud,
            bytesize=serial.EIGHTBITS,
            parity={"E": serial.PARITY_EVEN, "O": serial.PARITY_ODD, "N": serial.PARITY_NONE}[
                self.parity
            ],
            stopbits=serial.STOPBITS_TWO if self.stop_bits == 2 else serial.STOPBITS_ONE,
            timeout=0,
            write_timeout=1.0,
        )
        asyncio.get_running_loop().add_reader(self._serial.fileno(), self._readable)

    async def stop(self) -> None:
        if self._serial is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._serial.fileno())
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._serial.close()
        self._serial = None

    def _readable(self) -> None:
        try:
            data = self._serial.read(4096)
        except Exception as exc:  # the adapter went away: keep the device running
            log.warning("Modbus RTU on %s: read failed (%s)", self.device, exc)
            return
        if not data:
            return
        self._last_rx = time.monotonic()
        self._buffer += data
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.gap_s, self._gap_check)

    def _gap_check(self) -> None:
        """Fires t3.5 after the first byte; the frame ends once the line has been that quiet."""
        silent = time.monotonic() - self._last_rx
        loop = asyncio.get_running_loop()
        if silent < self.gap_s:
            self._timer = loop.call_later(self.gap_s - silent, self._gap_check)
            return
        self._timer = None
        frame = bytes(self._buffer)
        self._buffer.clear()
        self.received(frame)

    def received(self, frame: bytes) -> None:
        """One frame, delimited by silence."""
        counters = self.counters
        counters.frames += 1
        if len(frame) > MAX_FRAME:
            counters.overruns += 1
            return
        if len(frame) < 4:
            counters.too_short += 1
            return
        if not crc_ok(frame):
            counters.bad_crc += 1
            return
        address, request = frame[0], frame[1:-2]
        if address == BROADCAST:
            counters.broadcasts += 1
            if request and request[0] in (6, 16):
                answer = pdu_layer.handle(request, self.model(), f"modbus-rtu {self.device}")
                if not isinstance(answer, bytes):
                    self._spawn(self._discard(answer))
            return
        if self.unit_id is not None and address != self.unit_id:
            counters.other_station += 1
            return
        answer = pdu_layer.handle(request, self.model(), f"modbus-rtu {self.device}")
        if isinstance(answer, bytes):
            self._send(address, answer)
        else:
            self._spawn(self._send_later(address, answer))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _discard(self, pending: Any) -> None:
        await pending

    async def _send_later(self, address: int, pending: Any) -> None:
        self._send(address, await pending)

    def _send(self, address: int, response: bytes) -> None:
        if self._serial is None:
            return
        try:
            self._serial.write(with_crc(bytes((address,)) + response))
            self.counters.answered += 1
        except Exception as exc:
            log.warning("Modbus RTU on %s: write failed (%s)", self.device, exc)
