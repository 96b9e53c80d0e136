"""Simulated buses: an SPI bus routing each transfer to the chip model on its chip select,
and GPIO inputs wired to chip pins. They implement `drivers.hal`, so real drivers run on them
unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class SpiChip(Protocol):
    """A chip model: answers one full-duplex transfer with chip select held throughout."""

    def spi_transfer(self, data: bytes) -> bytes: ...


class SimSpiDevice:
    """One chip select of a SimSpiBus (satisfies drivers.hal.SpiDevice)."""

    def __init__(self, bus: SimSpiBus, cs: int) -> None:
        self.bus = bus
        self.cs = cs
        self.name = f"{bus.name}.{cs}"
        self.transfers = 0
        self.bytes = 0
        self.closed = False

    def transfer(self, data: bytes) -> bytes:
        if self.closed:
            raise OSError(f"{self.name}: transfer on a closed device")
        self.transfers += 1
        self.bytes += len(data)
        chip = self.bus.chips.get(self.cs)
        if chip is None:
            return b"\xff" * len(data)  # nothing there: MISO floats high
        return chip.spi_transfer(bytes(data))

    def close(self) -> None:
        self.closed = True


class SimSpiBus:
    """An SPI bus with chip models attached by chip select."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.chips: dict[int, SpiChip] = {}

    def attach(self, cs: int, chip: SpiChip) -> None:
        if cs in self.chips:
            raise ValueError(f"{self.name}: chip select {cs} already has a chip")
        self.chips[cs] = chip

    def device(self, cs: int) -> SimSpiDevice:
        return SimSpiDevice(self, cs)


class SimGpioInput:
    """A GPIO input reading a chip's output pin (satisfies drivers.hal.GpioInput)."""

    def __init__(self, name: str, level: Callable[[], bool]) -> None:
        self.name = name
        self._level = level

    def read(self) -> bool:
        return self._level()
