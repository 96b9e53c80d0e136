"""The one row formatter behind history pages, API file exports and `esocore export`
(runtime.api.formats), and the selection words they share (runtime.api.selection)."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runtime.api.formats import (
    RAW_COLUMNS,
    ROLLUP_COLUMNS,
    RowFormatter,
    chunk_from_rows,
    format_from_accept,
    limit_rows,
    stream,
)
from runtime.api.selection import (
    OVERALL_ONLY,
    Selection,
    SelectionError,
    UnknownIdError,
    check_known,
    id_list,
    parse_axes,
)
from runtime.readings import Reading, iso_utc
from runtime.store import ALL_AXES, Store

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
NAMES = {"m1-accel": 'Motor 1, DE "drive end"', "m1-temp": "Bearing temperature"}


def _readings(n: int) -> list[Reading]:
    out = []
    for i in range(n):
        ts = T0 + i * 0.25 + 0.0005 * (i % 3)  # sub-millisecond parts are rounded by the store
        out.append(Reading("motor-1", "m1-accel", "vibration_rms", None, 1 / (i + 3), "mm/s", ts))
        out.append(Reading("motor-1", "m1-accel", "vibration_rms", "x", i * 1e-7, "mm/s", ts))
        out.append(Reading("motor-1", "m1-temp", "temperature", None, 40 + i * 1e13, "°C", ts))
        out.append(Reading("motor-2", "m2-cur", "current_rms", None, -float(i), "A", ts))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("formats")
    with Store(data_dir) as writer:
        writer.add_readings(_readings(3000))
    with Store(data_dir, readonly=True) as reader:
        yield reader


def _every_row(store, resolution="raw"):
    page = store.query_readings(None, None, limit=100_000, resolution=resolution)
    assert page.next_cursor is None
    return page.rows


def _expected(row, rollup):
    out = {
        "timestamp": iso_utc(row.ts),
        "device_id": row.device_id,
        "sensor_id": row.sensor_id,
        "sensor_name": NAMES.get(row.sensor_id, row.sensor_id),
        "metric": row.metric,
        "axis": row.axis,
        "value": row.value,
        "unit": row.unit,
    }
    if rollup:
        out.update(min=row.min, max=row.max, count=row.count)
    return out


@pytest.mark.parametrize("resolution", ["raw", "1m"])
def test_json_rows_are_the_records_with_names(store, resolution):
    rows = _every_row(store, resolution)
    formatter = RowFormatter(NAMES, resolution)
    text = "[" + ",".join(formatter.json_rows(chunk_from_rows(rows))) + "]"
    got = json.loads(text)
    assert got == [_expected(r, resolution != "raw") for r in rows]
    assert list(got[0]) == list(ROLLUP_COLUMNS if resolution != "raw" else RAW_COLUMNS)
    assert "°C" in text  # UTF-8 as is, not \u escapes


def _file(store, fmt, resolution="raw", chunk_size=777):
    chunks = store.iter_reading_columns(None, None, resolution=resolution, chunk_size=chunk_size)
    return b"".join(stream(fmt, chunks, RowFormatter(NAMES, resolution)))


@pytest.mark.parametrize("resolution", ["raw", "1h"])
def test_csv_json_and_parquet_files_hold_the_same_rows(store, resolution):
    rollup = resolution != "raw"
    expected = [_expected(r, rollup) for r in _every_row(store, resolution)]

    as_json = json.loads(_file(store, "json", resolution))
    assert as_json == expected

    reader = csv.DictReader(io.StringIO(_file(store, "csv", resolution).decode()))
    assert tuple(reader.fieldnames) == (ROLLUP_COLUMNS if rollup else RAW_COLUMNS)
    as_csv = list(reader)
    assert len(as_csv) == len(expected)
    for got, want in zip(as_csv, expected, strict=True):
        assert got["axis"] == (want["axis"] or "")
        assert float(got["value"]) == want["value"]  # shortest round-trip text: exact
        assert got["sensor_name"] == want["sensor_name"]  # quotes and commas survive
        if rollup:
            assert int(got["count"]) == want["count"] and float(got["max"]) == want["max"]

    table = pq.read_table(io.BytesIO(_file(store, "parquet", resolution)))
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert table.num_rows == len(expected)
    as_parquet = table.to_pylist()
    for got, want in zip(as_parquet, expected, strict=True):
        assert iso_utc(got["timestamp"].timestamp()) == want["timestamp"]
        got["timestamp"] = want["timestamp"]
        assert got == want
    assert table.to_batches()[0].num_rows <= 777  # streamed in row groups, one per chunk


def test_empty_selection_gives_valid_empty_files(store):
    def empty():
        return store.iter_reading_columns(T0 - 10, T0 - 5)

    formatter = RowFormatter(NAMES)
    assert json.loads(b"".join(stream("json", empty(), formatter))) == []
    assert b"".join(stream("csv", empty(), formatter)).decode() == ",".join(RAW_COLUMNS) + "\n"
    table = pq.read_table(io.BytesIO(b"".join(stream("parquet", empty(), formatter))))
    assert table.num_rows == 0 and table.column_names == list(RAW_COLUMNS)
    with pytest.raises(ValueError, match="format must be one of"):
        stream("xml", empty(), formatter)


def test_progress_counts_rows_and_limit_stops_early(store):
    seen = []
    chunks = store.iter_reading_columns(None, None, chunk_size=1000)
    b"".join(stream("csv", limit_rows(chunks, 2500), RowFormatter({}), seen.append))
    assert seen == [1000, 2000, 2500]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/csv", "csv"),
        ("application/vnd.apache.parquet", "parquet"),
        ("text/csv;q=0.9, application/json", "csv"),
        ("application/json, text/csv", None),
        ("*/*", None),
        (None, None),
        ("text/html", None),
    ],
)
def test_accept_header(accept, fmt):
    assert format_from_accept(accept) == fmt


def test_ids_and_axes():
    assert id_list(None) is None and id_list([]) is None and id_list([" , "]) is None
    assert id_list(["a,b", "c", "a"]) == ("a", "b", "c")
    assert parse_axes(None) == OVERALL_ONLY
    assert parse_axes(["X", "overall"]) == ("x", None)
    assert parse_axes(["x", "all"]) is ALL_AXES
    with pytest.raises(SelectionError, match="'w' is not one of overall, x, y, z, all"):
        parse_axes(["w"])


def test_unknown_ids_are_looked_up_in_the_history_too(store):
    selection = Selection(T0, T0 + 10, sensor_ids=("m1-temp",), device_ids=("motor-2",))
    check_known(selection, store)  # not configured, but stored: fine
    with pytest.raises(UnknownIdError, match="no sensors 'nope', 'gone'") as caught:
        check_known(Selection(T0, T0 + 10, sensor_ids=("nope", "gone", "m1-temp")), store)
    assert caught.value.ids == ["nope", "gone"]
    with pytest.raises(UnknownIdError, match="no machine 'motor-9'"):
        check_known(Selection(T0, T0 + 10, device_ids=("motor-9",)), store)
    check_known(Selection(T0, T0 + 10, metrics=("temperature",)), store)
    with pytest.raises(SelectionError, match="'vibration' is not measured"):
        check_known(Selection(T0, T0 + 10, metrics=("vibration",)), store, known_metrics={"a"})
