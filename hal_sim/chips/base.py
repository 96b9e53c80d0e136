"""What every simulated chip shares: the clock, and what the plant (or a test) does to it."""

from __future__ import annotations

from dataclasses import replace

from drivers.hal import Clock

from ..sources import Conditions, SensorConditions, always_normal


class ChipModel:
    """Base of the register-level chip models.

    Unplugged, a chip leaves MISO floating (reads `miso_idle`). When it comes back it has been
    power-cycled, so its registers are back at their reset values, just like a real chip that
    lost power with its cable. A "wrong identity" is another chip on the same chip select: it
    also starts from reset, and the original chip returns from reset too.
    """

    miso_idle = 0xFF

    def __init__(self, clock: Clock, conditions: Conditions = always_normal) -> None:
        self.clock = clock
        self._plant_conditions = conditions
        self.forced = SensorConditions()
        self._unplugged = False
        self._swapped = False
        self.transfers = 0
        self.power_on_reset()

    def force(
        self,
        *,
        disconnected: bool | None = None,
        wrong_identity: bool | None = None,
        stalled: bool | None = None,
    ) -> None:
        """Impose conditions directly (tests), on top of whatever the plant does."""
        changes = {
            k: v
            for k, v in (
                ("disconnected", disconnected),
                ("wrong_identity", wrong_identity),
                ("stalled", stalled),
            )
            if v is not None
        }
        self.forced = replace(self.forced, **changes)

    def conditions(self, now: float) -> SensorConditions:
        plant = self._plant_conditions(now)
        f = self.forced
        if not (f.disconnected or f.wrong_identity or f.stalled):
            return plant
        return SensorConditions(
            plant.disconnected or f.disconnected,
            plant.wrong_identity or f.wrong_identity,
            plant.stalled or f.stalled,
        )

    def spi_transfer(self, data: bytes) -> bytes:
        self.transfers += 1
        now = self.clock.now()
        cond = self.conditions(now)
        if cond.disconnected:
            self._unplugged = True
            return bytes((self.miso_idle,)) * len(data)
        if self._unplugged:
            self._unplugged = False
            self.power_on_reset()
        if cond.wrong_identity != self._swapped:
            self._swapped = cond.wrong_identity
            self.power_on_reset()
        return self.transfer(data, now, cond)

    # -- for subclasses ---------------------------------------------------------------------

    def power_on_reset(self) -> None:
        raise NotImplementedError

    def transfer(self, data: bytes, now: float, cond: SensorConditions) -> bytes:
        raise NotImplementedError

    @property
    def swapped(self) -> bool:
        return self._swapped
