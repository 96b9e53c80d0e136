"""`esocore export`: stored history to a CSV, JSON or Parquet file, from the data directory,
whether or not the device is running (the store is opened read-only).

The rows, columns and time parsing are those of `GET /api/v1/telemetry/history/?format=...`
(runtime.api.formats, runtime.api.selection, runtime.api.timeparse), so a file made here and
one downloaded from the device are the same file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any

from .api.formats import FORMATS, Progress, RowFormatter, limit_rows, stream
from .api.selection import (
    RESOLUTIONS,
    Selection,
    SelectionError,
    UnknownIdError,
    check_known,
    id_list,
    parse_axes,
)
from .api.timeparse import TimeParseError, parse_range, zone
from .errors import UsageError

CHUNK_ROWS = 50_000


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "export",
        help="export stored history to CSV, JSON or Parquet",
        description="Export stored readings in [--start, --end) to a file. Times are ISO 8601; "
        "naive times and bare dates are in the device's time zone (config device.timezone). "
        "--end defaults to now, --start to 24 h before --end. Filters may repeat or hold "
        "comma-separated lists.",
    )
    p.add_argument(
        "--format", choices=tuple(FORMATS), help="file format (default: from the -o suffix)"
    )
    p.add_argument("--start", help="first time, e.g. 2026-03-01T00:00:00Z or 2026-03-01")
    p.add_argument("--end", help="end time (exclusive); default now")
    p.add_argument("--device", action="append", metavar="ID", help="machine id (repeatable)")
    p.add_argument("--sensor", action="append", metavar="ID", help="sensor id (repeatable)")
    p.add_argument("--metric", action="append", metavar="NAME", help="metric (repeatable)")
    p.add_argument(
        "--axis",
        action="append",
        metavar="AXIS",
        help="overall (default), x, y, z or all (repeatable)",
    )
    p.add_argument("--resolution", choices=RESOLUTIONS, default="raw")
    p.add_argument("--data-dir", default="data", help="the device's data directory (./data)")
    p.add_argument(
        "--config",
        help="device config, for sensor names and the time zone (default: as `esocore run`)",
    )
    p.add_argument("--board", help="board name or file (default: from the config, 'sim')")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file, - for stdout"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .store import Store, StoreError

    fmt = _format(args.format, args.output)
    names, tz, known_sensors, known_devices = _device_view(args.config, args.board, args.data_dir)
    try:
        store = Store(args.data_dir, readonly=True)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        selection = _selection(args, tz, store, known_sensors, known_devices)
        total = (
            0
            if args.quiet
            else store.count_readings(selection.start, selection.end, **selection.store_filters())
        )
        progress = _ProgressBar(total, draw=not args.quiet)
        started = time.perf_counter()
        blocks = export_blocks(store, selection, names, fmt, CHUNK_ROWS, progress=progress)
        written = _write(blocks, args.output)
        progress.finish()
    finally:
        store.close()
    if not args.quiet:
        elapsed = time.perf_counter() - started
        where = "stdout" if args.output == "-" else args.output
        print(
            f"exported {progress.done} rows ({written} bytes, {fmt}) to {where} in {elapsed:.1f} s",
            file=sys.stderr,
        )
    return 0


def export_blocks(
    store: Any,
    selection: Selection,
    names: Mapping[str, str],
    fmt: str,
    chunk_rows: int,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The export file of `selection` as byte blocks, read from `store` in `chunk_rows`
    steps and cut after `limit` rows if given. The one code path behind `esocore export` and
    the API's file downloads (formatted in a child process, runtime.export_child), so both
    make the same file."""
    chunks = store.iter_reading_columns(
        selection.start, selection.end, chunk_size=chunk_rows, **selection.store_filters()
    )
    if limit is not None:
        chunks = limit_rows(chunks, limit)
    return stream(fmt, chunks, RowFormatter(names, selection.resolution), progress)


def _format(given: str | None, output: str) -> str:
    if given:
        return given
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise UsageError(
        f"--format: give csv, json or parquet (cannot tell from the file name {output!r})"
    )


def _device_view(
    config_path: str | None, board: str | None, data_dir: str
) -> tuple[dict[str, str], tzinfo, set[str], set[str]]:
    """Sensor names, time zone and configured ids, from the config the device runs with
    (--config, else DATA_DIR/device.toml, else the board's shipped one, as `esocore run`
    chooses) and the board file, for sensors the config leaves unnamed."""
    from board import BoardError, load_board

    from .config import ConfigError
    from .session import resolve_config

    try:
        config = resolve_config(config_path, board, data_dir)
    except ConfigError as exc:
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise UsageError(f"{exc.source}: {exc.problems[0]}{more}") from None
    board_names: dict[str, str] = {}
    with contextlib.suppress(BoardError, OSError):
        board_names = {s.id: s.name for s in load_board(board or config.device.board).sensors}
    names = {
        mount.sensor: mount.name or board_names.get(mount.sensor, mount.sensor)
        for machine in config.machines
        for mount in machine.sensors
    }
    machines = {m.id for m in config.machines}
    return names, zone(config.device.timezone), set(names), machines


def _selection(
    args: argparse.Namespace,
    tz: tzinfo,
    store: Any,
    known_sensors: set[str],
    known_devices: set[str],
) -> Selection:
    try:
        span = parse_range(args.start, args.end, tz, time.time(), ("--start", "--end"))
        selection = Selection(
            span.start,
            span.end,
            device_ids=id_list(args.device),
            sensor_ids=id_list(args.sensor),
            metrics=id_list(args.metric),
            axes=parse_axes(args.axis),
            resolution=args.resolution,
        )
        check_known(selection, store, known_sensors, known_devices)
    except (TimeParseError, SelectionError, UnknownIdError) as exc:
        message = str(exc)
        if message.startswith(("metric: ", "axis: ")):  # name the option, not the API field
            message = "--" + message
        raise UsageError(message) from None
    return selection


def _write(blocks: Any, output: str) -> int:
    """Write the blocks; a file appears complete or not at all (temp file, then rename)."""
    written = 0
    if output == "-":
        out = sys.stdout.buffer
        for block in blocks:
            out.write(block)
            written += len(block)
        out.flush()
        return written
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as handle:
            for block in blocks:
                handle.write(block)
                written += len(block)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"-o {output}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


class _ProgressBar:
    """Counts the rows written and, when drawing, shows
    `[#####.....]  45.0%  450000/1000000 rows` on stderr, redrawn at most 10 times a second."""

    def __init__(
        self, total: int, draw: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.draw = draw
        self.clock = clock
        self.done = 0
        self._last = -1.0

    def __call__(self, done: int) -> None:
        self.done = done
        now = self.clock()
        if self.draw and now - self._last >= 0.1:
            self._last = now
            self._render()

    def _render(self) -> None:
        width = 30
        share = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(width * share)
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r[{bar}] {100 * share:5.1f}% {self.done}/{self.total} rows")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.draw:
            self.total = max(self.total, self.done)
            self._render()
            sys.stderr.write("\n")
