"""MAX31865 driver: configure, set fault thresholds, read conversions, decode faults.

The chip converts continuously (auto mode, 50 or 60 Hz filter); a read takes the latest result
from the RTD registers. Thresholds turn "too hot", "open" and "shorted" into fault bits; the
driver clears a fault once and reads again (the data sheet's way to drop a transient), and
raises SensorFault with a message that names the cause if it persists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from ..hal import Clock, RawBlock, SensorFault, SensorNotResponding, SpiDevice, WrongIdentity
from ..sensor import ByteRegisters, SensorDriver, Sleep, all_same, no_sleep
from . import regs


class Max31865(SensorDriver):
    """A MAX31865 reading one RTD against the reference resistor `r_ref` (ohm).

    `low_code`/`high_code` are the 15-bit fault thresholds (the board computes them from its
    temperature range); `to_celsius` turns ohms into °C for messages only.
    """

    kind = "temperature"
    chip = "max31865"
    channels = ("rtd",)
    SPI_MODE = 1
    MAX_SPEED_HZ = 5_000_000

    def __init__(
        self,
        spi: SpiDevice,
        clock: Clock,
        *,
        r_ref: float = 430.0,
        r0: float = 100.0,
        wires: int = 3,
        filter_hz: int = 50,
        sample_interval: float = 1.0,
        low_code: int = 0,
        high_code: int = regs.CODE_MAX,
        to_celsius: Callable[[float], float] | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__()
        if wires not in (2, 3, 4):
            raise ValueError(f"wires: must be 2, 3 or 4, got {wires!r}")
        if filter_hz not in (50, 60):
            raise ValueError(f"filter_hz: must be 50 or 60, got {filter_hz!r}")
        if not 0 <= low_code < high_code <= regs.CODE_MAX:
            raise ValueError(
                f"thresholds: need 0 <= low < high <= 32767, got {low_code}, {high_code}"
            )
        if not sample_interval > 0:
            raise ValueError(f"sample_interval: must be > 0 s, got {sample_interval!r}")
        self.spi = spi
        self.clock = clock
        self.device = spi.name
        self.r_ref = float(r_ref)
        self.r0 = float(r0)
        self.wires = wires
        self.filter_hz = filter_hz
        self.low_code = low_code
        self.high_code = high_code
        self.to_celsius = to_celsius
        self._sleep = sleep or no_sleep
        self.poll_interval = float(sample_interval)
        self.odr_hz = 1.0 / self.poll_interval
        self.full_scale = self.r_ref
        self.regs = ByteRegisters(spi, lambda a: a, lambda a: regs.WRITE | a)
        self.config = (
            regs.CFG_VBIAS
            | regs.CFG_AUTO
            | (regs.CFG_3WIRE if wires == 3 else 0)
            | (regs.CFG_FILTER_50HZ if filter_hz == 50 else 0)
        )

    # -- bring-up ---------------------------------------------------------------------------

    def start(self) -> None:
        self._started = False
        self.stats.starts += 1
        snapshot = self.regs.read(regs.CONFIG, regs.REGISTERS)
        if all_same(snapshot, 0xFF) or all_same(snapshot, 0x00):
            raise SensorNotResponding(
                self.device,
                f"no answer (all registers read 0x{snapshot[0]:02X}); "
                "check power, wiring and the chip select",
            )
        high, low = self.high_code << 1, self.low_code << 1
        self.regs.write(regs.HIGH_FAULT_MSB, high >> 8, high & 0xFF, low >> 8, low & 0xFF)
        echo = self.regs.read(regs.HIGH_FAULT_MSB, 4)
        if echo != bytes((high >> 8, high & 0xFF, low >> 8, low & 0xFF)):
            raise self._identity_error("fault threshold registers", echo)
        self.regs.write(regs.CONFIG, self.config | regs.CFG_FAULT_CLEAR)
        config = self.regs.read_u8(regs.CONFIG)
        if config & ~regs.SELF_CLEARING & 0xFF != self.config:
            raise self._identity_error("configuration register", bytes((config,)))
        status = self._fault_cycle()
        if status:
            raise SensorFault(self.device, self._describe(status, None))
        self._sleep(regs.CONVERSION_S[self.filter_hz])
        self._started = True

    def _identity_error(self, what: str, got: bytes) -> Exception:
        if all_same(got, 0xFF) or all_same(got, 0x00):
            return SensorNotResponding(
                self.device, f"no answer ({what} read back {got.hex(' ').upper()})"
            )
        return WrongIdentity(
            self.device,
            f"does not behave like a MAX31865: {what} read back {got.hex(' ').upper()} after "
            "a write; is another chip on this chip select?",
        )

    def _fault_cycle(self) -> int:
        """Run the automatic fault detection cycle and return the fault status (0: none)."""
        self.regs.write(regs.CONFIG, self.config | regs.CFG_FAULT_CYCLE_AUTO)
        for _ in range(10):
            self._sleep(0.001)
            if not self.regs.read_u8(regs.CONFIG) & regs.CFG_FAULT_CYCLE_MASK:
                break
        status = self.regs.read_u8(regs.FAULT_STATUS)
        self.regs.write(regs.CONFIG, self.config | regs.CFG_FAULT_CLEAR)
        return status

    # -- conversions ------------------------------------------------------------------------

    def read_block(self) -> RawBlock | None:
        self._require_started()
        now = self.clock.now()
        _, msb, lsb = self._read_result()
        if lsb & 0x01:
            # Clear and read again once: a transient (a spike on the leads) goes away.
            self.stats.retries += 1
            status = self.regs.read_u8(regs.FAULT_STATUS)
            status |= self._fault_cycle()
            self._sleep(regs.CONVERSION_S[self.filter_hz])
            _, msb, lsb = self._read_result()
            if lsb & 0x01:
                status |= self.regs.read_u8(regs.FAULT_STATUS)
                self.regs.write(regs.CONFIG, self.config | regs.CFG_FAULT_CLEAR)
                raise SensorFault(self.device, self._describe(status, (msb << 8 | lsb) >> 1))
        self.stats.blocks += 1
        self.stats.samples += 1
        return RawBlock(
            chip="max31865",
            timestamp=now,
            odr_hz=self.odr_hz,
            full_scale=self.r_ref,
            count=1,
            payload=bytes((msb, lsb)),
        )

    def _read_result(self) -> tuple[int, int, int]:
        raw = self.regs.read(regs.CONFIG, 3)
        if all_same(raw, 0xFF) or all_same(raw, 0x00):
            # Silence, or a chip just out of reset (its threshold registers tell them apart).
            snapshot = self.regs.read(regs.CONFIG, regs.REGISTERS)
            if all_same(snapshot, 0xFF) or all_same(snapshot, 0x00):
                raise SensorNotResponding(
                    self.device,
                    f"no answer (registers read 0x{raw[0]:02X}); check power and wiring",
                )
        if raw[0] & ~regs.SELF_CLEARING & 0xFF != self.config:
            snapshot = self.regs.read(regs.HIGH_FAULT_MSB, 4)
            high, low = self.high_code << 1, self.low_code << 1
            if snapshot == bytes((high >> 8, high & 0xFF, low >> 8, low & 0xFF)):
                raise SensorFault(
                    self.device, f"configuration changed to 0x{raw[0]:02X} behind our back"
                )
            if snapshot == regs.RESET_VALUES[3:7]:
                raise SensorFault(
                    self.device, "configuration lost: the chip was reset or power-cycled"
                )
            raise WrongIdentity(
                self.device,
                f"registers no longer read back what was written (config 0x{raw[0]:02X}, "
                f"thresholds {snapshot.hex(' ').upper()}): the chip was replaced",
            )
        return raw[0], raw[1], raw[2]

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):  # the chip may be gone
                self.regs.write(regs.CONFIG, 0x00)  # bias off: no self-heating while idle
        self._started = False

    # -- messages ---------------------------------------------------------------------------

    def _ohms(self, code: int) -> str:
        ohms = code * self.r_ref / 32768
        if self.to_celsius is None:
            return f"{ohms:.1f} ohm"
        return f"{ohms:.1f} ohm, {self.to_celsius(ohms):.1f} °C"

    def _describe(self, status: int, code: int | None) -> str:
        causes: list[str] = []
        if (code is not None and code >= regs.OPEN_CODE) or status & regs.FAULT_REFIN_HIGH:
            causes.append("open RTD or broken lead")
        elif status & regs.FAULT_HIGH and code is not None:
            causes.append(
                f"temperature above range ({self._ohms(code)} > limit {self._ohms(self.high_code)})"
            )
        if status & regs.FAULT_LOW and code is not None:
            if code * self.r_ref / 32768 < 0.2 * self.r0:
                causes.append(f"shorted RTD ({self._ohms(code)})")
            else:
                causes.append(
                    f"temperature below range ({self._ohms(code)} < limit "
                    f"{self._ohms(self.low_code)})"
                )
        bits = [text for bit, text in regs.FAULT_TEXT.items() if status & bit]
        summary = "; ".join(causes) if causes else "RTD fault"
        return f"{summary} [fault status 0x{status:02X}: {', '.join(bits) or 'none'}]"
