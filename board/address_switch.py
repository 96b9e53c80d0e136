"""The board's station-address DIP switch: its GPIO lines read once and turned into a number.

A fieldbus slave takes its address from the switch at start, as PROFIBUS devices do, so a
replaced unit comes up at the address its switch was set to without editing a config file.
The same reader runs on a real board (GPIO character device) and the simulated one (hal_sim),
so the simulator exercises the path a device takes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.hal import GpioInput, SensorError


class AddressSwitchError(Exception):
    """A line of the switch could not be read (no GPIO chip, line taken by another program)."""


@dataclass(frozen=True)
class SwitchReading:
    """What the switch showed: the number and each line's electrical level (bit 0 first), so
    a wrong reading can be traced to a line."""

    value: int
    levels: tuple[bool, ...]


def decode_switch(levels: Sequence[bool], active_low: bool) -> int:
    """The number the switch stands for: bit i is line i (least significant first); a closed
    switch is a 1, which reads low when `active_low` (pull-up wiring)."""
    value = 0
    for bit, high in enumerate(levels):
        if high != active_low:
            value |= 1 << bit
    return value


class AddressSwitch:
    """A DIP switch on GPIO inputs (drivers.hal.GpioInput, bit 0 first)."""

    def __init__(self, inputs: Sequence[GpioInput], active_low: bool) -> None:
        self.inputs = list(inputs)
        self.active_low = active_low

    @property
    def bits(self) -> int:
        return len(self.inputs)

    def read(self) -> SwitchReading:
        """Read every line once; AddressSwitchError names the line that failed and why."""
        levels: list[bool] = []
        for bit, line in enumerate(self.inputs):
            try:
                levels.append(bool(line.read()))
            except (OSError, SensorError) as exc:
                raise AddressSwitchError(
                    f"cannot read bit {bit} of the address switch ({line.name}): {exc}"
                ) from None
        return SwitchReading(decode_switch(levels, self.active_low), tuple(levels))

    def close(self) -> None:
        """Release the lines (a real board's GPIO requests); never raises."""
        for line in self.inputs:
            close = getattr(line, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
