"""ADS131M04 data delivery: read a frame per DRDY, check its CRC, account for lost frames."""

from __future__ import annotations

import binascii
import math
from collections.abc import Callable

from ..hal import Clock, GpioInput, RawBlock, SensorNotResponding, SpiDevice
from . import regs

NULL_FRAME = bytes(regs.FRAME_BYTES)
MAX_FRAMES_PER_POLL = regs.FIFO_DEPTH + 2


def frame_crc(frame: bytes) -> int:
    """CRC-16-CCITT of every word before the CRC word (binascii does it in C)."""
    return binascii.crc_hqx(frame[: regs.FRAME_BYTES - regs.WORD_BYTES], 0xFFFF)


def crc_ok(frame: bytes) -> bool:
    end = regs.FRAME_BYTES - regs.WORD_BYTES
    return frame_crc(frame) == (frame[end] << 8 | frame[end + 1])


class FrameStream:
    """Collects frames while DRDY is low and timestamps them.

    The chip has no overflow flag: frames are lost when more than two conversions happen
    between reads. The stream counts conversions by the clock since the last frame it
    delivered and flags the block as overflowed when the buffer was full and frames are
    missing. It counts from the latest possible time of each conversion, so it never reports
    a loss that did not happen (a single lost frame can go unnoticed).
    """

    def __init__(
        self,
        spi: SpiDevice,
        drdy: GpioInput,
        clock: Clock,
        diagnose: Callable[[str], None],
        stall_timeout: float,
        on_crc_error: Callable[[], None],
    ) -> None:
        self.spi = spi
        self.drdy = drdy
        self.clock = clock
        self.diagnose = diagnose
        self.stall_timeout = stall_timeout
        self.on_crc_error = on_crc_error
        self.odr_hz = 1.0
        self._t_last: float | None = None
        self._last_data = 0.0

    def restart(self, odr_hz: float) -> None:
        self.odr_hz = odr_hz
        self._t_last = None
        self._last_data = self.clock.now()

    def drain(self, full_scale: float) -> RawBlock | None:
        frames: list[bytes] = []
        bad = 0
        for _ in range(MAX_FRAMES_PER_POLL):
            if self.drdy.read():  # DRDY is active low
                break
            frame = self.spi.transfer(NULL_FRAME)
            if len(frame) != regs.FRAME_BYTES:
                raise SensorNotResponding(
                    self.spi.name, f"short SPI reply: {len(frame)} of {regs.FRAME_BYTES} bytes"
                )
            if not crc_ok(frame):
                if frame == b"\xff" * regs.FRAME_BYTES or frame == NULL_FRAME:
                    self.diagnose("data frame reads all ones or zeros")
                bad += 1
                self.on_crc_error()
                continue
            status = frame[0] << 8 | frame[1]
            if status & regs.STATUS_RESET:
                self.diagnose("the ADC reports it was reset")
            if status & regs.STATUS_DRDY_MASK:
                frames.append(frame)
        now = self.clock.now()
        if not frames:
            if now - self._last_data > self.stall_timeout:
                self.diagnose(f"no conversion for {now - self._last_data:.3g} s (DRDY stays high)")
            return None
        self._last_data = now
        got = len(frames)
        period = 1.0 / self.odr_hz
        lost = bad
        if self._t_last is None:
            newest = now
        else:
            due = math.floor((now - self._t_last) * self.odr_hz + 1e-9)
            if got > due:  # the ADC runs a little fast against this clock: re-phase
                newest = now
            elif got >= regs.FIFO_DEPTH and due > got:
                lost += due - got
                newest = self._t_last + due * period
            else:
                newest = self._t_last + got * period
        self._t_last = newest
        first = newest - (got - 1) * period
        return RawBlock(
            chip="ads131m04",
            timestamp=first,
            odr_hz=self.odr_hz,
            full_scale=full_scale,
            count=got,
            payload=b"".join(frames),
            overflow=lost > 0,
        )
