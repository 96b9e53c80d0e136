"""History, paging and exports of the REST API, and `esocore export`, against a running device
over HTTPS whose store `esocore sim` filled first with two known minutes of the simulated
plant (then the device appends live data, an hour and a half later).

The expected rows come from the database itself, through its documented read-only views
(docs/database.md), not from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from runtime import cli
from runtime.config import default_config_path

from .api_client import Api
from .device_server import ESOCORE, esocore, start_device
from .timestamps import iso

ZONE = "America/New_York"  # the device's time zone: naive times are read in it
SIM_MINUTES = 2
KEYS = ("timestamp", "device_id", "sensor_id", "metric", "axis", "value", "unit")


class Plant:
    """The running device and the span `esocore sim` filled."""

    def __init__(self, api: Api, start: float, data_dir: Path, config: Path) -> None:
        self.api = api
        self.start = start
        self.end = start + SIM_MINUTES * 60
        self.data_dir = data_dir
        self.config = config

    def get(self, path, **kwargs):
        return self.api.get(path, **kwargs)

    def span(self, **extra) -> dict:
        return {"start_time": iso(self.start), "end_time": iso(self.end), **extra}

    def expected(self, sql_filter: str = "axis IS NULL", params: tuple = ()) -> list[tuple]:
        """Rows of the `readings` view in the sim span, as (timestamp, ..., unit) tuples."""
        return view_rows(
            self.data_dir,
            f"SELECT {', '.join(KEYS)} FROM readings WHERE timestamp >= ? AND timestamp < ? "
            f"AND {sql_filter}",
            (iso(self.start), iso(self.end), *params),
        )


def view_rows(data_dir: Path, query: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{data_dir / 'esocore.db'}?mode=ro", uri=True)
    try:
        return sorted(conn.execute(query, params).fetchall(), key=_order)
    finally:
        conn.close()


def _order(row: tuple) -> tuple:
    return tuple("" if v is None else v for v in row)


def as_tuples(rows: list[dict], keys=KEYS) -> list[tuple]:
    return sorted((tuple(r[k] for k in keys) for r in rows), key=_order)


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-history")
    data_dir = tmp / "data"
    data_dir.mkdir()
    # The device's own config in its data directory (what PUT /config/ writes), which
    # `esocore sim`, `esocore run` and `esocore export` all pick up without --config.
    config = data_dir / "device.toml"
    shipped = default_config_path("sim").read_text()
    config.write_text(shipped.replace('timezone = "UTC"', f'timezone = "{ZONE}"'))
    assert f'timezone = "{ZONE}"' in config.read_text()
    # Whole minutes, 90 min ago: inside raw retention, rollup buckets of its own.
    start = math.floor(time.time() / 60) * 60 - 90 * 60
    esocore(
        "sim",
        "--duration",
        f"{SIM_MINUTES}m",
        "--data-dir",
        str(data_dir),
        "--start",
        iso(start),
        "--quiet",
        cwd=tmp,
    )
    running = start_device(tmp)
    assert any(str(config) in line for line in running.output), running.output
    api = Api(running)
    try:
        yield Plant(api, start, data_dir, config)
    finally:
        api.close()
        assert running.stop() == 0


def walk(plant: Plant, path: str, params: dict) -> tuple[list[dict], list[int]]:
    """Every row of a paged query, following Link headers; and the page sizes."""
    rows: list[dict] = []
    sizes = []
    response = plant.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        rows += page
        sizes.append(len(page))
        link = response.links.get("next")
        if link is None:
            assert "X-Next-Cursor" not in response.headers
            return rows, sizes
        assert response.headers["X-Next-Cursor"] in link["url"]
        response = plant.get(link["url"])  # the URL alone: no parameters repeated


def _error(response, status, code="bad_request") -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return error["message"]


# -- paging ---------------------------------------------------------------------------------------


def test_paging_walks_a_long_history_without_gaps_or_repeats(plant):
    expected = plant.expected("1")  # every axis
    assert len(expected) > 10_000
    rows, sizes = walk(plant, "/telemetry/history/", plant.span(axis="all", limit=700))
    assert len(sizes) == math.ceil(len(expected) / 700)
    assert all(size == 700 for size in sizes[:-1])
    keys = [(r["timestamp"], r["sensor_id"], r["metric"], r["axis"]) for r in rows]
    assert len(set(keys)) == len(keys), "a row came twice"
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    assert as_tuples(rows) == expected, "rows missing or different"


def test_total_count(plant):
    expected = len(plant.expected())
    first = plant.get("/telemetry/history/", params=plant.span(limit=100))
    assert "X-Total-Count" not in first.headers  # more pages, and the count costs a scan
    counted = plant.get("/telemetry/history/", params=plant.span(limit=100, total="True"))
    assert int(counted.headers["X-Total-Count"]) == expected
    whole = plant.get("/telemetry/history/", params=plant.span(limit=100_000))
    assert int(whole.headers["X-Total-Count"]) == len(whole.json()) == expected
    assert "Link" not in whole.headers


def test_default_is_the_overall_value_of_the_last_day(plant):
    rows = plant.get("/telemetry/history").json()
    assert len(rows) == 1000
    assert all(r["axis"] is None for r in rows)
    assert rows[0]["timestamp"] == iso(plant.start)  # the sim data is within the last 24 h
    row = rows[0]
    assert set(row) == {
        "timestamp",
        "device_id",
        "sensor_id",
        "sensor_name",
        "metric",
        "axis",
        "value",
        "unit",
    }


# -- filters and resolution ----------------------------------------------------------------------


def test_filters_repeat_and_combine(plant):
    rows, _ = walk(
        plant,
        "/telemetry/history/",
        plant.span(sensor_id=["motor-1-temp", "motor-2-accel"], metric=["temperature", "kurtosis"]),
    )
    assert as_tuples(rows) == plant.expected(
        "axis IS NULL AND sensor_id IN ('motor-1-temp', 'motor-2-accel') "
        "AND metric IN ('temperature', 'kurtosis')"
    )
    assert {r["sensor_name"] for r in rows} == {
        "Motor 1 bearing temperature (DE)",
        "Motor 2 vibration (DE)",
    }
    machine = plant.get(
        "/telemetry/history/", params=plant.span(device_id="motor-2", limit=100_000)
    ).json()
    assert as_tuples(machine) == plant.expected("axis IS NULL AND device_id = 'motor-2'")
    comma = plant.get(
        "/telemetry/history/",
        params=plant.span(sensor_id="motor-1-temp,motor-2-temp", limit=100_000),
    ).json()
    assert {r["sensor_id"] for r in comma} == {"motor-1-temp", "motor-2-temp"}
    axes = plant.get(
        "/telemetry/history/",
        params=plant.span(metric="vibration_rms", axis=["x", "overall"], limit=100_000),
    ).json()
    assert as_tuples(axes) == plant.expected(
        "metric = 'vibration_rms' AND (axis = 'x' OR axis IS NULL)"
    )


@pytest.mark.parametrize(("resolution", "view"), [("1m", "rollups_1m"), ("1h", "rollups_1h")])
def test_rollups_give_min_mean_max_count(plant, resolution, view):
    width = 60 if resolution == "1m" else 3600
    start = math.floor(plant.start / width) * width  # buckets are named by their start
    span = {"start_time": iso(start), "end_time": iso(plant.end)}
    rows = plant.get(
        "/telemetry/history/", params={**span, "metric": "temperature", "resolution": resolution}
    ).json()
    expected = view_rows(
        plant.data_dir,
        f"SELECT timestamp, sensor_id, mean, min, max, count FROM {view} "
        "WHERE metric = 'temperature' AND axis IS NULL AND timestamp >= ? AND timestamp < ?",
        (iso(start), iso(plant.end)),
    )
    got = as_tuples(rows, ("timestamp", "sensor_id", "value", "min", "max", "count"))
    assert got == expected and len(expected) == 2 * (SIM_MINUTES if width == 60 else 1)
    if resolution == "1m":
        assert all(r["count"] == 60 for r in rows)  # one reading a second, whole minutes


# -- times -----------------------------------------------------------------------------------------


def test_time_formats_select_the_same_rows(plant):
    zone = ZoneInfo(ZONE)
    start = datetime.fromtimestamp(plant.start, UTC)
    end = datetime.fromtimestamp(plant.end - 30, UTC)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    offset = timedelta(hours=2)
    variants = {
        "Z": (iso(plant.start), iso(plant.end - 30)),
        "offset": (
            (start + offset).replace(tzinfo=None).isoformat() + "+02:00",
            (end - offset).replace(tzinfo=None).isoformat() + "-02:00",
        ),
        "naive, device zone": (
            local_start.replace(tzinfo=None).isoformat(),
            local_end.replace(tzinfo=None).isoformat(),
        ),
        "space": (
            local_start.replace(tzinfo=None).isoformat(sep=" "),
            end.isoformat(sep=" "),
        ),
        "datetime.now() style, microseconds": (
            local_start.replace(tzinfo=None).isoformat(timespec="microseconds"),
            (local_end.replace(tzinfo=None) + timedelta(microseconds=1)).isoformat(),
        ),
    }
    expected = plant.expected(
        "sensor_id = 'motor-1-temp'" + " AND timestamp < ?", (iso(plant.end - 30),)
    )
    assert len(expected) == SIM_MINUTES * 60 - 30
    for name, (start_text, end_text) in variants.items():
        rows = plant.get(
            "/telemetry/history/",
            params={"start_time": start_text, "end_time": end_text, "sensor_id": "motor-1-temp"},
        ).json()
        assert as_tuples(rows) == expected, name


def test_an_unencoded_plus_and_a_bare_date(plant):
    zone = ZoneInfo(ZONE)
    # The day the sim ran, in the device's zone: everything from its midnight to the sim end.
    day = datetime.fromtimestamp(plant.start, zone).date().isoformat()
    rows = plant.get(
        "/telemetry/history/",
        params={"start_time": day, "end_time": iso(plant.end), "sensor_id": "motor-2-temp"},
    ).json()
    assert as_tuples(rows) == plant.expected("sensor_id = 'motor-2-temp'")
    # A client that does not encode "+" sends a space: ...T10:00:00+02:00 arrives as "... 02:00".
    start = datetime.fromtimestamp(plant.start, UTC) + timedelta(hours=2)
    raw = start.replace(tzinfo=None).isoformat() + "+02:00"
    url = (
        f"{plant.api.base_url}/telemetry/history/?sensor_id=motor-2-temp"
        f"&end_time={iso(plant.end)}&start_time={raw}"
    )
    assert "+" in url
    again = plant.get(url).json()
    assert as_tuples(again) == as_tuples(rows)


def test_bad_input_gets_the_documented_4xx(plant):
    def history(**params):
        return plant.get("/telemetry/history/", params=params)

    message = _error(history(start_time="last tuesday"), 400)
    assert "start_time: 'last tuesday' is not an ISO 8601 time" in message
    assert "end_time" in _error(history(end_time="2026-02-30"), 400)
    message = _error(history(start_time=iso(plant.end), end_time=iso(plant.start)), 400)
    assert "is after end_time" in message
    assert "1 to 100000" in _error(history(limit=100_001), 400)
    _error(history(limit=0), 400)
    _error(history(limit="many"), 400)
    assert "no sensor 'nope'" in _error(history(sensor_id="nope"), 404, "not_found")
    assert "no machine 'motor-9'" in _error(history(device_id="motor-9"), 404, "not_found")
    assert "vibration_rms" in _error(history(metric="vibration"), 400)
    _error(history(axis="sideways"), 400)
    _error(history(resolution="5m"), 400)
    _error(history(format="xml"), 400)
    _error(history(total="maybe"), 400)
    assert "invalid cursor" in _error(history(cursor="not-a-cursor"), 400)
    page = plant.get("/telemetry/history/", params=plant.span(limit=10))
    cursor = page.headers["X-Next-Cursor"]
    assert "different filters" in _error(
        history(**plant.span(limit=10, axis="x"), cursor=cursor), 400
    )
    assert "pages are for JSON" in _error(history(format="csv", cursor=cursor), 400)
    # Nothing above broke the device.
    assert plant.get("/telemetry/history/", params=plant.span(limit=10)).status_code == 200


# -- per sensor ------------------------------------------------------------------------------------


def test_sensor_history_is_history_filtered_by_sensor(plant):
    direct, direct_sizes = walk(
        plant, "/telemetry/history/", plant.span(sensor_id="motor-1-current", limit=50)
    )
    via_sensor, sizes = walk(plant, "/telemetry/sensor/motor-1-current/", plant.span(limit=50))
    assert via_sensor == direct and sizes == direct_sizes
    assert as_tuples(direct) == plant.expected("sensor_id = 'motor-1-current'")
    csv_text = plant.get("/telemetry/sensor/motor-1-current", params=plant.span(format="csv")).text
    assert len(csv_text.splitlines()) == len(direct) + 1
    for path in ("/telemetry/sensor/nope/", "/telemetry/sensor/motor-1-temp,motor-2-temp/"):
        _error(plant.get(path, params=plant.span()), 404, "not_found")


# -- exports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", ["raw", "1m"])
def test_csv_json_and_parquet_exports_equal_the_json_pages(plant, resolution):
    params = plant.span(axis="all", resolution=resolution)
    pages, _ = walk(plant, "/telemetry/history/", {**params, "limit": 5000})
    assert pages
    numeric = ("value", "min", "max") if resolution != "raw" else ("value",)

    response = plant.get("/telemetry/history/", params={**params, "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and '.csv"' in disposition
    from_csv = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert len(from_csv) == len(pages)
    for got, want in zip(from_csv, pages, strict=True):
        for name in numeric:
            got[name] = float(got[name])
        if "count" in got:
            got["count"] = int(got["count"])
        got["axis"] = got["axis"] or None
        assert got == want

    response = plant.get("/telemetry/history/", params={**params, "format": "json"})
    assert response.headers["content-disposition"].endswith('.json"')
    assert response.json() == pages

    response = plant.get("/telemetry/history/", params={**params, "format": "parquet"})
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content))
    from_parquet = table.to_pylist()
    for row in from_parquet:
        row["timestamp"] = iso(row["timestamp"].timestamp())
    assert from_parquet == pages


def test_accept_header_asks_for_a_file(plant):
    as_csv = plant.get("/telemetry/history/", params=plant.span(), headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.startswith(
        "timestamp,device_id,sensor_id,sensor_name,metric,axis,value,unit"
    )
    as_parquet = plant.get(
        "/telemetry/history/",
        params=plant.span(),
        headers={"Accept": "application/vnd.apache.parquet"},
    )
    assert pq.read_table(io.BytesIO(as_parquet.content)).num_rows == len(plant.expected())
    as_json = plant.get(
        "/telemetry/history/", params=plant.span(), headers={"Accept": "application/json"}
    )
    assert as_json.headers["content-type"] == "application/json"
    capped = plant.get("/telemetry/history/", params=plant.span(format="csv", limit=7))
    assert len(capped.text.splitlines()) == 8


def test_export_cli_round_trip(plant, tmp_path, capsys):
    zone = ZoneInfo(ZONE)
    naive_start = datetime.fromtimestamp(plant.start, zone).replace(tzinfo=None).isoformat()
    common = ["--data-dir", str(plant.data_dir)]  # its device.toml gives zone and names
    span = ["--start", naive_start, "--end", iso(plant.end), "--axis", "all"]
    api_params = {"start_time": naive_start, "end_time": iso(plant.end), "axis": "all"}
    # As a user runs it, next to the running device: a process, with its progress bar.
    out = tmp_path / "export.csv"
    done = esocore("export", *span, *common, "-o", str(out), cwd=tmp_path)
    assert "[####" in done.stderr and " rows (" in done.stderr
    api = plant.get("/telemetry/history/", params={**api_params, "format": "csv"}).content
    assert out.read_bytes() == api  # one formatter, one time parser: the same file
    # The other formats in this process (the same code path, without a process start each).
    for fmt in ("parquet", "json"):
        out = tmp_path / f"export.{fmt}"
        assert cli.main(["export", *span, *common, "--quiet", "-o", str(out)]) == 0
        api = plant.get("/telemetry/history/", params={**api_params, "format": fmt}).content
        if fmt == "parquet":
            assert pq.read_table(out).equals(pq.read_table(io.BytesIO(api)))
        else:
            assert out.read_bytes() == api
    out = tmp_path / "filtered.data"
    filters = ["--device", "motor-1", "--metric", "temperature,current_rms", "--resolution", "1m"]
    sim_span = ["--start", iso(plant.start), "--end", iso(plant.end)]
    argv = ["export", "--format", "json", *sim_span, *common, *filters, "-o", str(out)]
    assert cli.main(argv) == 0
    assert "rows" in capsys.readouterr().err
    api = plant.get(
        "/telemetry/history/",
        params=plant.span(device_id="motor-1", metric="temperature,current_rms", resolution="1m"),
    ).json()
    assert json.loads(out.read_text()) == api and len(api) == 2 * SIM_MINUTES


def test_export_cli_refuses_bad_arguments_in_one_line(plant, tmp_path, capsys):
    target = tmp_path / "x.csv"
    common = ["--data-dir", str(plant.data_dir), "-o", str(target)]
    for args, expected in [
        (["--start", "soon"], "--start: 'soon' is not an ISO 8601 time"),
        (["--start", iso(plant.end), "--end", iso(plant.start)], "is after --end"),
        (["--sensor", "nope"], "no sensor 'nope'"),
        (["--metric", "vibration"], "--metric: 'vibration' is not measured"),
        (["--axis", "w"], "--axis: 'w' is not one of"),
        (["--data-dir", str(tmp_path / "empty")], "no database here"),
        (["-o", "-"], "--format: give csv, json or parquet"),
    ]:
        assert cli.main(["export", *common, *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("esocore export: error: ") and err.count("\n") == 1, err
        assert expected in err, err
        assert not target.exists()
    done = subprocess.run(
        [str(ESOCORE), "export", *common, "--sensor", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (2, "esocore export: error: no sensor 'nope'\n")


def test_database_snapshot(plant, tmp_path):
    response = plant.get("/export/database")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.sqlite3"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert int(response.headers["content-length"]) == len(response.content)
    copy = tmp_path / "snapshot.db"
    copy.write_bytes(response.content)
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        got = conn.execute(
            f"SELECT {', '.join(KEYS)} FROM readings WHERE timestamp >= ? AND timestamp < ?",
            (iso(plant.start), iso(plant.end)),
        ).fetchall()
    finally:
        conn.close()
    assert sorted(got, key=_order) == plant.expected("1")
    assert not list(plant.data_dir.glob(".snapshot-*")), "the snapshot file was left behind"
    assert plant.get("/export/database/", role=None).status_code == 401
