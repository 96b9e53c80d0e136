"""What every chip driver offers the runtime, and the small helpers the drivers share.

A driver owns one chip (or one channel of a shared chip) behind a `drivers.hal.SpiDevice`.
The runtime calls `start()` once (and again to recover after a `SensorError`), then
`read_block()` every `poll_interval` seconds, and decodes the raw blocks with dsp_ext.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from .hal import RawBlock, SensorNotResponding, SpiDevice

KINDS: tuple[str, ...] = ("accel", "current", "temperature", "voltage")

Sleep = Callable[[float], None]
"""Waits for a datasheet settling time. Real boards pass `time.sleep`; simulated chips settle
at once, so simulated boards pass nothing and a driver never moves a shared virtual clock."""


def no_sleep(seconds: float) -> None:
    """The wait used with simulated chips: they settle instantly."""


@dataclass
class DriverStats:
    """Counters a driver keeps about itself (the runtime may show them as health)."""

    starts: int = 0
    blocks: int = 0
    samples: int = 0
    overflows: int = 0
    retries: int = 0
    crc_errors: int = 0

    def count(self, block: RawBlock, overflow: bool | None = None) -> None:
        """Account for a block handed to the runtime (`overflow` overrides its flag)."""
        self.blocks += 1
        self.samples += block.count
        if block.overflow if overflow is None else overflow:
            self.overflows += 1


class SensorDriver(ABC):
    """A sensor chip (or one channel of a shared chip) as the runtime sees it.

    Attributes every driver sets:
      kind           "accel" | "current" | "temperature" | "voltage"
      chip           chip class, as in RawBlock.chip ("iis3dwb", "adxl355", ...)
      odr_hz         output data rate of the samples in its blocks
      channels       names of the columns a block decodes to, e.g. ("x", "y", "z") or ("ch0",)
      full_scale     range setting, as in RawBlock.full_scale
      poll_interval  seconds between read_block() calls that keep the chip's buffer well clear
                     of overflow at full rate
      device         the bus device name, used in every error message
    """

    kind: str
    chip: str
    odr_hz: float
    channels: tuple[str, ...]
    full_scale: float
    poll_interval: float
    device: str

    def __init__(self) -> None:
        self.stats = DriverStats()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    @abstractmethod
    def start(self) -> None:
        """Identity check, reset, configure rate and range, self-test where the chip has one.

        Raises SensorNotResponding, WrongIdentity or SensorFault. Calling it again re-runs the
        whole bring-up: that is how a sensor that came back is recovered.
        """

    @abstractmethod
    def read_block(self) -> RawBlock | None:
        """Everything the chip holds now as one RawBlock, or None when nothing is new."""

    def stop(self) -> None:
        """Put the chip in a quiet state; errors on the way are ignored (it may be gone)."""
        self._started = False

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError(f"{self.device}: read_block() before start()")


class SampleTimeline:
    """Timestamps for a stream of samples read in blocks from a chip buffer.

    Samples are counted from an anchor, so consecutive blocks join without gaps or overlaps.
    The anchor is set from the clock at the first block and again after samples were lost or
    when the count drifts more than `max_error_s` away from the clock (a real chip's rate is
    only as exact as its oscillator).
    """

    def __init__(self, odr_hz: float, max_error_s: float) -> None:
        self.period = 1.0 / odr_hz
        self.max_error = max_error_s
        self._anchor: float | None = None
        self._count = 0

    def reset(self) -> None:
        self._anchor = None
        self._count = 0

    def place(self, count: int, now: float, lost: bool = False) -> float:
        """Timestamp of the first of `count` samples just read at clock time `now`."""
        newest_by_clock = now - (count - 1) * self.period
        if self._anchor is None or lost:
            self._anchor, self._count = newest_by_clock, count
            return newest_by_clock
        first = self._anchor + self._count * self.period
        if abs(first - newest_by_clock) > self.max_error:
            self._anchor, self._count = newest_by_clock, count
            return newest_by_clock
        self._count += count
        return first


class ByteRegisters:
    """Register access for chips addressed by one command byte, then data bytes.

    `read_cmd`/`write_cmd` turn a register address into that byte (IIS3DWB: 0x80|a to read;
    ADXL355: a<<1|1; MAX31865: 0x80|a to write). Multi-byte reads rely on the chip's address
    auto-increment, so a block of registers is one transfer.
    """

    def __init__(
        self,
        spi: SpiDevice,
        read_cmd: Callable[[int], int],
        write_cmd: Callable[[int], int],
    ) -> None:
        self.spi = spi
        self._read_cmd = read_cmd
        self._write_cmd = write_cmd

    def read(self, address: int, count: int = 1) -> bytes:
        reply = self.spi.transfer(bytes((self._read_cmd(address),)) + bytes(count))
        if len(reply) != count + 1:
            raise SensorNotResponding(
                self.spi.name, f"short SPI reply: {len(reply)} bytes for {count + 1} sent"
            )
        return reply[1:]

    def read_u8(self, address: int) -> int:
        return self.read(address, 1)[0]

    def write(self, address: int, *values: int) -> None:
        self.spi.transfer(bytes((self._write_cmd(address), *values)))

    def mismatches(self, expected: dict[int, int]) -> list[str]:
        """Registers that no longer hold what was written (a chip reset or power-cycled)."""
        out = []
        for address, value in expected.items():
            got = self.read_u8(address)
            if got != value:
                out.append(f"register 0x{address:02X} is 0x{got:02X}, wrote 0x{value:02X}")
        return out


def all_same(data: bytes, value: int) -> bool:
    """True when every byte is `value` (0xFF: MISO floating high; 0x00: pulled low)."""
    return len(data) > 0 and data.count(value) == len(data)
