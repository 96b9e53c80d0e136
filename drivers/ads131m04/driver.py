"""ADS131M04 bring-up: identity, reset, rate, gains, and a check against the test signal."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from ..hal import (
    Clock,
    GpioInput,
    RawBlock,
    SensorFault,
    SensorNotResponding,
    SpiDevice,
    WrongIdentity,
)
from ..sensor import SensorDriver, Sleep, all_same, no_sleep
from . import regs
from .frames import NULL_FRAME, FrameStream, crc_ok


def _word(value: int) -> bytes:
    return bytes(((value >> 8) & 0xFF, value & 0xFF, 0))


class Ads131m04(SensorDriver):
    """The whole chip: four channels per frame. Boards usually hand out one AdcChannel per
    connected input instead (see channel.py); both read through this class."""

    kind = "voltage"
    chip = "ads131m04"
    channels = ("ch0", "ch1", "ch2", "ch3")
    SPI_MODE = 1
    MAX_SPEED_HZ = 8_000_000

    def __init__(
        self,
        spi: SpiDevice,
        drdy: GpioInput,
        clock: Clock,
        *,
        odr_hz: float = 1000.0,
        gains: Sequence[int] = (1, 1, 1, 1),
        clkin_hz: float = regs.CLKIN_HZ,
        self_test: bool = True,
        sleep: Sleep | None = None,
        stall_timeout: float | None = None,
    ) -> None:
        super().__init__()
        rates = regs.output_rates(clkin_hz)
        match = [r for r in rates if abs(r - odr_hz) <= 1e-6 * r]
        if not match:
            raise ValueError(
                f"odr_hz: must be one of {', '.join(f'{r:g}' for r in rates)} with CLKIN "
                f"{clkin_hz / 1e6:g} MHz, got {odr_hz!r}"
            )
        if len(gains) != regs.CHANNELS or any(g not in regs.GAINS for g in gains):
            raise ValueError(f"gains: four of {regs.GAINS}, got {tuple(gains)!r}")
        self.spi = spi
        self.drdy = drdy
        self.clock = clock
        self.device = spi.name
        self.odr_hz = match[0]
        self._osr_code = rates[match[0]]
        self.gains = tuple(int(g) for g in gains)
        self.full_scale = regs.REFERENCE_V / self.gains[0]
        self.run_self_test = self_test
        self._sleep = sleep or no_sleep
        # Two conversions of buffer: a drain must come within two conversion periods of the
        # last. Polling every half period, a late poll is made good by the next one half a
        # period later: the loop may stall up to 1.5 periods instead of one without a loss.
        self.poll_interval = 0.5 / self.odr_hz
        timeout = stall_timeout if stall_timeout is not None else max(0.25, 20.0 / self.odr_hz)
        self.frames = FrameStream(spi, drdy, clock, self._diagnose, timeout, self._crc_error)
        self.healthy = False
        self.generation = 0  # bumps on every successful start (shared-chip bookkeeping)
        self.test_signal_v: tuple[float, ...] | None = None

    # -- framing ----------------------------------------------------------------------------

    def _frame(self, command: int, *data: int) -> bytes:
        words = [command, *data]
        tx = b"".join(_word(w) for w in words)
        tx += bytes(max(0, regs.FRAME_BYTES - len(tx)))
        reply = self.spi.transfer(tx)
        if len(reply) != len(tx):
            raise SensorNotResponding(self.device, f"short SPI reply: {len(reply)} bytes")
        return reply

    def _response(self, command: int, *data: int) -> int:
        """Send `command`, then a NULL frame, and return the NULL frame's response word."""
        self._frame(command, *data)
        reply = self._frame(regs.NULL)
        if all_same(reply, 0xFF) or all_same(reply, 0x00):
            raise SensorNotResponding(
                self.device,
                "no answer (frames read all ones or zeros); check power, CLKIN, "
                "wiring and the chip select",
            )
        if not crc_ok(reply):
            raise SensorNotResponding(self.device, "frame CRC mismatch: garbled SPI link")
        return reply[0] << 8 | reply[1]

    def read_register(self, address: int) -> int:
        return self._response(regs.RREG | (address << 7))

    def write_register(self, address: int, value: int) -> None:
        ack = self._response(regs.WREG | (address << 7), value)
        if ack != regs.WREG_ACK | (address << 7):
            raise SensorFault(
                self.device, f"write of register 0x{address:02X} not acknowledged (0x{ack:04X})"
            )

    # -- bring-up ---------------------------------------------------------------------------

    def start(self) -> None:
        self._started = False
        self.healthy = False
        self.stats.starts += 1
        ack = self._response(regs.RESET)
        self._sleep(0.001)
        if ack != regs.RESET_ACK:
            if ack & 0xFFF0 == 0xFF20:
                raise WrongIdentity(
                    self.device,
                    f"reset answered 0x{ack:04X}: a {ack & 0x0F}-channel ADS131M0x, "
                    "expected the 4-channel ADS131M04",
                )
            raise WrongIdentity(
                self.device, f"reset answered 0x{ack:04X}, expected 0x{regs.RESET_ACK:04X}"
            )
        self.check_identity()
        self.configure()
        if self.run_self_test:
            self.self_test()
        self._flush()
        self.frames.restart(self.odr_hz)
        self.healthy = True
        self.generation += 1
        self._started = True

    def check_identity(self) -> None:
        ident = self.read_register(regs.ID)
        if (ident >> 8) & 0x0F != regs.CHANNELS or ident >> 12 != 0x2:
            raise WrongIdentity(
                self.device, f"ID register is 0x{ident:04X}, expected 0x24xx (ADS131M04)"
            )

    def configure(self) -> None:
        mode = regs.MODE_WLENGTH_24 | regs.MODE_TIMEOUT  # clears the RESET flag
        clock = (0x0F << 8) | (self._osr_code << 2) | regs.CLOCK_PWR_HIGH_RESOLUTION
        gain = 0
        for channel, g in enumerate(self.gains):
            gain |= regs.GAINS.index(g) << (4 * channel)
        wanted = {regs.MODE: mode, regs.CLOCK: clock, regs.GAIN1: gain}
        for address, value in wanted.items():
            self.write_register(address, value)
        wrong = [
            f"register 0x{a:02X} is 0x{got:04X}, wrote 0x{v:04X}"
            for a, v in wanted.items()
            if (got := self.read_register(a)) != v
        ]
        if wrong:
            raise SensorFault(self.device, "configuration did not stick: " + ", ".join(wrong))
        self._expected = wanted

    def self_test(self) -> None:
        """Every channel must read the internal DC test signal, then ~0 V with its inputs
        shorted; a channel that does not is a broken ADC, not a quiet sensor."""
        readings = []
        for mux, expect in (
            (regs.MUX_TEST_POSITIVE, regs.TEST_SIGNAL_V),
            (regs.MUX_SHORTED, 0.0),
        ):
            for channel in range(regs.CHANNELS):
                self.write_register(regs.ch_cfg(channel), mux)
            self._sleep(5.0 / self.odr_hz)
            self._flush()
            frame = self._frame(regs.NULL)
            volts = [self._volts(frame, c) for c in range(regs.CHANNELS)]
            readings.append(tuple(volts))
            for channel, v in enumerate(volts):
                ok = 0.5 * expect <= v <= 1.5 * expect if expect else abs(v) <= regs.SHORTED_MAX_V
                if not ok:
                    what = "the test signal" if expect else "0 V with inputs shorted"
                    raise SensorFault(
                        self.device,
                        f"self-test failed: channel {channel} reads {v * 1e3:.1f} mV, "
                        f"expected {what} ({expect * 1e3:.0f} mV)",
                    )
        for channel in range(regs.CHANNELS):
            self.write_register(regs.ch_cfg(channel), regs.MUX_INPUT)
        self.test_signal_v = readings[0]

    def _volts(self, frame: bytes, channel: int) -> float:
        w = frame[3 + 3 * channel : 6 + 3 * channel]
        code = int.from_bytes(w, "big", signed=True)
        return code * regs.REFERENCE_V / (1 << 23) / self.gains[channel]

    def _flush(self) -> None:
        for _ in range(regs.FIFO_DEPTH + 1):
            self.spi.transfer(NULL_FRAME)

    # -- streaming --------------------------------------------------------------------------

    def read_block(self) -> RawBlock | None:
        self._require_started()
        try:
            block = self.frames.drain(self.full_scale)
        except Exception:
            self.healthy = False
            self._started = False
            raise
        if block is not None:
            self.stats.count(block)
        return block

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):  # the chip may be gone
                self._frame(regs.STANDBY)
        self._started = False
        self.healthy = False

    def _crc_error(self) -> None:
        self.stats.crc_errors += 1

    def _diagnose(self, symptom: str) -> None:
        reply = self._frame(regs.NULL)
        if all_same(reply, 0xFF) or all_same(reply, 0x00):
            raise SensorNotResponding(
                self.device, f"{symptom}; the ADC does not answer (check power and wiring)"
            )
        ack = self._response(regs.RREG | (regs.ID << 7))
        if (ack >> 8) & 0x0F != regs.CHANNELS or ack >> 12 != 0x2:
            raise WrongIdentity(
                self.device, f"{symptom}; ID register is now 0x{ack:04X}: the chip was replaced"
            )
        wrong = []
        for address, value in getattr(self, "_expected", {}).items():
            got = self.read_register(address)
            if got != value:
                wrong.append(f"register 0x{address:02X} is 0x{got:04X}, wrote 0x{value:04X}")
        if wrong:
            raise SensorFault(
                self.device,
                f"{symptom}; configuration lost ({', '.join(wrong)}): the ADC was reset or "
                "power-cycled",
            )
        raise SensorFault(self.device, f"{symptom}; conversions have stopped although configured")
