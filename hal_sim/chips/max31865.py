"""Register-level model of a MAX31865: configuration, continuous conversions at the filter's
rate, RTD result with fault bit, fault thresholds compared on every result, the fault
detection cycle (REFIN/RTDIN checks), fault clear, over/undervoltage flag."""

from __future__ import annotations

import math

import numpy as np

from drivers.max31865 import regs as R
from dsp_ext.rtd import CODE_FULL_SCALE, rtd_resistance

from ..signal import hashed_normal, stable_key
from ..sources import Conditions, SensorConditions, TemperatureSource, always_normal
from .base import ChipModel

LEAD_OHMS = 0.2  # what a shorted probe still reads
OTHER_CHIP = bytes((0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0))


class Max31865Model(ChipModel):
    """A MAX31865 with reference resistor `r_ref` reading an RTD of nominal `r0` ohm whose
    temperature and state come from `probe`."""

    def __init__(
        self,
        clock,
        probe: TemperatureSource,
        *,
        r_ref: float = 430.0,
        r0: float = 100.0,
        seed: int = 0,
        key: object = "rtd",
        conditions: Conditions = always_normal,
    ) -> None:
        self.probe = probe
        self.r_ref = r_ref
        self.r0 = r0
        self.key = stable_key("max31865", seed, key)
        self.overvoltage = False  # tests: an input pulled beyond the supplies
        super().__init__(clock, conditions)

    def power_on_reset(self) -> None:
        self.regs = bytearray(R.RESET_VALUES)
        self._frozen: int | None = None  # conversion index at which conversions stalled

    # -- conversions ------------------------------------------------------------------------

    def _rate(self) -> float:
        return 50.0 if self.regs[R.CONFIG] & R.CFG_FILTER_50HZ else 60.0

    def _converting(self) -> bool:
        return (self.regs[R.CONFIG] & (R.CFG_VBIAS | R.CFG_AUTO)) == (R.CFG_VBIAS | R.CFG_AUTO)

    def code_at(self, conversion: int, t: float) -> int:
        state = self.probe.probe(t)
        if state == "open":
            return R.CODE_MAX
        if state == "short":
            ohms = LEAD_OHMS
        else:
            ohms = float(rtd_resistance(self.probe.temperature(t), self.r0))
        noise = float(hashed_normal(self.key, np.array([conversion]))[0]) * 0.5
        code = math.floor(ohms / self.r_ref * CODE_FULL_SCALE + noise)
        return min(R.CODE_MAX, max(0, code))

    def _update_result(self, now: float, cond: SensorConditions) -> None:
        if not self._converting():
            return
        rate = self._rate()
        conversion = math.floor(now * rate)
        if cond.stalled:
            if self._frozen is None:
                self._frozen = conversion
            conversion = self._frozen
        else:
            self._frozen = None
        code = self.code_at(conversion, conversion / rate)
        high = (self.regs[R.HIGH_FAULT_MSB] << 8 | self.regs[R.HIGH_FAULT_LSB]) >> 1
        low = (self.regs[R.LOW_FAULT_MSB] << 8 | self.regs[R.LOW_FAULT_LSB]) >> 1
        status = self.regs[R.FAULT_STATUS]
        if code > high:
            status |= R.FAULT_HIGH
        if code < low:
            status |= R.FAULT_LOW
        if self.overvoltage:
            status |= R.FAULT_VOLTAGE
        self.regs[R.FAULT_STATUS] = status
        value = (code << 1) | (1 if status else 0)
        self.regs[R.RTD_MSB] = value >> 8
        self.regs[R.RTD_LSB] = value & 0xFF

    def _fault_cycle(self, now: float) -> None:
        status = self.regs[R.FAULT_STATUS]
        state = self.probe.probe(now)
        if state == "open":
            status |= R.FAULT_REFIN_HIGH  # no current through Rref: REFIN- sits at VBIAS
        if self.overvoltage:
            status |= R.FAULT_VOLTAGE
        self.regs[R.FAULT_STATUS] = status

    # -- SPI --------------------------------------------------------------------------------

    def transfer(self, data: bytes, now: float, cond: SensorConditions) -> bytes:
        if not data:
            return b""
        address = data[0] & 0x7F
        n = len(data) - 1
        if self.swapped:
            out = bytes(OTHER_CHIP[(address + i) % 8] for i in range(n))
            return b"\x00" + out if data[0] < R.WRITE else bytes(len(data))
        if data[0] & R.WRITE:
            for i, value in enumerate(data[1:]):
                self._write((address + i) % R.REGISTERS, value, now)
            return bytes(len(data))
        if address <= R.RTD_LSB < address + n:
            self._update_result(now, cond)
        out = bytes(self.regs[(address + i) % R.REGISTERS] for i in range(n))
        return b"\x00" + out

    def _write(self, address: int, value: int, now: float) -> None:
        if address in (R.RTD_MSB, R.RTD_LSB, R.FAULT_STATUS):
            return
        if address == R.CONFIG:
            if value & R.CFG_FAULT_CLEAR:
                self.regs[R.FAULT_STATUS] = 0
                self.regs[R.RTD_LSB] &= 0xFE
            if value & R.CFG_FAULT_CYCLE_MASK and value & R.CFG_VBIAS:
                self._fault_cycle(now)  # completes at once in the model
            value &= ~R.SELF_CLEARING & 0xFF
        self.regs[address] = value
