"""Register-level model of an ADXL355: identity registers, range and output-rate filter,
standby/measurement, a 96-entry FIFO of axis entries with X markers, empty indicator, full and
overrun flags, data registers, self-test force and the 0x52 reset."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from drivers.adxl355 import regs as R

from ..signal import LruCache
from ..sources import BlockSource, Conditions, SensorConditions, always_normal
from .base import ChipModel

G = 9.80665
BLOCK = 1024
SELF_TEST_G = (0.3, 0.3, 1.5)
RATES = {code: rate for rate, code in R.ODR_CODES.items()}
EMPTY_ENTRY = b"\x00\x00\x02"
SAMPLES_MAX = R.FIFO_ENTRIES_MAX // 3
_READ_ONLY = set(range(0x00, 0x12))
OTHER_CHIP_ID = bytes((0xAD, 0x1D, 0xF2))  # an ADXL362 says hello


class Adxl355Model(ChipModel):
    """An ADXL355 whose axes measure `source` (m/s², 3 columns)."""

    def __init__(self, clock, source: BlockSource, conditions: Conditions = always_normal) -> None:
        self.source = source
        self.self_test_g = SELF_TEST_G  # tests: a weak or dead self-test force
        self._blocks = LruCache(8)
        super().__init__(clock, conditions)

    def power_on_reset(self) -> None:
        self.regs = bytearray(0x30)
        for address, value in R.RESET_VALUES.items():
            self.regs[address] = value
        self._segments: deque[list[int]] = deque()
        self.samples = 0
        self._entry_off = 0  # entries of the head sample already read
        self._next = 0
        self._rate: float | None = None
        self._overrun = False
        self.overflows = 0

    @property
    def entries(self) -> int:
        return 3 * self.samples - self._entry_off

    # -- production -------------------------------------------------------------------------

    def _sync_mode(self, now: float) -> None:
        measuring = not self.regs[R.POWER_CTL] & R.POWER_STANDBY
        rate = RATES.get(self.regs[R.FILTER] & 0x0F) if measuring else None
        if rate != self._rate:
            self._segments.clear()
            self.samples = 0
            self._entry_off = 0
            if rate is not None:
                self._next = math.floor(now * rate) + 1
                self.source.begin(self._next, rate)
                self._blocks.clear()  # a replayed recording starts over
        self._rate = rate

    def _produce(self, now: float, cond: SensorConditions) -> None:
        if self._rate is None:
            return
        newest = math.floor(now * self._rate)
        if newest < self._next:
            return
        count = newest - self._next + 1
        if not cond.stalled:
            self._segments.append([self._next, count])
            self.samples += count
        self._next = newest + 1
        excess = self.samples - SAMPLES_MAX
        if excess > 0:  # the oldest samples are lost
            self._overrun = True
            self.overflows += 1
            self.samples = SAMPLES_MAX
            self._entry_off = 0
            while excess > 0:
                head = self._segments[0]
                if head[1] <= excess:
                    excess -= head[1]
                    self._segments.popleft()
                else:
                    head[0] += excess
                    head[1] -= excess
                    excess = 0

    def _range_g(self) -> int:
        return {0b01: 2, 0b10: 4, 0b11: 8}.get(self.regs[R.RANGE] & 0x03, 2)

    def _encoded(self, index: int) -> bytes:
        rate = self._rate or 4000.0
        rng = self._range_g()
        st = (self.regs[R.SELF_TEST] & 0x03) == 0x03
        force = tuple(self.self_test_g) if st else (0.0, 0.0, 0.0)

        def make() -> bytes:
            x = self.source.block(rate, index, BLOCK)
            if st:
                x = x + np.array(force, dtype=np.float32) * np.float32(G)
            lsb = R.UG_PER_LSB[rng] * 1e-6 * G
            counts = np.clip(np.rint(x / np.float32(lsb)), -(1 << 19), (1 << 19) - 1)
            u = counts.astype(np.int64) & 0xFFFFF
            out = np.empty((BLOCK, 3, 3), dtype=np.uint8)
            out[:, :, 0] = (u >> 12) & 0xFF
            out[:, :, 1] = (u >> 4) & 0xFF
            out[:, :, 2] = (u & 0x0F) << 4
            out[:, 0, 2] |= R.ENTRY_X_MARKER
            return out.tobytes()

        return self._blocks.get((index, rate, rng, force), make)  # type: ignore[return-value]

    def _sample_bytes(self, first: int, count: int) -> bytes:
        parts = []
        while count > 0:
            b, off = divmod(first, BLOCK)
            take = min(count, BLOCK - off)
            parts.append(self._encoded(b)[9 * off : 9 * (off + take)])
            first += take
            count -= take
        return b"".join(parts)

    def _pop_entries(self, n: int) -> bytes:
        parts = []
        while n > 0 and self._segments:
            head = self._segments[0]
            available = 3 * head[1] - self._entry_off
            take = min(n, available)
            end = self._entry_off + take
            data = self._sample_bytes(head[0], -(-end // 3))
            parts.append(data[3 * self._entry_off : 3 * end])
            done = end // 3
            self._entry_off = end % 3
            head[0] += done
            head[1] -= done
            self.samples -= done
            if head[1] == 0:
                self._segments.popleft()
            n -= take
        if n > 0:
            parts.append(EMPTY_ENTRY * n)
        return b"".join(parts)

    # -- SPI --------------------------------------------------------------------------------

    def transfer(self, data: bytes, now: float, cond: SensorConditions) -> bytes:
        if not data:
            return b""
        address = data[0] >> 1
        n = len(data) - 1
        if self.swapped:
            if data[0] & 1 and address <= 2:
                ident = (OTHER_CHIP_ID[address:] + bytes(n))[:n]
                return b"\x00" + ident
            return bytes(len(data))
        self._produce(now, cond)
        if data[0] & 1:
            if address == R.FIFO_DATA:
                body = self._pop_entries(n // 3) + bytes(n % 3)
                return b"\x00" + body
            return b"\x00" + self._read(address, n, now)
        self._write(address, data[1:], now)
        return bytes(len(data))

    def _read(self, address: int, n: int, now: float) -> bytes:
        out = bytearray(n)
        a = address
        for i in range(n):
            out[i] = self._read_register(a, now)
            if a != R.FIFO_DATA:
                a = (a + 1) & 0x3F
        return bytes(out)

    def _read_register(self, a: int, now: float) -> int:
        r = self.regs
        if a == R.STATUS:
            value = R.STATUS_DATA_RDY if self._rate is not None else 0
            if self.entries >= max(1, r[R.FIFO_SAMPLES]):
                value |= R.STATUS_FIFO_FULL
            if self._overrun:
                value |= R.STATUS_FIFO_OVR
                self._overrun = False
            return value
        if a == R.FIFO_ENTRIES:
            return self.entries
        if a in (R.TEMP2, R.TEMP1):
            raw = 1885  # 25 °C
            return (raw >> 8) & 0x0F if a == R.TEMP2 else raw & 0xFF
        if R.XDATA3 <= a <= R.XDATA3 + 8:
            if self._rate is None:
                return 0
            index = math.floor(now * self._rate)
            b, off = divmod(index, BLOCK)
            byte = self._encoded(b)[9 * off + (a - R.XDATA3)]
            return byte & 0xF0 if (a - R.XDATA3) % 3 == 2 else byte
        if a == R.FIFO_DATA:
            return self._pop_entries(1)[0]
        if a >= len(r):
            return 0
        return r[a]

    def _write(self, address: int, values: bytes, now: float) -> None:
        a = address
        for value in values:
            if a == R.RESET:
                if value == R.RESET_CODE:
                    self.power_on_reset()
            elif a not in _READ_ONLY and a < len(self.regs):
                self.regs[a] = value
            a = (a + 1) & 0x3F
        self._sync_mode(now)
