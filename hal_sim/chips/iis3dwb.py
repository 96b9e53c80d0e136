"""Register-level model of an IIS3DWB: registers with their reset values, FIFO in continuous
mode with watermark and overrun flags, output registers, self-test force, software reset."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from drivers.iis3dwb import regs as R

from ..signal import LruCache
from ..sources import BlockSource, Conditions, SensorConditions, always_normal
from .base import ChipModel

G = 9.80665
BLOCK = 4096  # samples per synthesis block (0.15 s at 26.667 kHz)
SELF_TEST_G = 1.6  # typical output change under the positive self-test force
OTHER_CHIP_WHO_AM_I = 0x6C  # what answers when a different chip sits on the chip select
_READ_ONLY = {
    R.WHO_AM_I,
    R.STATUS_REG,
    R.FIFO_STATUS1,
    R.FIFO_STATUS2,
    R.ALL_INT_SRC,
    R.WAKE_UP_SRC,
    *range(R.OUT_TEMP_L, R.OUT_TEMP_L + 2),
    *range(R.OUTX_L_XL, R.OUTX_L_XL + 6),
    *range(R.TIMESTAMP0, R.TIMESTAMP0 + 4),
    *range(R.FIFO_DATA_OUT_TAG, R.FIFO_DATA_OUT_END + 1),
}


def _tag_bytes() -> np.ndarray:
    """Tag byte per TAG_CNT value (sensor 0x02 in bits 7:3, counter in 2:1, parity in 0)."""
    out = []
    for cnt in range(4):
        byte = (R.TAG_ACCEL << 3) | (cnt << 1)
        out.append(byte | (bin(byte).count("1") & 1))
    return np.array(out, dtype=np.uint8)


TAGS = _tag_bytes()
TAG_COLUMN = TAGS[np.arange(BLOCK) & 3]


class Iis3dwbModel(ChipModel):
    """An IIS3DWB whose axes measure `source` (m/s², 3 columns)."""

    def __init__(self, clock, source: BlockSource, conditions: Conditions = always_normal) -> None:
        self.source = source
        self.self_test_g = SELF_TEST_G  # tests: a weak or dead self-test force
        self._blocks = LruCache(8)
        super().__init__(clock, conditions)

    # -- state ------------------------------------------------------------------------------

    def power_on_reset(self) -> None:
        self.regs = bytearray(128)
        for address, value in R.RESET_VALUES.items():
            self.regs[address] = value
        self._segments: deque[list[int]] = deque()  # [first index, count] runs in the FIFO
        self.level = 0
        self._next = 0  # absolute index of the next sample to enter the FIFO
        self._running = False
        self._ovr_ia = False
        self._ovr_latched = False
        self._latch = bytes(7)
        self.overflows = 0

    def _fifo_should_run(self) -> bool:
        r = self.regs
        return (
            (r[R.CTRL1_XL] >> 5) == 0b101
            and (r[R.FIFO_CTRL3] & 0x0F) == R.BDR_XL_26K7
            and (r[R.FIFO_CTRL4] & 0x07) == R.FIFO_MODE_CONTINUOUS
        )

    def _sync_mode(self, now: float) -> None:
        run = self._fifo_should_run()
        if run and not self._running:
            self._next = math.floor(now * R.ODR_HZ) + 1
            self.source.begin(self._next, R.ODR_HZ)
            self._blocks.clear()  # a replayed recording starts over
        if not run:
            self._segments.clear()
            self.level = 0
            self._ovr_ia = False
        self._running = run

    def _produce(self, now: float, cond: SensorConditions) -> None:
        if not self._running:
            return
        newest = math.floor(now * R.ODR_HZ)
        if newest < self._next:
            return
        count = newest - self._next + 1
        if not cond.stalled:
            self._segments.append([self._next, count])
            self.level += count
        self._next = newest + 1
        excess = self.level - R.FIFO_WORDS
        if excess > 0:  # continuous mode: the newest samples overwrite the oldest
            self._ovr_ia = self._ovr_latched = True
            self.overflows += 1
            self.level = R.FIFO_WORDS
            while excess > 0:
                head = self._segments[0]
                if head[1] <= excess:
                    excess -= head[1]
                    self._segments.popleft()
                else:
                    head[0] += excess
                    head[1] -= excess
                    excess = 0

    # -- samples ----------------------------------------------------------------------------

    def _fs_g(self) -> int:
        return {0b00: 2, 0b01: 16, 0b10: 4, 0b11: 8}[(self.regs[R.CTRL1_XL] >> 2) & 0x03]

    def _encoded(self, index: int) -> bytes:
        fs = self._fs_g()
        st = self.regs[R.CTRL5_C] & 0x03
        force = self.self_test_g if st == R.ST_POSITIVE else -self.self_test_g

        def make() -> bytes:
            x = self.source.block(R.ODR_HZ, index, BLOCK)
            if st:
                x = x + np.float32(force * G)
            lsb = R.MG_PER_LSB[fs] * 1e-3 * G
            y = x * np.float32(1.0 / lsb)
            np.rint(y, out=y)
            np.clip(y, -32768, 32767, out=y)
            words = np.empty((BLOCK, 7), dtype=np.uint8)
            words[:, 0] = TAG_COLUMN  # blocks start at multiples of 4: the same TAG_CNT cycle
            words[:, 1:] = y.astype("<i2").view(np.uint8).reshape(BLOCK, 6)
            return words.tobytes()

        return self._blocks.get((index, fs, st, force if st else 0.0), make)  # type: ignore[return-value]

    def _words(self, first: int, count: int) -> bytes:
        parts = []
        while count > 0:
            b, off = divmod(first, BLOCK)
            take = min(count, BLOCK - off)
            parts.append(self._encoded(b)[7 * off : 7 * (off + take)])
            first += take
            count -= take
        return b"".join(parts)

    def _pop(self, n: int) -> bytes:
        parts = []
        while n > 0 and self._segments:
            head = self._segments[0]
            take = min(n, head[1])
            parts.append(self._words(head[0], take))
            head[0] += take
            head[1] -= take
            if head[1] == 0:
                self._segments.popleft()
            self.level -= take
            n -= take
        if n > 0:
            parts.append(bytes(7 * n))  # reading an empty FIFO gives empty words (tag 0)
        if self.level < R.FIFO_WORDS:
            self._ovr_ia = False
        return b"".join(parts)

    def _output_sample(self, now: float) -> bytes:
        index = math.floor(now * R.ODR_HZ)
        b, off = divmod(index, BLOCK)
        return self._encoded(b)[7 * off + 1 : 7 * off + 7]

    # -- SPI --------------------------------------------------------------------------------

    def transfer(self, data: bytes, now: float, cond: SensorConditions) -> bytes:
        if not data:
            return b""
        if self.swapped:
            return self._other_chip(data)
        self._produce(now, cond)
        address = data[0] & 0x7F
        n = len(data) - 1
        if data[0] & R.READ:
            if address == R.FIFO_DATA_OUT_TAG and n % 7 == 0:
                return b"\x00" + self._pop(n // 7)  # a whole FIFO drain in one transfer
            return b"\x00" + self._read(address, n, now)
        self._write(address, data[1:], now)
        return bytes(len(data))

    def _other_chip(self, data: bytes) -> bytes:
        if data[0] == R.READ | R.WHO_AM_I:
            return b"\x00" + bytes((OTHER_CHIP_WHO_AM_I,)) + bytes(len(data) - 2)
        return bytes(len(data))

    def _next_address(self, a: int) -> int:
        if not self.regs[R.CTRL3_C] & R.CTRL3_IF_INC:
            return a
        if R.FIFO_DATA_OUT_TAG <= a <= R.FIFO_DATA_OUT_END:
            return R.FIFO_DATA_OUT_TAG if a == R.FIFO_DATA_OUT_END else a + 1
        return (a + 1) & 0x7F

    def _read(self, address: int, n: int, now: float) -> bytes:
        out = bytearray(n)
        a = address
        for i in range(n):
            out[i] = self._read_register(a, now)
            a = self._next_address(a)
        return bytes(out)

    def _read_register(self, a: int, now: float) -> int:
        r = self.regs
        if a == R.FIFO_STATUS1:
            return self.level & 0xFF
        if a == R.FIFO_STATUS2:
            wtm = r[R.FIFO_CTRL1] | ((r[R.FIFO_CTRL2] & 0x01) << 8)
            value = (self.level >> 8) & 0x03
            if wtm and self.level >= wtm:
                value |= R.FIFO_STATUS2_WTM
            if self._ovr_ia:
                value |= R.FIFO_STATUS2_OVR
            if self.level >= R.FIFO_WORDS:
                value |= R.FIFO_STATUS2_FULL
            if self._ovr_latched:
                value |= R.FIFO_STATUS2_OVR_LATCHED
                self._ovr_latched = False  # reset by reading this register
            return value
        if a == R.STATUS_REG:
            return (R.STATUS_XLDA if (r[R.CTRL1_XL] >> 5) == 0b101 else 0) | 0x04
        if R.OUTX_L_XL <= a < R.OUTX_L_XL + 6:
            if (r[R.CTRL1_XL] >> 5) != 0b101:
                return 0
            return self._output_sample(now)[a - R.OUTX_L_XL]
        if a == R.FIFO_DATA_OUT_TAG:
            self._latch = self._pop(1)
            return self._latch[0]
        if R.FIFO_DATA_OUT_TAG < a <= R.FIFO_DATA_OUT_END:
            return self._latch[a - R.FIFO_DATA_OUT_TAG]
        return r[a]

    def _write(self, address: int, values: bytes, now: float) -> None:
        a = address
        for value in values:
            if a == R.CTRL3_C and value & (R.CTRL3_SW_RESET | 0x80):
                self.power_on_reset()  # SW_RESET / BOOT: registers to defaults, bit self-clears
            elif a not in _READ_ONLY:
                self.regs[a] = value
            a = (a + 1) & 0x7F if self.regs[R.CTRL3_C] & R.CTRL3_IF_INC else a
        self._sync_mode(now)
