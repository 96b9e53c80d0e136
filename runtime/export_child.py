"""The child process that formats one file export of the REST API.

    python -m runtime.export_child < job.json > file

Formatting a million rows holds an interpreter for seconds; in the device's own process it
competed for the GIL with the thread that drains the sensors' FIFOs, and samples were lost.
Here it runs in a process of its own, at a lower CPU priority, reading the SQLite store
read-only (WAL: readers never block the device's writer) and writing the file's bytes to
stdout, which the API relays to the client (runtime.api.export_process). The job (range,
filters, sensor names, limit) is resolved by the API and arrives as JSON on stdin; the file is
made by `esocore export`'s code path (runtime.export_command.export_blocks), so it is the same
file. Exit status 0 means the whole file was written; anything else, with the reason on
stderr, means the output is incomplete.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .priority import lower_process_priority

if TYPE_CHECKING:
    from .api.selection import Selection

MODULE = "runtime.export_child"
# Bigger than the default 64 KiB, so the child runs ahead of the HTTP thread in fewer,
# larger writes (Linux lets an unprivileged process go up to /proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named in the fcntl module from Python 3.10 on Linux


@dataclass(frozen=True)
class ExportJob:
    """Everything the child needs, already checked by the API: no config is read again, so
    the file names sensors as the running device does."""

    data_dir: str
    fmt: str
    selection: Selection
    sensor_names: dict[str, str]
    chunk_rows: int
    limit: int | None
    nice: int

    def to_json(self) -> bytes:
        from .store import ALL_AXES

        s = self.selection
        axes: Any = "all" if s.axes is ALL_AXES else list(s.axes)
        selection = {
            "start": s.start,
            "end": s.end,
            "device_ids": s.device_ids,
            "sensor_ids": s.sensor_ids,
            "metrics": s.metrics,
            "axes": axes,
            "resolution": s.resolution,
        }
        job = {
            "data_dir": self.data_dir,
            "format": self.fmt,
            "selection": selection,
            "sensor_names": self.sensor_names,
            "chunk_rows": self.chunk_rows,
            "limit": self.limit,
            "nice": self.nice,
        }
        return json.dumps(job).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ExportJob:
        from .api.selection import Selection
        from .store import ALL_AXES

        job = json.loads(data)
        s = job["selection"]
        selection = Selection(
            s["start"],
            s["end"],
            device_ids=_ids(s["device_ids"]),
            sensor_ids=_ids(s["sensor_ids"]),
            metrics=_ids(s["metrics"]),
            axes=ALL_AXES if s["axes"] == "all" else tuple(s["axes"]),
            resolution=s["resolution"],
        )
        return cls(
            job["data_dir"],
            job["format"],
            selection,
            dict(job["sensor_names"]),
            int(job["chunk_rows"]),
            job["limit"],
            int(job["nice"]),
        )


def _ids(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def write_export(job: ExportJob, out: Any) -> None:
    """Open the store read-only and write the job's file to the binary stream `out`."""
    from .export_command import export_blocks
    from .store import Store

    store = Store(job.data_dir, readonly=True)
    try:
        blocks = export_blocks(
            store, job.selection, job.sensor_names, job.fmt, job.chunk_rows, job.limit
        )
        for block in blocks:
            out.write(block)
        out.flush()
    finally:
        store.close()


def _widen_pipe(fd: int) -> None:
    with contextlib.suppress(OSError, ImportError):
        import fcntl

        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)


def main() -> int:
    raw = sys.stdin.buffer.read()
    # Before numpy and the store are imported, so every thread they start inherits it.
    lower_process_priority(int(json.loads(raw)["nice"]))
    _widen_pipe(sys.stdout.fileno())
    job = ExportJob.from_json(raw)
    try:
        write_export(job, sys.stdout.buffer)
    except BrokenPipeError:  # the API went away (client gone, device stopping)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 1
    except Exception as exc:  # the reason for the device's event log, on stderr
        print(f"export failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
