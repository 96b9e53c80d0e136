"""`esocore` command line: one subcommand per job, each in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import (
    __version__,
    analyze_command,
    export_command,
    gsd_command,
    keys_command,
    modbus_command,
    run_command,
    sim_command,
    status_command,
)
from .errors import UsageError
from .ui import admin_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esocore", description="EsoCore Edge condition-monitoring runtime"
    )
    parser.add_argument("--version", action="version", version=f"esocore {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_command.register(commands)
    sim_command.register(commands)
    status_command.register(commands)
    analyze_command.register(commands)
    keys_command.register(commands)
    export_command.register(commands)
    modbus_command.register(commands)
    gsd_command.register(commands)
    admin_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"esocore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
