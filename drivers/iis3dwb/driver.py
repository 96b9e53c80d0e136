"""IIS3DWB bring-up: identity, software reset, self-test, rate/range/FIFO configuration."""

from __future__ import annotations

import contextlib
import struct

from ..hal import Clock, RawBlock, SensorFault, SensorNotResponding, SpiDevice, WrongIdentity
from ..sensor import ByteRegisters, SensorDriver, Sleep, all_same, no_sleep
from . import regs
from .fifo import FifoStream

IDENTITY_TRIES = 3  # the chip needs 10 ms after power-up before it answers
RESET_POLLS = 20
DATA_POLLS = 200
SELF_TEST_SAMPLES = 5


class Iis3dwb(SensorDriver):
    """One IIS3DWB on an SPI chip select, streaming X, Y, Z at 26.667 kHz through its FIFO."""

    kind = "accel"
    chip = "iis3dwb"
    channels = ("x", "y", "z")
    odr_hz = regs.ODR_HZ
    SPI_MODE = 3
    MAX_SPEED_HZ = 10_000_000

    def __init__(
        self,
        spi: SpiDevice,
        clock: Clock,
        *,
        range_g: int = 16,
        watermark: int = 256,
        self_test: bool = True,
        sleep: Sleep | None = None,
        stall_timeout: float = 0.25,
    ) -> None:
        super().__init__()
        if range_g not in regs.RANGES_G:
            raise ValueError(f"range_g: must be one of {regs.RANGES_G}, got {range_g!r}")
        if not 1 <= watermark < regs.FIFO_WORDS:
            raise ValueError(f"watermark: must be 1..{regs.FIFO_WORDS - 1} words, got {watermark}")
        self.spi = spi
        self.clock = clock
        self.device = spi.name
        self.range_g = range_g
        self.full_scale = float(range_g)
        self.watermark = watermark
        self.run_self_test = self_test
        self._sleep = sleep or no_sleep
        # The FIFO fills in 19.2 ms at full rate: drain it twice per fill.
        self.fifo_seconds = regs.FIFO_WORDS / regs.ODR_HZ
        self.poll_interval = 0.5 * self.fifo_seconds
        self.regs = ByteRegisters(spi, lambda a: regs.READ | a, lambda a: a)
        self.fifo = FifoStream(spi, self.regs, clock, self._diagnose, stall_timeout)
        self.self_test_mg: tuple[float, float, float] | None = None

    # -- bring-up ---------------------------------------------------------------------------

    def start(self) -> None:
        self._started = False
        self.stats.starts += 1
        self.check_identity()
        self.reset()
        self.regs.write(regs.CTRL3_C, regs.CTRL3_BDU | regs.CTRL3_IF_INC)
        if self.run_self_test:
            self.self_test()
        self.configure()
        self.fifo.restart()
        self._started = True

    def check_identity(self) -> None:
        who = 0xFF
        for attempt in range(IDENTITY_TRIES):
            who = self.regs.read_u8(regs.WHO_AM_I)
            if who == regs.WHO_AM_I_VALUE:
                return
            if who not in (0x00, 0xFF):
                break
            if attempt + 1 < IDENTITY_TRIES:
                self.stats.retries += 1
                self._sleep(0.01)
        if who in (0x00, 0xFF):
            raise SensorNotResponding(
                self.device,
                f"no answer (WHO_AM_I reads 0x{who:02X} after {IDENTITY_TRIES} tries); "
                "check power, wiring and the chip select",
            )
        raise WrongIdentity(
            self.device,
            f"WHO_AM_I is 0x{who:02X}, expected 0x{regs.WHO_AM_I_VALUE:02X} (IIS3DWB); "
            "is another chip on this chip select?",
        )

    def reset(self) -> None:
        """Software reset: every register back to its default, FIFO emptied."""
        self.regs.write(regs.CTRL3_C, regs.CTRL3_SW_RESET | regs.CTRL3_IF_INC)
        for _ in range(RESET_POLLS):
            if not self.regs.read_u8(regs.CTRL3_C) & regs.CTRL3_SW_RESET:
                return
            self.stats.retries += 1
            self._sleep(0.001)
        raise SensorFault(self.device, "software reset did not complete (SW_RESET stays set)")

    def configure(self) -> None:
        """Full rate, the board's range, FIFO in continuous mode with the watermark set."""
        ctrl1 = regs.XL_EN_26K7 | regs.FS_BITS[self.range_g]
        self.regs.write(regs.CTRL1_XL, ctrl1)
        self.regs.write(regs.FIFO_CTRL1, self.watermark & 0xFF, (self.watermark >> 8) & 0x01)
        self.regs.write(regs.FIFO_CTRL3, regs.BDR_XL_26K7)
        self.regs.write(regs.FIFO_CTRL4, regs.FIFO_MODE_BYPASS)  # empties the FIFO
        self.regs.write(regs.FIFO_CTRL4, regs.FIFO_MODE_CONTINUOUS)
        expected = {
            regs.CTRL1_XL: ctrl1,
            regs.FIFO_CTRL3: regs.BDR_XL_26K7,
            regs.FIFO_CTRL4: regs.FIFO_MODE_CONTINUOUS,
        }
        wrong = self.regs.mismatches(expected)
        if wrong:
            raise SensorFault(self.device, "configuration did not stick: " + ", ".join(wrong))
        self._expected_config = expected

    def self_test(self) -> None:
        """ST's procedure: at +-4 g, average 5 samples without and with the positive
        electrostatic force; every axis must move by 800..3200 mg."""
        self.regs.write(regs.CTRL1_XL, regs.XL_EN_26K7 | regs.FS_BITS[regs.SELF_TEST_FS_G])
        self._sleep(0.1)
        baseline = self._average_output()
        self.regs.write(regs.CTRL5_C, regs.ST_POSITIVE)
        self._sleep(0.1)
        forced = self._average_output()
        self.regs.write(regs.CTRL5_C, 0x00)
        self.regs.write(regs.CTRL1_XL, 0x00)
        self._sleep(0.1)
        lsb = regs.MG_PER_LSB[regs.SELF_TEST_FS_G]
        change = tuple(abs(f - b) * lsb for f, b in zip(forced, baseline, strict=True))
        self.self_test_mg = change  # type: ignore[assignment]
        for axis, mg in zip("XYZ", change, strict=True):
            if not regs.SELF_TEST_MIN_MG <= mg <= regs.SELF_TEST_MAX_MG:
                raise SensorFault(
                    self.device,
                    f"self-test failed: {axis} axis moved {mg:.0f} mg under the test force, "
                    f"expected {regs.SELF_TEST_MIN_MG:.0f}..{regs.SELF_TEST_MAX_MG:.0f} mg",
                )

    def _average_output(self) -> tuple[float, float, float]:
        self._read_output()  # the first sample after a change is discarded
        sums = [0.0, 0.0, 0.0]
        for _ in range(SELF_TEST_SAMPLES):
            for i, v in enumerate(self._read_output()):
                sums[i] += v
        return (
            sums[0] / SELF_TEST_SAMPLES,
            sums[1] / SELF_TEST_SAMPLES,
            sums[2] / SELF_TEST_SAMPLES,
        )

    def _read_output(self) -> tuple[int, int, int]:
        for _ in range(DATA_POLLS):
            if self.regs.read_u8(regs.STATUS_REG) & regs.STATUS_XLDA:
                raw = self.regs.read(regs.OUTX_L_XL, 6)
                return struct.unpack("<3h", raw)  # type: ignore[return-value]
            self._sleep(0.0001)
        raise SensorNotResponding(self.device, "no new sample (XLDA never set) during self-test")

    # -- streaming --------------------------------------------------------------------------

    def read_block(self) -> RawBlock | None:
        self._require_started()
        block, overflow = self.fifo.drain(self.range_g)
        if block is not None:
            self.stats.count(block, overflow)
        return block

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):  # the chip may be gone
                self.regs.write(regs.FIFO_CTRL4, regs.FIFO_MODE_BYPASS)
                self.regs.write(regs.CTRL1_XL, 0x00)
        self._started = False

    # -- diagnosis --------------------------------------------------------------------------

    def _diagnose(self, symptom: str) -> None:
        """Find out why the FIFO looks wrong and raise the matching typed error."""
        probe = self.regs.read(regs.WHO_AM_I, 2)  # WHO_AM_I, CTRL1_XL
        if all_same(probe, 0xFF) or all_same(probe, 0x00):
            raise SensorNotResponding(
                self.device, f"{symptom}; the chip does not answer (check power and wiring)"
            )
        if probe[0] != regs.WHO_AM_I_VALUE:
            raise WrongIdentity(
                self.device,
                f"{symptom}; WHO_AM_I is now 0x{probe[0]:02X}, expected "
                f"0x{regs.WHO_AM_I_VALUE:02X}: the chip was replaced",
            )
        wrong = self.regs.mismatches(getattr(self, "_expected_config", {}))
        if wrong:
            raise SensorFault(
                self.device,
                f"{symptom}; configuration lost ({', '.join(wrong)}): the chip was reset or "
                "power-cycled",
            )
        raise SensorFault(self.device, f"{symptom}; the FIFO has stalled although configured")
