"""Register-level model of an ADS131M04: command frames of 24-bit words with the response to
the previous command, four conversion words and the output CRC; registers with reset values;
OSR/rate, per-channel PGA gain, input mux with the DC test signal; a two-deep conversion
buffer per channel and the DRDY pin."""

from __future__ import annotations

import binascii
import math

import numpy as np

from drivers.ads131m04 import regs as R

from ..signal import LruCache
from ..sources import BlockSource, Conditions, SensorConditions, always_normal
from .base import ChipModel

BLOCK = 1024  # conversions per synthesis block
OTHER_CHIP_CHANNELS = 2  # when "another chip" answers: an ADS131M02


def _word(value: int) -> bytes:
    return bytes(((value >> 8) & 0xFF, value & 0xFF, 0))


class Ads131m04Model(ChipModel):
    """An ADS131M04 whose four inputs measure `inputs` (volts, one BlockSource each or None
    for an open input)."""

    def __init__(
        self,
        clock,
        inputs: list[BlockSource | None],
        conditions: Conditions = always_normal,
        clkin_hz: float = R.CLKIN_HZ,
    ) -> None:
        if len(inputs) != R.CHANNELS:
            raise ValueError(f"an ADS131M04 has {R.CHANNELS} inputs, got {len(inputs)}")
        self.inputs = inputs
        self.clkin_hz = clkin_hz
        self.test_signal_v = R.TEST_SIGNAL_V  # tests: a broken reference or input stage
        self.corrupt_next = 0  # tests: garble the CRC of this many data frames
        self._blocks = LruCache(8)
        super().__init__(clock, conditions)

    # -- state ------------------------------------------------------------------------------

    def power_on_reset(self) -> None:
        self.regs = [0] * 0x40
        for address, value in R.RESET_VALUES.items():
            self.regs[address] = value
        if self.swapped:
            self.regs[R.ID] = 0x2000 | (OTHER_CHIP_CHANNELS << 8)
        self._response = self._reset_ack()
        self._rate = 0.0
        self._read = 0  # absolute index of the oldest unread conversion
        self._newest = -1  # absolute index of the newest conversion made
        self._last = -1  # the conversion shown when nothing new is buffered
        self.lost = 0
        self._restart(self.clock.now())

    def _reset_ack(self) -> int:
        channels = OTHER_CHIP_CHANNELS if self.swapped else R.CHANNELS
        return 0xFF20 | channels

    @property
    def odr_hz(self) -> float:
        return self.clkin_hz / 2 / R.OSR[(self.regs[R.CLOCK] >> 2) & 0x07]

    def _restart(self, now: float) -> None:
        """A new rate restarts the digital filter: the buffer empties."""
        self._rate = self.odr_hz
        self._key = self._settings()
        self._newest = math.floor(now * self._rate)
        self._read = self._newest + 1
        self._last = self._newest
        for source in self.inputs:
            if source is not None:
                source.begin(self._read, self._rate)
        self._blocks.clear()  # a replayed recording starts over
        self._current: tuple | None = None

    def _produce(self, now: float, cond: SensorConditions) -> None:
        newest = math.floor(now * self._rate)
        if cond.stalled:
            self._newest = min(self._newest, newest)
            return
        if newest <= self._newest:
            return
        self._newest = newest
        oldest_kept = newest - R.FIFO_DEPTH + 1
        if self._read < oldest_kept:
            self.lost += oldest_kept - self._read
            self._read = oldest_kept

    def unread(self) -> int:
        return max(0, self._newest - self._read + 1)

    def drdy_level(self) -> bool:
        """Electrical level of DRDY (active low): low while a conversion waits to be read."""
        now = self.clock.now()
        cond = self.conditions(now)
        if cond.disconnected:
            return True  # pulled up
        self._produce(now, cond)
        return self.unread() == 0

    # -- conversions ------------------------------------------------------------------------

    def _settings(self) -> tuple:
        gains = tuple(R.GAINS[(self.regs[R.GAIN1] >> (4 * c)) & 0x07] for c in range(R.CHANNELS))
        muxes = tuple(self.regs[R.ch_cfg(c)] & 0x03 for c in range(R.CHANNELS))
        test = self.test_signal_v if any(m >= R.MUX_TEST_POSITIVE for m in muxes) else 0.0
        return (self._rate, gains, muxes, (self.regs[R.CLOCK] >> 8) & 0x0F, test)

    def _encoded(self, index: int) -> bytes:
        """Conversion words (BLOCK frames x 4 channels x 3 bytes) of block `index`."""
        key = self._key
        rate, gains, muxes, enabled, _test = key

        def make() -> bytes:
            volts = np.zeros((BLOCK, R.CHANNELS), dtype=np.float64)
            for c in range(R.CHANNELS):
                mux = muxes[c]
                source = self.inputs[c]
                if mux == R.MUX_TEST_POSITIVE:
                    volts[:, c] = self.test_signal_v
                elif mux == R.MUX_TEST_NEGATIVE:
                    volts[:, c] = -self.test_signal_v
                elif mux == R.MUX_INPUT and source is not None:
                    volts[:, c] = source.block(rate, index, BLOCK)[:, 0]
            codes = np.rint(volts * np.array(gains) * ((1 << 23) / R.REFERENCE_V))
            codes = np.clip(codes, -(1 << 23), (1 << 23) - 1).astype(np.int64)
            for c in range(R.CHANNELS):
                if not enabled >> c & 1:
                    codes[:, c] = 0
            u = codes & 0xFFFFFF
            out = np.empty((BLOCK, R.CHANNELS, 3), dtype=np.uint8)
            out[:, :, 0] = u >> 16
            out[:, :, 1] = (u >> 8) & 0xFF
            out[:, :, 2] = u & 0xFF
            return out.tobytes()

        return self._blocks.get((index, key), make)  # type: ignore[return-value]

    def _data_words(self, conversion: int) -> bytes:
        b, off = divmod(conversion, BLOCK)
        current = self._current
        if current is None or current[0] != b or current[1] is not self._key:
            current = self._current = (b, self._key, self._encoded(b))
        return current[2][12 * off : 12 * off + 12]

    # -- SPI --------------------------------------------------------------------------------

    def transfer(self, data: bytes, now: float, cond: SensorConditions) -> bytes:
        self._produce(now, cond)
        command = (data[0] << 8 | data[1]) if len(data) >= 2 else 0
        full = len(data) >= R.FRAME_BYTES
        drdy_bits = 0
        if full and self.unread():
            conversion = self._read
            self._read += 1
            self._last = conversion
            drdy_bits = (self.regs[R.CLOCK] >> 8) & 0x0F
        else:
            conversion = self._last
        response = self._status(drdy_bits) if self._response is None else self._response
        frame = bytes((response >> 8, response & 0xFF, 0)) + self._data_words(max(conversion, 0))
        crc = binascii.crc_hqx(frame, 0xFFFF)
        if drdy_bits and self.corrupt_next > 0:
            self.corrupt_next -= 1
            crc ^= 0x0101
        frame += _word(crc)
        if len(data) > len(frame):
            frame += bytes(len(data) - len(frame))
        self._response = self._execute(command, data, now)
        return frame[: len(data)]

    def _status(self, drdy_bits: int) -> int:
        mode = self.regs[R.MODE]
        value = R.STATUS_WLENGTH_24 | drdy_bits
        if mode & R.MODE_RESET:
            value |= R.STATUS_RESET
        if getattr(self, "_locked", False):
            value |= R.STATUS_LOCK
        return value

    def _execute(self, command: int, data: bytes, now: float) -> int | None:
        """Run `command`; return its response for the next frame (None: the STATUS word)."""
        if command == R.NULL:
            return None
        if command == R.RESET:
            self.power_on_reset()
            return self._reset_ack()
        if command in (R.STANDBY, R.WAKEUP):
            return command
        if command == R.LOCK:
            self._locked = True
            return command
        if command == R.UNLOCK:
            self._locked = False
            return command
        address = (command >> 7) & 0x3F
        count = (command & 0x7F) + 1
        if command & 0xE000 == R.RREG:
            return self.regs[address] if address < len(self.regs) else 0
        if command & 0xE000 == R.WREG:
            if getattr(self, "_locked", False):
                return None
            for i in range(count):
                offset = R.WORD_BYTES * (1 + i)
                if offset + 2 > len(data) or address + i >= len(self.regs):
                    break
                self._write(address + i, data[offset] << 8 | data[offset + 1], now)
            return R.WREG_ACK | (command & 0x1FFF)
        return None

    def _write(self, address: int, value: int, now: float) -> None:
        if address in (R.ID, R.STATUS):
            return
        old_clock = self.regs[R.CLOCK]
        self.regs[address] = value & 0xFFFF
        if address == R.CLOCK and (value ^ old_clock) & 0x1C:
            self._restart(now)
        self._key = self._settings()  # settings are part of the conversion cache key
        self._current = None
