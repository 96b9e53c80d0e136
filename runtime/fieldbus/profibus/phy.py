"""PROFIBUS physical layer on a Linux serial port (an RS-485 adapter), through pyserial.

A UART character is 11 bits (start, 8 data, even parity, stop). The standard's timing, in bit
times: the line idles at least TSYN = 33 bits before a request; a slave answers no sooner
than min TSDR (11 bits, or what Set_Prm says) and no later than the max TSDR its GSD promises
(the master's slot time covers it). What a Linux tty can do about it:

- min TSDR is kept: the answer is held back until that much time has passed since the
  request's last byte arrived (at or above 93.75 kbit/s the software path alone takes longer).
- max TSDR is what the software path costs (read wake-up, parse, answer, write): a few hundred
  microseconds, with a tail of a few milliseconds on a busy board. bench/bench_profibus.py
  measures it; the GSD declares a max TSDR per baud rate that covers the tail, which a master
  honours by lengthening its slot time, up to a point (docs/profibus.md: up to 187.5 kbit/s).
- The receiver cannot see a line-idle gap shorter than the adapter delivers bytes (a USB
  adapter batches them: set its latency timer to 1 ms), so a frame is delimited by its length
  and a partial frame is dropped after `idle_s` of silence instead.
- Gaps inside an answer (not allowed on the bus) do not occur: an answer is written with one
  write() into the UART's FIFO.
"""

from __future__ import annotations

import time
from typing import Any

BITS_PER_CHARACTER = 11
TSYN_BITS = 33
IDLE_FLOOR_S = 0.003  # below this, a USB adapter's batching looks like idle


def bit_time_s(baud: int) -> float:
    return 1.0 / baud


def idle_s(baud: int) -> float:
    """Silence that ends a partial frame: TSYN, but no less than the adapter's batching."""
    return max(TSYN_BITS / baud, IDLE_FLOOR_S)


class SerialPhy:
    """The serial line, 8-E-1, opened once with every setting (a reconfiguration after open
    is refused by some drivers, pseudo-terminals among them)."""

    def __init__(self, device: str, baud: int, rts_direction: bool = False) -> None:
        self.device, self.baud, self.rts_direction = device, baud, rts_direction
        self._serial: Any = None

    def open(self) -> None:
        import serial  # pyserial

        port = serial.Serial()
        port.port = self.device
        port.baudrate = self.baud
        port.bytesize = serial.EIGHTBITS
        port.parity = serial.PARITY_EVEN
        port.stopbits = serial.STOPBITS_ONE
        port.timeout = 0
        port.write_timeout = 1.0
        if self.rts_direction:
            from serial.rs485 import RS485Settings

            port.rs485_mode = RS485Settings(rts_level_for_tx=True, rts_level_for_rx=False)
        port.open()
        self._serial = port

    def fileno(self) -> int:
        return self._serial.fileno()

    def read(self) -> bytes:
        return self._serial.read(4096)

    def write_after(self, data: bytes, earliest: float) -> None:
        """Write `data` no sooner than `earliest` (time.monotonic): the min TSDR hold-off."""
        wait = earliest - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._serial.write(data)

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None
