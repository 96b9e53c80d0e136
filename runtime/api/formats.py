"""History rows as JSON, CSV and Parquet: one formatter for the API and `esocore export`.

Every format has the same columns, in this order: ``timestamp`` (ISO 8601 UTC with a Z,
millisecond precision; a UTC timestamp column in Parquet), ``device_id``, ``sensor_id``,
``sensor_name``, ``metric``, ``axis`` (null / empty for the overall value), ``value``, ``unit``,
and for rollups (resolution 1m or 1h: ``timestamp`` is the bucket start, ``value`` the mean)
``min``, ``max``, ``count``.

Rows come from the store as numpy column chunks (``Store.iter_reading_columns``), so a
million rows never become a million Python objects: the text of everything that belongs to a
series (ids, name, unit) is made once per series, timestamps are formatted by numpy, and each
row costs one string join. Numbers are written in Python's shortest round-trip form, so CSV
and JSON read back to exactly the stored float.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store import ColumnChunk, HistoryRow

RAW_COLUMNS = (
    "timestamp",
    "device_id",
    "sensor_id",
    "sensor_name",
    "metric",
    "axis",
    "value",
    "unit",
)
ROLLUP_COLUMNS = (*RAW_COLUMNS, "min", "max", "count")

SeriesMeta = tuple[str, str, str, str | None, str]  # device, sensor, metric, axis, unit


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class ExportFormat:
    name: str
    media_type: str
    extension: str


FORMATS = {
    "csv": ExportFormat("csv", "text/csv; charset=utf-8", "csv"),
    "json": ExportFormat("json", "application/json", "json"),
    "parquet": ExportFormat("parquet", "application/vnd.apache.parquet", "parquet"),
}
# Accept header media types that ask for a file (JSON stays the paged default).
ACCEPT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
}


def format_from_accept(accept: str | None) -> str | None:
    """The export format an Accept header asks for, or None (a JSON page)."""
    if not accept:
        return None
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ACCEPT_TYPES:
            return ACCEPT_TYPES[media]
        if media in ("application/json", "*/*", "application/*"):
            return None
    return None


@dataclass(frozen=True)
class _SeriesText:
    json_head: str  # '"device_id":...,"axis":null,"value":'
    json_tail: str  # ',"unit":"mm/s"'
    csv_head: str  # 'motor-1,motor-1-accel,"Motor 1, DE",vibration_rms,,'
    csv_tail: str  # ',mm/s'
    labels: tuple[str, str, str, str, str | None, str]  # device, sensor, name, metric, axis, unit


class RowFormatter:
    """Turns column chunks into text or Arrow batches; caches each series' labels."""

    def __init__(self, sensor_names: Mapping[str, str], resolution: str = "raw") -> None:
        self.sensor_names = dict(sensor_names)
        self.rollup = resolution != "raw"
        self.columns = ROLLUP_COLUMNS if self.rollup else RAW_COLUMNS
        self._series: dict[SeriesMeta, _SeriesText] = {}

    # -- per series ------------------------------------------------------------------------

    def _text(self, meta: SeriesMeta) -> _SeriesText:
        found = self._series.get(meta)
        if found is None:
            device, sensor, metric, axis, unit = meta
            name = self.sensor_names.get(sensor, sensor)
            dumps = _dumps
            json_head = (
                f'"device_id":{dumps(device)},"sensor_id":{dumps(sensor)},'
                f'"sensor_name":{dumps(name)},"metric":{dumps(metric)},'
                f'"axis":{dumps(axis)},"value":'
            )
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="")
            writer.writerow([device, sensor, name, metric, axis or "", ""])
            csv_head = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(["", unit])
            found = _SeriesText(
                json_head,
                f',"unit":{dumps(unit)}',
                csv_head,
                buffer.getvalue(),
                (device, sensor, name, metric, axis, unit),
            )
            self._series[meta] = found
        return found

    def _per_row(self, chunk: ColumnChunk) -> tuple[list[_SeriesText], np.ndarray]:
        """The series text of every row: unique ids once, then a take."""
        ids, inverse = np.unique(chunk.series_id, return_inverse=True)
        texts = [self._text(chunk.series[int(sid)]) for sid in ids.tolist()]
        return texts, inverse

    # -- text ------------------------------------------------------------------------------

    def json_rows(self, chunk: ColumnChunk) -> list[str]:
        """One JSON object (text) per row."""
        if not len(chunk):
            return []
        texts, inverse = self._per_row(chunk)
        heads = [t.json_head for t in texts]
        tails = [t.json_tail for t in texts]
        index = inverse.tolist()
        stamps = timestamps(chunk.ts)
        values = map(repr, chunk.value.tolist())
        if not self.rollup:
            return [
                f'{{"timestamp":"{t}",{heads[i]}{v}{tails[i]}}}'
                for t, i, v in zip(stamps, index, values, strict=True)
            ]
        extras = zip(
            map(repr, chunk.min.tolist()),
            map(repr, chunk.max.tolist()),
            chunk.count.tolist(),
            strict=True,
        )
        return [
            f'{{"timestamp":"{t}",{heads[i]}{v}{tails[i]},"min":{lo},"max":{hi},"count":{n}}}'
            for t, i, v, (lo, hi, n) in zip(stamps, index, values, extras, strict=True)
        ]

    def csv_header(self) -> str:
        return ",".join(self.columns) + "\n"

    def csv_text(self, chunk: ColumnChunk) -> str:
        """The chunk's CSV lines (no header), each ending in a newline."""
        if not len(chunk):
            return ""
        texts, inverse = self._per_row(chunk)
        heads = [t.csv_head for t in texts]
        tails = [t.csv_tail for t in texts]
        index = inverse.tolist()
        stamps = timestamps(chunk.ts)
        values = map(repr, chunk.value.tolist())
        if not self.rollup:
            lines = [
                f"{t},{heads[i]}{v}{tails[i]}\n"
                for t, i, v in zip(stamps, index, values, strict=True)
            ]
        else:
            extras = zip(
                map(repr, chunk.min.tolist()),
                map(repr, chunk.max.tolist()),
                chunk.count.tolist(),
                strict=True,
            )
            lines = [
                f"{t},{heads[i]}{v}{tails[i]},{lo},{hi},{n}\n"
                for t, i, v, (lo, hi, n) in zip(stamps, index, values, extras, strict=True)
            ]
        return "".join(lines)

    # -- Arrow -----------------------------------------------------------------------------

    def arrow_schema(self) -> Any:
        import pyarrow as pa

        fields = [
            pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=False),
            pa.field("device_id", pa.string(), nullable=False),
            pa.field("sensor_id", pa.string(), nullable=False),
            pa.field("sensor_name", pa.string(), nullable=False),
            pa.field("metric", pa.string(), nullable=False),
            pa.field("axis", pa.string()),
            pa.field("value", pa.float64(), nullable=False),
            pa.field("unit", pa.string(), nullable=False),
        ]
        if self.rollup:
            fields += [
                pa.field("min", pa.float64(), nullable=False),
                pa.field("max", pa.float64(), nullable=False),
                pa.field("count", pa.int64(), nullable=False),
            ]
        return pa.schema(fields)

    def arrow_batch(self, chunk: ColumnChunk) -> Any:
        """The chunk as an Arrow record batch: label columns are a take from the chunk's
        few distinct series, so no Python string per row is made."""
        import pyarrow as pa

        texts, inverse = self._per_row(chunk)
        take = pa.array(inverse.astype(np.int32))
        labels = list(zip(*(t.labels for t in texts), strict=True)) or [()] * 6
        ms = np.rint(chunk.ts * 1000.0).astype(np.int64)
        columns = [pa.array(ms, type=pa.timestamp("ms", tz="UTC"))]
        columns += [pa.array(list(values), type=pa.string()).take(take) for values in labels[:5]]
        columns.append(pa.array(chunk.value, type=pa.float64()))
        columns.append(pa.array(list(labels[5]), type=pa.string()).take(take))
        if self.rollup:
            columns += [
                pa.array(chunk.min, type=pa.float64()),
                pa.array(chunk.max, type=pa.float64()),
                pa.array(chunk.count, type=pa.int64()),
            ]
        return pa.RecordBatch.from_arrays(columns, schema=self.arrow_schema())


def timestamps(ts: np.ndarray) -> list[str]:
    """ISO 8601 UTC with a Z and milliseconds, vectorised (as runtime.readings.iso_utc)."""
    ms = np.rint(ts * 1000.0).astype(np.int64).astype("datetime64[ms]")
    return [f"{t}Z" for t in np.datetime_as_string(ms, unit="ms").tolist()]


def chunk_from_rows(rows: list[HistoryRow]) -> ColumnChunk:
    """A page of HistoryRow records as a column chunk, for the same formatter."""
    ids: dict[SeriesMeta, int] = {}
    sids = [
        ids.setdefault((r.device_id, r.sensor_id, r.metric, r.axis, r.unit), len(ids)) for r in rows
    ]
    n = len(rows)
    return ColumnChunk(
        ts=np.fromiter((r.ts for r in rows), np.float64, n),
        series_id=np.asarray(sids, dtype=np.int64),
        value=np.fromiter((r.value for r in rows), np.float64, n),
        min=np.fromiter((r.min for r in rows), np.float64, n),
        max=np.fromiter((r.max for r in rows), np.float64, n),
        count=np.fromiter((r.count for r in rows), np.int64, n),
        series={sid: meta for meta, sid in ids.items()},
    )


def limit_rows(chunks: Iterator[ColumnChunk], limit: int) -> Iterator[ColumnChunk]:
    """At most ``limit`` rows of a chunk stream (stops reading once it has them)."""
    left = limit
    for chunk in chunks:
        if len(chunk) >= left:
            yield _head(chunk, left)
            return
        left -= len(chunk)
        yield chunk


def _head(chunk: ColumnChunk, n: int) -> ColumnChunk:
    return ColumnChunk(
        ts=chunk.ts[:n],
        series_id=chunk.series_id[:n],
        value=chunk.value[:n],
        min=chunk.min[:n],
        max=chunk.max[:n],
        count=chunk.count[:n],
        series=chunk.series,
    )


# -- whole files, streamed -------------------------------------------------------------------

Progress = Callable[[int], None]  # rows written so far


def stream(
    fmt: str,
    chunks: Iterable[ColumnChunk],
    formatter: RowFormatter,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The file, as a sequence of byte blocks (one or a few per chunk); nothing holds more
    than a chunk in memory."""
    writers = {"csv": _csv_file, "json": _json_file, "parquet": _parquet_file}
    try:
        writer = writers[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}") from None
    return writer(_counted(chunks, progress), formatter)


def _counted(chunks: Iterable[ColumnChunk], progress: Progress | None) -> Iterator[ColumnChunk]:
    done = 0
    for chunk in chunks:
        yield chunk
        done += len(chunk)
        if progress is not None:
            progress(done)


def _csv_file(chunks: Iterable[ColumnChunk], formatter: RowFormatter) -> Iterator[bytes]:
    yield formatter.csv_header().encode()
    for chunk in chunks:
        yield formatter.csv_text(chunk).encode()


def _json_file(chunks: Iterable[ColumnChunk], formatter: RowFormatter) -> Iterator[bytes]:
    """A JSON array, one object per line: the same objects as a history page."""
    opened = False
    for chunk in chunks:
        rows = formatter.json_rows(chunk)
        if not rows:
            continue
        yield (("[\n" if not opened else ",\n") + ",\n".join(rows)).encode()
        opened = True
    yield b"\n]\n" if opened else b"[]\n"


class _Sink:
    """A write-only file for ParquetWriter that hands out what was written so far."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        block = bytes(data)
        self._parts.append(block)
        self._position += len(block)
        return len(block)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _parquet_file(chunks: Iterable[ColumnChunk], formatter: RowFormatter) -> Iterator[bytes]:
    """One row group per chunk, streamed as it is written; the footer comes last."""
    import pyarrow.parquet as pq

    sink = _Sink()
    writer = pq.ParquetWriter(sink, formatter.arrow_schema(), compression="snappy")
    try:
        for chunk in chunks:
            if len(chunk):
                writer.write_batch(formatter.arrow_batch(chunk))
                data = sink.take()
                if data:
                    yield data
    finally:
        writer.close()
    yield sink.take()
