"""The read endpoints of the REST API against a running device over HTTPS: sensors, the
monitored machines and their health, latest telemetry, per-sensor telemetry and spectra."""

from __future__ import annotations

import statistics
import time

import pytest

from .api_client import Api
from .device_server import start_device

SENSORS = {
    "motor-1-accel": ("motor-1", "accel"),
    "motor-1-temp": ("motor-1", "temperature"),
    "motor-1-current": ("motor-1", "current"),
    "motor-2-accel": ("motor-2", "accel"),
    "motor-2-temp": ("motor-2", "temperature"),
    "motor-2-current": ("motor-2", "current"),
}
LIVE_DATA_TIMEOUT_S = 30.0


def _wait_for_live_data(api: Api) -> None:
    """Bounded wait for the first analysis of every sensor (about a second in practice)."""
    deadline = time.monotonic() + LIVE_DATA_TIMEOUT_S
    while True:
        rows = api.get("/telemetry/").json()
        spectrum = api.get("/spectrum/motor-2-accel/", params={"max_bins": 2})
        if {r["sensor_id"] for r in rows} == set(SENSORS) and spectrum.status_code == 200:
            return
        assert time.monotonic() < deadline, f"no live data after {LIVE_DATA_TIMEOUT_S} s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("api-read"))
    api = Api(running)
    try:
        _wait_for_live_data(api)
        yield api
    finally:
        api.close()
        assert running.stop() == 0


def _error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    return body["error"]["message"]


# -- sensors ---------------------------------------------------------------------------------


def test_sensors_list_with_and_without_the_trailing_slash(device):
    listed = device.get("/sensors/")
    assert listed.status_code == 200
    sensors = listed.json()
    assert [s["id"] for s in sensors] == list(SENSORS)
    for s in sensors:
        assert (s["device_id"], s["type"]) == SENSORS[s["id"]]
        assert s["status"] == "ok"
        assert s["last_reading_time"].endswith("Z")
        assert s["sample_rate_hz"] > 0 and s["chip"]
        assert all(set(m) == {"metric", "unit"} for m in s["metrics"])
    accel = sensors[0]
    assert accel["axes"] == ["x", "y", "z"] and accel["chip"] == "iis3dwb"
    units = {m["metric"]: m["unit"] for m in accel["metrics"]}
    assert units["vibration_rms"] == "mm/s" and units["accel_rms"] == "m/s²"
    assert sensors[1]["axes"] == [] and sensors[1]["metrics"] == [
        {"metric": "temperature", "unit": "°C"}
    ]
    assert device.get("/sensors").status_code == 200
    assert len(device.get("/sensors").json()) == len(SENSORS)


def test_sensor_filters_and_details(device):
    on_motor_2 = device.get("/sensors/", params={"device_id": "motor-2"}).json()
    assert [s["id"] for s in on_motor_2] == ["motor-2-accel", "motor-2-temp", "motor-2-current"]
    temps = device.get("/sensors/", params={"type": "temperature"}).json()
    assert [s["id"] for s in temps] == ["motor-1-temp", "motor-2-temp"]
    for path in ("/sensors/motor-1-current/", "/sensors/motor-1-current"):
        one = device.get(path)
        assert one.status_code == 200
        assert one.json()["id"] == "motor-1-current"
        assert one.json()["metrics"] == [{"metric": "current_rms", "unit": "A"}]
    assert "no sensor 'nope'" in _error(device.get("/sensors/nope/"), 404, "not_found")
    _error(device.get("/sensors/", params={"device_id": "motor-9"}), 404, "not_found")


# -- devices (the monitored machines) ----------------------------------------------------------


def test_devices_with_health_and_the_equipment_id_lookup(device):
    machines = device.get("/devices/").json()
    assert [m["id"] for m in machines] == ["motor-1", "motor-2"]
    pump = machines[0]
    assert pump["equipment_id"] == "PUMP-101-M" and pump["device_type"] == "pump_motor"
    assert pump["location"] == "Pump house, line 1" and pump["name"] == "Motor 1"
    assert pump["sensor_ids"] == ["motor-1-accel", "motor-1-temp", "motor-1-current"]
    assert pump["health"] == {
        "score": 100,
        "status": "ok",
        "active_alerts": 0,
        "iso_zone": "A",  # a healthy simulated motor
        "mode": "running",
        "forecast_threshold_at": None,
    }

    found = device.get("/devices/", params={"equipment_id": "FAN-201-M"}).json()
    assert [m["id"] for m in found] == ["motor-2"]
    assert device.get("/devices", params={"equipment_id": "NOPE-1"}).json() == []

    assert device.get("/devices/motor-2/").json()["equipment_id"] == "FAN-201-M"
    assert device.get("/devices/motor-2").json()["equipment_id"] == "FAN-201-M"
    health = device.get("/devices/motor-2/health").json()
    assert (health["score"], health["status"], health["active_alerts"]) == (100, "ok", 0)
    assert health["sensors"] == {
        "motor-2-accel": "ok",
        "motor-2-temp": "ok",
        "motor-2-current": "ok",
    }
    assert device.get("/devices/motor-2/health/").status_code == 200
    _error(device.get("/devices/motor-9/"), 404, "not_found")
    _error(device.get("/devices/motor-9/health"), 404, "not_found")


# -- latest telemetry -----------------------------------------------------------------------------


def test_telemetry_is_one_overall_row_per_sensor_and_metric(device):
    rows = device.get("/telemetry/").json()
    assert isinstance(rows, list)
    keys = [(r["sensor_id"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys)), "the guide's upsert needs no duplicates"
    assert all(r["axis"] is None for r in rows)
    sensors = {s["id"]: s for s in device.get("/sensors/").json()}
    for r in rows:
        assert set(r) == {
            "sensor_id",
            "sensor_name",
            "device_id",
            "metric",
            "axis",
            "value",
            "unit",
            "timestamp",
        }
        sensor = sensors[r["sensor_id"]]
        assert r["sensor_name"] == sensor["name"] and r["device_id"] == sensor["device_id"]
        assert {"metric": r["metric"], "unit": r["unit"]} in sensor["metrics"]
        assert r["timestamp"].endswith("Z") and isinstance(r["value"], float)
    expected = {(s, m["metric"]) for s, v in sensors.items() for m in v["metrics"]}
    assert set(keys) == expected
    # The guide's loop.
    lines = [f"{r['sensor_name']}: {r['value']} {r['unit']}" for r in rows]
    assert any(line.startswith("Motor 1 bearing temperature (DE): ") for line in lines)


def test_telemetry_axes(device):
    overall = device.get("/telemetry/").json()
    with_x = device.get("/telemetry/", params={"axis": "x"}).json()
    x_rows = [r for r in with_x if r["axis"] == "x"]
    assert {r["axis"] for r in with_x} == {None, "x"}  # the x rows are added to the overall ones
    assert len(with_x) == len(overall) + len(x_rows)
    assert {r["sensor_id"] for r in x_rows} == {"motor-1-accel", "motor-2-accel"}
    everything = device.get("/telemetry/", params={"axis": "all"}).json()
    assert {r["axis"] for r in everything} == {None, "x", "y", "z"}
    assert len(everything) == len(overall) + 3 * len(x_rows)
    both = device.get("/telemetry/", params=[("axis", "overall"), ("axis", "Z")]).json()
    assert {r["axis"] for r in both} == {None, "z"}
    assert "'w' is not one of" in _error(
        device.get("/telemetry/", params={"axis": "w"}), 400, "bad_request"
    )


def test_telemetry_filters(device):
    one = device.get("/telemetry/", params={"sensor_id": "motor-1-temp"}).json()
    assert [(r["sensor_id"], r["metric"]) for r in one] == [("motor-1-temp", "temperature")]
    two = device.get(
        "/telemetry", params=[("sensor_id", "motor-1-temp"), ("sensor_id", "motor-2-current")]
    ).json()
    assert {r["sensor_id"] for r in two} == {"motor-1-temp", "motor-2-current"}
    comma = device.get("/telemetry/", params={"sensor_id": "motor-1-temp,motor-2-current"})
    assert {r["sensor_id"] for r in comma.json()} == {"motor-1-temp", "motor-2-current"}
    machine = device.get("/telemetry/", params={"device_id": "motor-2"}).json()
    assert machine and {r["device_id"] for r in machine} == {"motor-2"}
    metrics = device.get(
        "/telemetry/", params=[("metric", "temperature"), ("metric", "vibration_rms")]
    ).json()
    assert sorted((r["sensor_id"], r["metric"]) for r in metrics) == [
        ("motor-1-accel", "vibration_rms"),
        ("motor-1-temp", "temperature"),
        ("motor-2-accel", "vibration_rms"),
        ("motor-2-temp", "temperature"),
    ]
    _error(device.get("/telemetry/", params={"sensor_id": "nope"}), 404, "not_found")
    _error(device.get("/telemetry/", params={"device_id": "motor-9"}), 404, "not_found")
    message = _error(device.get("/telemetry/", params={"metric": "vibration"}), 400, "bad_request")
    assert "vibration_rms" in message  # lists what there is


def test_telemetry_needs_a_key(device):
    for path in ("/telemetry/", "/sensors/", "/devices/", "/spectrum/motor-1-accel/"):
        assert device.get(path, role=None).status_code == 401


# -- per sensor -----------------------------------------------------------------------------------


def test_sensor_telemetry_has_every_axis_and_a_spectrum_summary(device):
    body = device.get("/telemetry/sensor/motor-1-accel/").json()
    assert body["sensor"]["id"] == "motor-1-accel"
    axes = {r["axis"] for r in body["readings"]}
    assert axes == {None, "x", "y", "z"}
    assert {r["sensor_id"] for r in body["readings"]} == {"motor-1-accel"}
    summary = body["spectrum"]
    assert [s["axis"] for s in summary] == ["x", "y", "z"]
    for s in summary:
        assert 1 <= len(s["peaks"]) <= 5 and s["bin_width_hz"] > 0
        amplitudes = [p["amplitude"] for p in s["peaks"]]
        assert amplitudes == sorted(amplitudes, reverse=True)
        assert s["envelope_peaks"] and s["timestamp"].endswith("Z")
    # The strongest line of a 1480 rpm pump motor is near its running speed or a harmonic.
    assert any(
        abs(p["frequency_hz"] / 24.67 - round(p["frequency_hz"] / 24.67)) < 0.05
        for p in summary[0]["peaks"][:3]
    )

    temp = device.get("/telemetry/sensor/motor-1-temp").json()
    assert temp["spectrum"] is None
    assert [r["metric"] for r in temp["readings"]] == ["temperature"]
    overall = device.get("/telemetry/sensor/motor-1-accel/", params={"axis": "overall"}).json()
    assert {r["axis"] for r in overall["readings"]} == {None}
    peaks = device.get("/telemetry/sensor/motor-1-accel/", params={"peaks": 2}).json()
    assert all(len(s["peaks"]) <= 2 for s in peaks["spectrum"])
    _error(device.get("/telemetry/sensor/nope/"), 404, "not_found")


# -- spectra ----------------------------------------------------------------------------------


def test_spectrum_per_axis(device):
    body = device.get("/spectrum/motor-1-accel/").json()
    assert body["sensor_id"] == "motor-1-accel" and body["unit"] == "m/s²"
    assert body["source"] in ("live", "stored")
    assert [a["axis"] for a in body["axes"]] == ["x", "y", "z"]
    for axis in body["axes"]:
        for kind in ("spectrum", "envelope"):
            block = axis[kind]
            assert block["kind"] == kind and block["decimation"] == 1
            assert block["n_bins"] == len(block["amplitudes"]) > 100
            assert block["fmax_hz"] == pytest.approx(block["bin_width_hz"] * (block["n_bins"] - 1))
            assert "frequencies" not in block
            assert all(a >= 0 for a in block["amplitudes"])
            for peak in block["peaks"]:
                i = round(peak["frequency_hz"] / block["bin_width_hz"])
                assert 0 <= i < block["n_bins"]
    spectrum = body["axes"][0]["spectrum"]
    assert spectrum["n_bins"] == 8193  # 16384-point frames
    assert spectrum["bin_width_hz"] == pytest.approx(26667 / 16384, rel=1e-3)


def test_spectrum_fmax_decimation_and_frequencies(device):
    full = device.get("/spectrum/motor-1-accel/", params={"axis": "x", "kind": "spectrum"})
    assert full.status_code == 200
    body = full.json()
    assert [a["axis"] for a in body["axes"]] == ["x"]
    assert "envelope" not in body["axes"][0]
    width = body["axes"][0]["spectrum"]["bin_width_hz"]

    cut = device.get(
        "/spectrum/motor-1-accel", params={"axis": "x", "kind": "spectrum", "fmax": 500}
    ).json()["axes"][0]["spectrum"]
    assert cut["fmax_hz"] <= 500 < cut["fmax_hz"] + width
    assert all(p["frequency_hz"] <= 500 for p in cut["peaks"])

    for flag, listed in (
        ("true", True),
        ("True", True),
        ("1", True),
        ("FALSE", False),
        ("0", False),
    ):
        block = device.get(
            "/spectrum/motor-1-accel/",
            params={"axis": "x", "fmax": 500, "max_bins": 50, "frequencies": flag},
        ).json()["axes"][0]["spectrum"]
        assert block["n_bins"] <= 50 and block["decimation"] > 1
        assert block["bin_width_hz"] == pytest.approx(width * block["decimation"])
        assert ("frequencies" in block) is listed
        if listed:
            assert len(block["frequencies"]) == block["n_bins"]
            assert block["frequencies"][1] == pytest.approx(block["bin_width_hz"], rel=1e-5)
    # Peak hold: each decimated bin is the largest of the bins it replaces. The live spectrum
    # changes every second, so compare two answers from the same frame (a few tries).
    for _ in range(5):
        params = {"axis": "x", "kind": "spectrum", "fmax": 500}
        cut = device.get("/spectrum/motor-1-accel/", params=params).json()["axes"][0]
        held = device.get("/spectrum/motor-1-accel/", params={**params, "max_bins": 50}).json()
        held = held["axes"][0]
        if cut["spectrum"]["timestamp"] == held["spectrum"]["timestamp"]:
            break
    else:
        pytest.fail("the spectrum changed between every pair of requests")
    fine, coarse = cut["spectrum"]["amplitudes"], held["spectrum"]["amplitudes"]
    step = held["spectrum"]["decimation"]
    assert coarse == [max(fine[i : i + step]) for i in range(0, len(fine), step)]


def test_spectrum_errors(device):
    assert "has no spectra" in _error(device.get("/spectrum/motor-1-temp/"), 404, "not_found")
    _error(device.get("/spectrum/nope/"), 404, "not_found")
    _error(device.get("/spectrum/motor-1-accel/", params={"axis": "w"}), 400, "bad_request")
    _error(device.get("/spectrum/motor-1-accel/", params={"fmax": "-1"}), 400, "bad_request")
    _error(device.get("/spectrum/motor-1-accel/", params={"kind": "cepstrum"}), 400, "bad_request")


def test_small_responses_are_not_held_back_by_nagle(device):
    """Without TCP_NODELAY on the server's sockets every response waits for the client's
    delayed ACK: about 40 ms each, whatever the endpoint does."""
    took = []
    for _ in range(21):
        started = time.perf_counter()
        assert device.get("/telemetry/").status_code == 200
        took.append(time.perf_counter() - started)
    assert statistics.median(took) < 0.02, f"median {statistics.median(took) * 1000:.1f} ms"
