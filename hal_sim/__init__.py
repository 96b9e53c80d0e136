"""Simulated hardware: buses, register-level chip models, machine and fault models, replay.

`hal_sim` implements `drivers.hal`, so the real drivers run against it unchanged. Boards
(`board/sim.toml`) wire it up; tests and tools can also build pieces directly.
"""

from .bus import SimGpioInput, SimSpiBus, SimSpiDevice
from .faults import (
    FAULT_DESCRIPTIONS,
    FAULT_KINDS,
    MACHINE_FAULTS,
    SENSOR_FAULTS,
    Fault,
    FaultError,
)
from .machine import DIRECTIONS, MachineModel, MachineSpec
from .plant import Plant
from .replay import ReplaySource
from .switch import SimDipSwitch

__all__ = [
    "DIRECTIONS",
    "FAULT_DESCRIPTIONS",
    "FAULT_KINDS",
    "MACHINE_FAULTS",
    "SENSOR_FAULTS",
    "Fault",
    "FaultError",
    "MachineModel",
    "MachineSpec",
    "Plant",
    "ReplaySource",
    "SimDipSwitch",
    "SimGpioInput",
    "SimSpiBus",
    "SimSpiDevice",
]
