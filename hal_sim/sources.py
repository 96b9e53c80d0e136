"""What a simulated chip measures: the signal sources behind its inputs.

A source is asked for whole blocks by absolute sample index, never for "the next samples", so
its output does not depend on when or how often the chip is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .machine import MachineModel
from .signal import noise_bank


class BlockSource(Protocol):
    """Samples in engineering units: (size, channels) float32 for block `index` at `rate`."""

    channels: int

    def block(self, rate: float, index: int, size: int) -> np.ndarray: ...

    def begin(self, first_index: int, rate: float) -> None:
        """The chip starts producing samples at absolute index `first_index` (replay starts
        its recording there)."""


class TemperatureSource(Protocol):
    def temperature(self, t: float) -> float: ...

    def probe(self, t: float) -> str:
        """State of the RTD probe at time t: "ok", "open" or "short"."""
        ...


@dataclass(frozen=True)
class SensorConditions:
    """What is being done to a chip at a moment: unplugged, swapped, or stalled."""

    disconnected: bool = False
    wrong_identity: bool = False
    stalled: bool = False


NORMAL = SensorConditions()
Conditions = Callable[[float], SensorConditions]


def always_normal(t: float) -> SensorConditions:
    return NORMAL


class MachineAccel:
    """A 3-axis accelerometer on a machine: chip axes map to mounting directions."""

    channels = 3

    def __init__(self, machine: MachineModel, key: int, directions: tuple[int, int, int]):
        self.machine = machine
        self.key = key
        self.directions = directions

    def block(self, rate: float, index: int, size: int) -> np.ndarray:
        return self.machine.accel_block(self.key, self.directions, rate, index, size)

    def begin(self, first_index: int, rate: float) -> None:
        pass


class QuietAccel:
    """An accelerometer on nothing: its own noise only."""

    channels = 3

    def __init__(self, seed: int, key: int, noise_m_s2: float = 0.02) -> None:
        self.seed, self.key, self.noise = seed, key, noise_m_s2

    def block(self, rate: float, index: int, size: int) -> np.ndarray:
        return noise_bank(self.seed).block(self.key, index, size, 3) * np.float32(self.noise)

    def begin(self, first_index: int, rate: float) -> None:
        pass


class MachineCurrent:
    """A clamp-on current transformer on one phase: volts = amps / amps_per_volt.

    Unplugged (`disconnected(t)` true at the block start), it reads nothing but input noise,
    just as a real clamp left hanging would.
    """

    channels = 1

    def __init__(
        self,
        machine: MachineModel,
        key: int,
        amps_per_volt: float,
        disconnected: Callable[[float], bool],
    ) -> None:
        self.machine = machine
        self.key = key
        self.volts_per_amp = 1.0 / amps_per_volt
        self.disconnected = disconnected

    def block(self, rate: float, index: int, size: int) -> np.ndarray:
        if self.disconnected(index * size / rate):
            noise = noise_bank(self.machine.seed).block(self.key, index, size, 1)
            return noise * np.float32(20e-6)
        amps = self.machine.current_block(self.key, rate, index, size)
        return (amps * np.float32(self.volts_per_amp))[:, None]

    def begin(self, first_index: int, rate: float) -> None:
        pass


class QuietChannel:
    """An ADC input with nothing connected: a few microvolts of noise."""

    channels = 1

    def __init__(self, seed: int, key: int) -> None:
        self.seed, self.key = seed, key

    def block(self, rate: float, index: int, size: int) -> np.ndarray:
        return noise_bank(self.seed).block(self.key, index, size, 1) * np.float32(5e-6)

    def begin(self, first_index: int, rate: float) -> None:
        pass


class MachineTemperature:
    """An RTD in the bearing housing of a machine; unplugged it is an open circuit."""

    def __init__(self, machine: MachineModel, disconnected: Callable[[float], bool]) -> None:
        self.machine = machine
        self.disconnected = disconnected

    def temperature(self, t: float) -> float:
        return self.machine.bearing_temperature(t)

    def probe(self, t: float) -> str:
        return "open" if self.disconnected(t) else "ok"


class FixedTemperature:
    """A probe at a set temperature (tests, or an RTD on a reference block)."""

    def __init__(self, celsius: float, probe: str = "ok") -> None:
        self.celsius = celsius
        self.state = probe

    def temperature(self, t: float) -> float:
        return self.celsius

    def probe(self, t: float) -> str:
        return self.state
