"""IIS3DWB FIFO streaming: read the level and overflow flags, then drain in one transfer."""

from __future__ import annotations

from collections.abc import Callable

from ..hal import Clock, RawBlock, SensorFault, SensorNotResponding, SpiDevice
from ..sensor import ByteRegisters, SampleTimeline
from . import regs


class FifoStream:
    """Turns the chip's FIFO into RawBlocks of whole 7-byte words (tag + X, Y, Z int16 LE).

    `diagnose` is called when the FIFO looks wrong (all-ones status, impossible level, no data
    for `stall_timeout` seconds); it raises the matching typed error.
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
        self.timeline = SampleTimeline(regs.ODR_HZ, max_error_s=0.005)
        self._tx = bytes((regs.READ | regs.FIFO_DATA_OUT_TAG,)) + bytes(
            regs.WORD_BYTES * regs.FIFO_WORDS
        )
        self._last_data = 0.0

    def restart(self) -> None:
        self.timeline.reset()
        self._last_data = self.clock.now()

    def drain(self, range_g: int) -> tuple[RawBlock | None, bool]:
        """(block or None, overflow seen). Two transfers: status, then every word at once."""
        status = self.regs.read(regs.FIFO_STATUS1, 2)
        now = self.clock.now()
        if status == b"\xff\xff":
            self.diagnose("FIFO status reads all ones")
        level = status[0] | ((status[1] & 0x03) << 8)
        overflow = bool(status[1] & (regs.FIFO_STATUS2_OVR | regs.FIFO_STATUS2_OVR_LATCHED))
        if level > regs.FIFO_WORDS:
            self.diagnose(f"FIFO level {level} is more than the FIFO holds")
            raise SensorFault(self.spi.name, f"FIFO level {level} is more than the FIFO holds")
        if level == 0:
            if now - self._last_data > self.stall_timeout:
                self.diagnose(f"no samples for {now - self._last_data:.3g} s")
            return None, overflow
        size = regs.WORD_BYTES * level
        reply = self.spi.transfer(self._tx[: 1 + size])
        if len(reply) != 1 + size:
            raise SensorNotResponding(
                self.spi.name, f"short SPI reply: {len(reply)} bytes for {1 + size} sent"
            )
        if reply[1] >> 3 != regs.TAG_ACCEL:
            self.diagnose(f"FIFO word tag 0x{reply[1]:02X} is not an accelerometer tag")
        self._last_data = now
        first = self.timeline.place(level, now, lost=overflow)
        block = RawBlock(
            chip="iis3dwb",
            timestamp=first,
            odr_hz=regs.ODR_HZ,
            full_scale=float(range_g),
            count=level,
            payload=reply[1:],
            overflow=overflow,
        )
        return block, overflow
