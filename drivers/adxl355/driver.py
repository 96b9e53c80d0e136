"""ADXL355 bring-up: identity, reset, self-test, output rate, range, measurement mode."""

from __future__ import annotations

import contextlib

from ..hal import Clock, RawBlock, SensorFault, SensorNotResponding, SpiDevice, WrongIdentity
from ..sensor import ByteRegisters, SensorDriver, Sleep, all_same, no_sleep
from . import regs
from .fifo import FifoStream

IDENTITY_TRIES = 3
SELF_TEST_SAMPLES = 8


class Adxl355(SensorDriver):
    """One ADXL355 on an SPI chip select, streaming X, Y, Z through its 32-sample FIFO."""

    kind = "accel"
    chip = "adxl355"
    channels = ("x", "y", "z")
    SPI_MODE = 0
    MAX_SPEED_HZ = 10_000_000

    def __init__(
        self,
        spi: SpiDevice,
        clock: Clock,
        *,
        odr_hz: float = 4000.0,
        range_g: int = 2,
        self_test: bool = True,
        sleep: Sleep | None = None,
        stall_timeout: float | None = None,
    ) -> None:
        super().__init__()
        if float(odr_hz) not in regs.ODR_CODES:
            raise ValueError(
                f"odr_hz: must be one of {', '.join(f'{r:g}' for r in regs.ODR_CODES)}, "
                f"got {odr_hz!r}"
            )
        if range_g not in regs.RANGE_BITS:
            raise ValueError(f"range_g: must be one of {tuple(regs.RANGE_BITS)}, got {range_g!r}")
        self.spi = spi
        self.clock = clock
        self.device = spi.name
        self.odr_hz = float(odr_hz)
        self.range_g = range_g
        self.full_scale = float(range_g)
        self.run_self_test = self_test
        self._sleep = sleep or no_sleep
        # 32 samples of FIFO: 8 ms at 4 kHz. Drain it twice per fill.
        self.fifo_seconds = (regs.FIFO_ENTRIES_MAX // 3) / self.odr_hz
        self.poll_interval = 0.5 * self.fifo_seconds
        timeout = stall_timeout if stall_timeout is not None else max(0.25, 10 / self.odr_hz)
        self.regs = ByteRegisters(spi, lambda a: (a << 1) | 1, lambda a: a << 1)
        self.fifo = FifoStream(spi, self.regs, clock, self._diagnose, timeout)
        self.self_test_g: tuple[float, float, float] | None = None
        self._expected: dict[int, int] = {}

    def start(self) -> None:
        self._started = False
        self.stats.starts += 1
        self.check_identity()
        self.reset()
        if self.run_self_test:
            self.self_test()
        self.configure()
        self.fifo.restart(self.odr_hz)
        self._started = True

    def check_identity(self) -> None:
        ident = b""
        for attempt in range(IDENTITY_TRIES):
            ident = self.regs.read(regs.DEVID_AD, 3)
            if tuple(ident) == regs.IDENTITY:
                return
            if not (all_same(ident, 0xFF) or all_same(ident, 0x00)):
                break
            if attempt + 1 < IDENTITY_TRIES:
                self.stats.retries += 1
                self._sleep(0.01)
        text = " ".join(f"{b:02X}" for b in ident)
        if all_same(ident, 0xFF) or all_same(ident, 0x00):
            raise SensorNotResponding(
                self.device,
                f"no answer (DEVID_AD, DEVID_MST, PARTID read {text}); "
                "check power, wiring and the chip select",
            )
        raise WrongIdentity(
            self.device,
            f"DEVID_AD, DEVID_MST, PARTID are {text}, expected AD 1D ED (ADXL355); "
            "is another chip on this chip select?",
        )

    def reset(self) -> None:
        self.regs.write(regs.RESET, regs.RESET_CODE)
        self._sleep(0.01)
        for _ in range(20):
            if not self.regs.read_u8(regs.STATUS) & regs.STATUS_NVM_BUSY:
                return
            self.stats.retries += 1
            self._sleep(0.001)
        raise SensorFault(self.device, "reset did not complete (NVM_BUSY stays set)")

    def configure(self) -> None:
        range_value = 0x80 | regs.RANGE_BITS[self.range_g]  # keep I2C_HS, INT_POL low
        self.regs.write(regs.RANGE, range_value)
        self.regs.write(regs.FILTER, regs.ODR_CODES[self.odr_hz])
        self.regs.write(regs.FIFO_SAMPLES, regs.FIFO_ENTRIES_MAX - 6)
        self.regs.write(regs.POWER_CTL, regs.POWER_TEMP_OFF)  # measurement mode
        self._expected = {
            regs.RANGE: range_value,
            regs.FILTER: regs.ODR_CODES[self.odr_hz],
            regs.POWER_CTL: regs.POWER_TEMP_OFF,
        }
        wrong = self.regs.mismatches(self._expected)
        if wrong:
            raise SensorFault(self.device, "configuration did not stick: " + ", ".join(wrong))
        self.regs.read(regs.FIFO_DATA, 3 * regs.FIFO_ENTRIES_MAX)  # empty the FIFO
        self.regs.read_u8(regs.STATUS)  # and its flags

    def self_test(self) -> None:
        """ST1 alone, then ST1 + ST2 (the electrostatic force): the output must move by the
        expected amount on every axis. Run at +-8 g so the force cannot clip."""
        self.regs.write(regs.RANGE, 0x80 | regs.RANGE_BITS[8])
        self.regs.write(regs.POWER_CTL, regs.POWER_TEMP_OFF)
        self.regs.write(regs.SELF_TEST, regs.ST1)
        self._sleep(0.05)
        base = self._average()
        self.regs.write(regs.SELF_TEST, regs.ST1 | regs.ST2)
        self._sleep(0.05)
        forced = self._average()
        self.regs.write(regs.SELF_TEST, 0x00)
        self.regs.write(regs.POWER_CTL, regs.POWER_STANDBY)
        g_per_lsb = regs.UG_PER_LSB[8] * 1e-6
        change = tuple(abs(f - b) * g_per_lsb for f, b in zip(forced, base, strict=True))
        self.self_test_g = change  # type: ignore[assignment]
        for axis, value, (lo, hi) in zip("XYZ", change, regs.SELF_TEST_LIMITS_G, strict=True):
            if not lo <= value <= hi:
                raise SensorFault(
                    self.device,
                    f"self-test failed: {axis} axis moved {value:.2f} g under the test force, "
                    f"expected {lo:g}..{hi:g} g",
                )

    def _average(self) -> tuple[float, float, float]:
        sums = [0.0, 0.0, 0.0]
        for _ in range(SELF_TEST_SAMPLES):
            raw = self.regs.read(regs.XDATA3, 9)
            for axis in range(3):
                b = raw[3 * axis : 3 * axis + 3]
                value = (b[0] << 12) | (b[1] << 4) | (b[2] >> 4)
                sums[axis] += value - (1 << 20) if value & 0x80000 else value
        return (
            sums[0] / SELF_TEST_SAMPLES,
            sums[1] / SELF_TEST_SAMPLES,
            sums[2] / SELF_TEST_SAMPLES,
        )

    def read_block(self) -> RawBlock | None:
        self._require_started()
        block = self.fifo.drain(self.range_g, self.odr_hz)
        if block is not None:
            self.stats.count(block)
        return block

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):  # the chip may be gone
                self.regs.write(regs.POWER_CTL, regs.POWER_STANDBY)
        self._started = False

    def _diagnose(self, symptom: str) -> None:
        ident = self.regs.read(regs.DEVID_AD, 3)
        if all_same(ident, 0xFF) or all_same(ident, 0x00):
            raise SensorNotResponding(
                self.device, f"{symptom}; the chip does not answer (check power and wiring)"
            )
        if tuple(ident) != regs.IDENTITY:
            raise WrongIdentity(
                self.device,
                f"{symptom}; identity is now {ident.hex(' ').upper()}, expected AD 1D ED: "
                "the chip was replaced",
            )
        wrong = self.regs.mismatches(self._expected)
        if wrong:
            raise SensorFault(
                self.device,
                f"{symptom}; configuration lost ({', '.join(wrong)}): the chip was reset or "
                "power-cycled",
            )
        raise SensorFault(self.device, f"{symptom}; the FIFO has stalled although configured")
