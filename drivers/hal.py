"""Hardware abstraction: the small bus interfaces every chip driver is written against.

`drivers.linux` implements them on spidev, pyserial and Linux GPIO; `hal_sim` implements them
with register-level chip models. A driver never knows which one it got.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Monotonic time in seconds. Real on a device, virtual in simulation."""

    def now(self) -> float: ...


@runtime_checkable
class SpiDevice(Protocol):
    """One chip select on an SPI bus. A transfer is full duplex: as many bytes come back as go
    out, the chip select held for the whole transfer (so a FIFO drain is one call)."""

    name: str

    def transfer(self, data: bytes) -> bytes: ...

    def close(self) -> None: ...


@runtime_checkable
class GpioInput(Protocol):
    """A digital input such as a data-ready (DRDY) or interrupt line."""

    name: str

    def read(self) -> bool: ...


@runtime_checkable
class UartPort(Protocol):
    """A serial port (RS-485 adapters for Modbus RTU and PROFIBUS)."""

    name: str

    def write(self, data: bytes) -> int: ...

    def read(self, size: int, timeout: float) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RawBlock:
    """A block of raw samples as a chip delivered them, with the header needed to decode it.

    Decoding to engineering units is dsp_ext's job (one bulk call per block), so drivers stay
    small and the hot path stays in C.
    """

    chip: str  # chip class: "iis3dwb", "adxl355", "ads131m04", "max31865"
    timestamp: float  # clock time of the first sample, s
    odr_hz: float  # output data rate of the samples in the block
    full_scale: float  # range setting: g for accelerometers, V for the ADC, ohm (Rref) for RTD
    count: int  # samples (sample sets for multi-axis/multi-channel chips) in the block
    payload: bytes  # the chip's own bytes, as read
    overflow: bool = False  # the chip reported lost samples before this block


class SensorError(Exception):
    """Base of every sensor fault a driver reports; `device` names the bus device."""

    def __init__(self, device: str, message: str) -> None:
        super().__init__(f"{device}: {message}")
        self.device = device


class SensorNotResponding(SensorError):
    """No answer, or an all-ones / all-zeros answer, from the chip."""


class WrongIdentity(SensorError):
    """The identity register holds another chip's value."""


class FifoOverflow(SensorError):
    """Samples were lost because the FIFO was not drained in time."""


class SensorFault(SensorError):
    """A fault the chip itself reports (RTD open or short, self-test failure, out of range)."""


class BusUnavailable(SensorError):
    """The bus device node (for example /dev/spidev0.0) is missing or cannot be opened."""
