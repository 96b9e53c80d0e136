"""Board descriptions and bring-up.

spec = load_board("sim")               # a packaged board by name, or a path to a .toml
board = open_board(spec, clock, seed=0)
board.sensors       {sensor id: SensorDriver}
board.sensor_info   {sensor id: SensorInfo}  (kind, chip, machine, mounting, unit, decode...)
board.chips         [BoardChip]              (a chip with every sensor it carries)
board.plant         Plant on a simulated board (fault injection), else None
board.address_switch  AddressSwitch (station-address DIP switch) if the board has one
board.close()
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .address_switch import AddressSwitch, AddressSwitchError, SwitchReading, decode_switch
from .bringup import Board, BoardChip, SensorInfo, open_board
from .model import (
    AddressSwitchSpec,
    BoardError,
    BoardSpec,
    ReplaySpec,
    SensorSpec,
    SpiBusSpec,
    read_board_file,
)

DEFAULT_BOARD = "sim"


def available_boards() -> list[str]:
    """Names of the board files shipped with the package."""
    root = resources.files(__name__)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def board_path(name: str) -> Path:
    """Path of the packaged board file `name` (works after a non-editable install too)."""
    resource = resources.files(__name__) / f"{name}.toml"
    if not resource.is_file():
        raise BoardError(
            name, [f"no board named {name!r}; boards: {', '.join(available_boards())}"]
        )
    return Path(str(resource))


def load_board(name_or_path: str | Path = DEFAULT_BOARD) -> BoardSpec:
    """A validated board: a packaged name ("sim", "rpi4") or a path to a board file."""
    text = str(name_or_path)
    path = Path(text)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text:
        if not path.is_file():
            raise BoardError(text, ["no such board file"])
        return read_board_file(path)
    return read_board_file(board_path(text))


__all__ = [
    "DEFAULT_BOARD",
    "AddressSwitch",
    "AddressSwitchError",
    "AddressSwitchSpec",
    "Board",
    "BoardChip",
    "BoardError",
    "BoardSpec",
    "ReplaySpec",
    "SensorInfo",
    "SensorSpec",
    "SpiBusSpec",
    "SwitchReading",
    "available_boards",
    "board_path",
    "decode_switch",
    "load_board",
    "open_board",
]
