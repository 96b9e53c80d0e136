"""`esocore modbus-map`: the Modbus register map as a file for SCADA import."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from board import BoardError, load_board, open_board
from drivers.clock import VirtualClock

from .catalog import Catalog
from .config import DeviceConfig, load_config
from .device import BindingError, Device
from .errors import UsageError
from .fieldbus.exports import FORMATS, export_map
from .fieldbus.registermap import build_register_map
from .session import _NoStore, resolve_config_source


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "modbus-map", help="write the Modbus register map (CSV, XML, Ignition tags, Markdown)"
    )
    p.add_argument("--format", choices=FORMATS, default="csv", help="file format (csv)")
    p.add_argument(
        "--config",
        help="device config (default: DATA_DIR/device.toml if it exists, else the one shipped "
        "for the board)",
    )
    p.add_argument("--board", help="board name or file (default: from the config, 'sim')")
    p.add_argument("--data-dir", default="data", help="where the device's config lives (./data)")
    p.add_argument("--device-name", default="EsoCore_Edge", help="device name in XML/Ignition")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.set_defaults(handler=run)


def plant_catalog(config: DeviceConfig, board: str | None) -> Catalog:
    """The catalog a device with this config would show, without starting anything: the
    board's drivers are created (lazily opened, so no hardware is touched) and dropped."""
    clock = VirtualClock()
    try:
        hardware = open_board(load_board(board or config.device.board), clock)
    except BoardError as exc:
        raise UsageError(str(exc)) from None
    try:
        return Device(config, hardware.chips, clock, _NoStore(), lambda t: t).catalog
    except (BindingError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        hardware.close()


def run(args: argparse.Namespace) -> int:
    config = load_config(resolve_config_source(args.config, args.board, args.data_dir).path)
    regmap = build_register_map(config.modbus, plant_catalog(config, args.board))
    text = export_map(regmap, config.modbus, args.format, args.device_name)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
