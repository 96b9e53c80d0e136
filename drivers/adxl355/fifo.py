"""ADXL355 FIFO streaming: entry count and overflow, then a sample-aligned bulk drain."""

from __future__ import annotations

from collections.abc import Callable

from ..hal import Clock, RawBlock, SensorNotResponding, SpiDevice
from ..sensor import ByteRegisters, SampleTimeline
from . import regs


class FifoStream:
    """Drains FIFO_DATA in one transfer and hands out whole X, Y, Z samples (9 bytes each).

    The FIFO stores one axis per entry. A read normally ends on a sample boundary; if it does
    not (after an overrun), leading entries up to the next X marker are dropped and counted as
    lost, and a trailing partial sample is kept for the next read.
    """

    def __init__(
        self,
        spi: SpiDevice,
        registers: ByteRegisters,
        clock: Clock,
        diagnose: Callable[[str], None],
        stall_timeout: float,
    ) -> None:
        self.spi = spi
        self.regs = registers
        self.clock = clock
        self.diagnose = diagnose
        self.stall_timeout = stall_timeout
        self._tx = bytes(((regs.FIFO_DATA << 1) | 1,)) + bytes(
            regs.ENTRY_BYTES * regs.FIFO_ENTRIES_MAX
        )
        self._carry = b""
        self._last_data = 0.0
        self.timeline: SampleTimeline | None = None

    def restart(self, odr_hz: float) -> None:
        self.timeline = SampleTimeline(odr_hz, max_error_s=max(0.005, 4.0 / odr_hz))
        self._carry = b""
        self._last_data = self.clock.now()

    def drain(self, range_g: int, odr_hz: float) -> RawBlock | None:
        assert self.timeline is not None
        head = self.regs.read(regs.STATUS, 2)  # STATUS, FIFO_ENTRIES
        now = self.clock.now()
        if head == b"\xff\xff":
            self.diagnose("STATUS and FIFO_ENTRIES read all ones")
        status, entries = head
        if entries > regs.FIFO_ENTRIES_MAX:
            self.diagnose(f"FIFO_ENTRIES {entries} is more than the FIFO holds")
        overflow = bool(status & regs.STATUS_FIFO_OVR)
        if entries == 0:
            if now - self._last_data > self.stall_timeout:
                self.diagnose(f"no samples for {now - self._last_data:.3g} s")
            return None
        size = regs.ENTRY_BYTES * entries
        reply = self.spi.transfer(self._tx[: 1 + size])
        if len(reply) != 1 + size:
            raise SensorNotResponding(
                self.spi.name, f"short SPI reply: {len(reply)} bytes for {1 + size} sent"
            )
        self._last_data = now
        data = self._carry + reply[1:]
        self._carry = b""
        lost = 0
        while len(data) >= regs.ENTRY_BYTES and not data[2] & regs.ENTRY_X_MARKER:
            if data[2] & regs.ENTRY_EMPTY:
                break
            data = data[regs.ENTRY_BYTES :]
            lost += 1
        usable = len(data) - len(data) % regs.SAMPLE_BYTES
        samples = data[:usable]
        # A sample's three entries are stored together; a tail means we read mid-sample.
        self._carry = data[usable:]
        for i in range(0, usable, regs.SAMPLE_BYTES):
            marker = samples[i + 2]
            if marker & regs.ENTRY_EMPTY or not marker & regs.ENTRY_X_MARKER:
                # Empty entries (read past the end) or out of step: keep what came before.
                lost += 0 if marker & regs.ENTRY_EMPTY else (usable - i) // regs.ENTRY_BYTES
                samples, self._carry = samples[:i], b""
                break
        count = len(samples) // regs.SAMPLE_BYTES
        if count == 0:
            return None
        lost_any = overflow or lost > 0
        first = self.timeline.place(count, now, lost=lost_any)
        return RawBlock(
            chip="adxl355",
            timestamp=first,
            odr_hz=odr_hz,
            full_scale=float(range_g),
            count=count,
            payload=samples,
            overflow=lost_any,
        )
