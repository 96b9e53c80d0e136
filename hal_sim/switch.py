"""A simulated DIP switch on GPIO inputs, so the board's address-switch reader runs the same
code on the simulated board as on a real one: only the levels come from a setting instead of
a pin."""

from __future__ import annotations

from .bus import SimGpioInput


class SimDipSwitch:
    """A bank of switches wired to GPIO lines (bit 0 first). `value` is the number the closed
    switches stand for; with `active_low` a closed switch pulls its line low."""

    def __init__(self, lines: tuple[int, ...], active_low: bool, value: int) -> None:
        self.lines = lines
        self.active_low = active_low
        self.value = 0
        self.set(value)

    def set(self, value: int) -> None:
        """Set the switches (as a technician would, before the slave starts)."""
        if not 0 <= value < 1 << len(self.lines):
            raise ValueError(
                f"a {len(self.lines)}-bit switch holds 0..{(1 << len(self.lines)) - 1}, got {value}"
            )
        self.value = value

    def level(self, bit: int) -> bool:
        """The electrical level of bit `bit`'s line (True = high)."""
        closed = bool(self.value >> bit & 1)
        return not closed if self.active_low else closed

    def inputs(self) -> list[SimGpioInput]:
        """One GPIO input per line, least significant bit first."""
        return [
            SimGpioInput(f"sim:gpio{line}", lambda bit=bit: self.level(bit))
            for bit, line in enumerate(self.lines)
        ]
