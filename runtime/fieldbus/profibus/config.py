"""The `[profibus]` config section: the DP slave's station settings and its module list.

Checked here is what needs no knowledge of the plant (address range, baud rate, module
count); which machines the modules name is checked against the catalog when the slave's
configuration is built (`slave.build_modules`). Imports only pydantic and config.base so the
device config can include this section without an import cycle.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ...config.base import Strict

# The baud rates an RS-485 adapter can be set to and a PROFIBUS master uses (DP allows more,
# 3 to 12 Mbit/s, which no UART behind a Linux tty keeps up with: docs/profibus.md).
BAUD_RATES = (9600, 19200, 45450, 93750, 187500, 500000, 1500000)
ModuleKind = Literal["health", "status"]
MAX_MODULES = 20  # the device-related diagnosis (3 bytes per module) must fit one block
MAX_STATION = 125  # 126 is the default address of an unset slave (Set_Slave_Add), 127 broadcast
FROM_SWITCH = "switch"  # `address = "switch"`: read from the board's address DIP switch


class ProfibusModule(Strict):
    """One slot: a machine's data, all of it (`health`) or its status and alert code only."""

    machine: str
    kind: ModuleKind = "health"


class ProfibusConfig(Strict):
    """PROFIBUS DP-V0 slave on a serial RS-485 line."""

    enabled: bool = False
    port: str | None = None  # the RS-485 adapter's serial device, e.g. /dev/ttyUSB0
    # The station address, or "switch": read from the board's address DIP switch at start.
    address: int | Literal["switch"] = 8
    # Assigned by PROFIBUS International to the vendor's device; this one is not registered:
    # a product shipping the slave applies for its own and sets it here (and the GSD follows).
    ident_number: int = Field(0x0ECE, ge=0, le=0xFFFF)
    baud: int = 19200
    # The slots, in order; left out: one `health` module per machine in config order.
    modules: list[ProfibusModule] | None = None
    writes_enabled: bool = False  # outputs (acknowledge, mode) change the device only if set
    # Refuse a parameterisation without the response watchdog (Prm_Fault): a master that can
    # stop polling without the slave noticing is then an engineering error, not a surprise.
    require_watchdog: bool = False
    set_slave_address: bool = False  # allow Set_Slave_Add (SAP 55) from a master
    max_age_s: float = Field(10.0, gt=0)  # older values read NaN and status 3
    rts_direction: bool = False  # drive the adapter's transmitter with RTS (not auto-direction)

    @field_validator("address", mode="before")
    @classmethod
    def _address(cls, value: Any) -> Any:
        if value == FROM_SWITCH:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f'give a station address 0..{MAX_STATION} or "switch" (read from the '
                f"board's address switch), got {value!r}"
            )
        if not 0 <= value <= MAX_STATION:
            raise ValueError(
                f"{value} is not a station address (0..{MAX_STATION}; 126 is the default "
                "address of an unset slave, 127 broadcast)"
            )
        return value

    @field_validator("baud")
    @classmethod
    def _baud(cls, value: int) -> int:
        if value not in BAUD_RATES:
            rates = ", ".join(str(b) for b in BAUD_RATES)
            raise ValueError(f"{value} is not a PROFIBUS baud rate this slave runs at ({rates})")
        return value

    @model_validator(mode="after")
    def _complete(self) -> ProfibusConfig:
        if self.enabled and not self.port:
            raise ValueError("give port (the serial device, e.g. /dev/ttyUSB0) to enable the slave")
        if self.modules is not None:
            if not self.modules:
                raise ValueError("modules: give at least one module (or leave modules out)")
            if len(self.modules) > MAX_MODULES:
                raise ValueError(f"modules: at most {MAX_MODULES} modules")
        return self


def address_problems(config: ProfibusConfig, has_switch: bool, board: str) -> list[str]:
    """What the board lacks for `config`'s address (by config path): "switch" needs a board
    with an address switch, checked with the board like every other setting that names it."""
    if config.address == FROM_SWITCH and not has_switch:
        return [
            f'profibus.address: "switch" needs a board with an address switch '
            f"([board.address_switch]); board {board!r} has none: give the station address "
            f"0..{MAX_STATION}"
        ]
    return []


def station_address(config: ProfibusConfig) -> int:
    """The configured address of a station about to start: a switch is read before that."""
    if not isinstance(config.address, int):
        raise ValueError("the station address is read from the switch before the slave starts")
    return config.address
