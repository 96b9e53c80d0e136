"""`esocore gsd`: the PROFIBUS DP slave's GSD file, for import into an engineering tool."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import load_config
from .fieldbus.profibus.gsd import gsd_name, gsd_text
from .fieldbus.profibus.service import with_overrides
from .fieldbus.profibus.slave import build_modules
from .modbus_command import plant_catalog
from .session import resolve_config_source


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "gsd", help="write the PROFIBUS DP GSD file (modules from the configured machines)"
    )
    p.add_argument(
        "--config",
        help="device config (default: DATA_DIR/device.toml if it exists, else the one shipped "
        "for the board)",
    )
    p.add_argument("--board", help="board name or file (default: from the config, 'sim')")
    p.add_argument("--data-dir", default="data", help="where the device's config lives (./data)")
    p.add_argument(
        "--profibus-address", type=int, metavar="N", help="station address named in the file"
    )
    p.add_argument(
        "--output",
        "-o",
        help="write to this file (a directory: the conventional name, e.g. ESOC0ECE.GSD) "
        "instead of standard output",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(resolve_config_source(args.config, args.board, args.data_dir).path)
    profibus = with_overrides(config.profibus, None, args.profibus_address, None)
    modules = build_modules(profibus, plant_catalog(config, args.board))
    text = gsd_text(profibus, modules)
    if args.output:
        target = Path(args.output)
        if target.is_dir():
            target = target / gsd_name(profibus)
        target.write_bytes(text.encode("ascii"))
        print(f"esocore gsd: wrote {target}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(text.encode("ascii"))
        sys.stdout.flush()
    return 0
