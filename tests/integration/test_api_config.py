"""The device config over the REST API, against a running device: GET, PUT (live changes,
in-process restarts, refusals that change nothing), POST /config/restart, and the file on disk
across a restart of the process."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from runtime.api.config_service import SECTIONS
from runtime.config import default_config_path, load_config

from .device_server import RunningDevice, start_device
from .event_log import key_id_of, secret_of, wait_for_events
from .timestamps import epoch


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every config file in a directory, byte for byte (and which files there are)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if "toml" in p.name}


def fresh_readings(device: RunningDevice, since: float, timeout: float = 30) -> set[str]:
    """Sensors with a reading stamped after `since` (UTC epoch), waiting until all have one."""
    expected = {s["sensor_id"] for s in device.get("/device/health").json()["sensors"]}
    deadline = time.monotonic() + timeout
    fresh: set[str] = set()
    while time.monotonic() < deadline:
        rows = device.get("/telemetry/").json()
        fresh = {r["sensor_id"] for r in rows if epoch(r["timestamp"]) > since}
        if fresh >= expected:
            break
        time.sleep(0.3)
    return fresh


def put(device: RunningDevice, config: dict, role: str = "read-write"):
    with device.session(role) as s:
        return s.put(device.base_url + "/config/", json=config, timeout=60)


def device_time(device: RunningDevice) -> float:
    return epoch(device.get("/device/info").json()["time"])


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """A device run with --config: the file it was given is the one changed."""
    tmp = tmp_path_factory.mktemp("config-api")
    config = tmp / "plant.toml"
    config.write_text(default_config_path("sim").read_text())
    running = start_device(tmp, "--config", str(config))
    running.config_file = config
    yield running
    assert running.stop() == 0


def test_get_shows_the_whole_config_as_the_file_says(device):
    response = device.get("/config/")
    assert response.status_code == 200
    shown = response.json()
    assert set(shown) == set(SECTIONS)  # every section, as the model has them
    assert shown == load_config(device.config_file).model_dump(mode="json")
    assert device.get("/config").json() == shown  # the guide's slash, or none


def test_names_change_live_and_persist_across_a_process_restart(tmp_path):
    """A device on the shipped config: the first change writes DATA_DIR/device.toml, which
    the next start prefers."""
    running = start_device(tmp_path)
    data_dir = running.data_dir
    try:
        assert any("config from" in line and "defaults" in line for line in running.output)
        config = running.get("/config/").json()
        config["machines"][0]["name"] = "Boiler feed pump motor"
        config["machines"][0]["equipment_id"] = "PUMP-777-M"
        config["machines"][0]["location"] = "Boiler house"
        config["machines"][0]["sensors"][1]["name"] = "DE bearing temperature"
        answer = put(running, config)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["applied"] == "live"
        assert sorted(result["changed"]) == [
            "machines[0].equipment_id",
            "machines[0].location",
            "machines[0].name",
            "machines[0].sensors[1].name",
        ]
        assert result["file"] == str(data_dir / "device.toml")
        assert result["config"] == config

        machine = running.get("/devices/motor-1/").json()
        assert (machine["name"], machine["equipment_id"], machine["location"]) == (
            "Boiler feed pump motor",
            "PUMP-777-M",
            "Boiler house",
        )
        found = running.get("/devices/", params={"equipment_id": "PUMP-777-M"}).json()
        assert [m["id"] for m in found] == ["motor-1"]
        assert running.get("/sensors/motor-1-temp/").json()["name"] == "DE bearing temperature"
        with running.session("read-only") as s:
            metrics = s.get(running.base_url.removesuffix("/api/v1") + "/metrics", timeout=30)
        assert "esocore_service_restarts_total 0.0" in metrics.text  # nothing was restarted

        written = load_config(data_dir / "device.toml")
        assert written.machine("motor-1").name == "Boiler feed pump motor"
        shipped = default_config_path("sim").read_text()
        assert (data_dir / "device.toml.prev").read_text() == shipped  # the previous version
        assert default_config_path("sim").read_text() == shipped  # never written
    finally:
        assert running.stop() == 0

    again = start_device(tmp_path)
    try:
        assert any(f"config from {data_dir / 'device.toml'}" in line for line in again.output)
        assert again.get("/config/").json() == config
        assert again.get("/devices/motor-1/").json()["name"] == "Boiler feed pump motor"
    finally:
        assert again.stop() == 0


def test_a_put_with_several_problems_lists_every_one_and_changes_nothing(device):
    before = snapshot(device.config_file.parent)
    config = device.get("/config/").json()
    bad = copy.deepcopy(config)
    bad["analysis"]["frame_length"] = 1000
    bad["machines"][1]["iso_group"] = 7
    bad["machines"][0]["sensors"][0]["mounting"]["x"] = "sideways"
    bad["http"]["port"] = 70000
    bad["device"]["colour"] = "green"
    bad["store"]["retention"]["raw_days"] = -1
    answer = put(device, bad)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    paths = [line.split(":")[0] for line in error["details"]]
    assert sorted(paths) == [
        "analysis.frame_length",
        "device.colour",
        "http.port",
        "machines[0].sensors[0].mounting.x",
        "machines[1].iso_group",
        "store.retention.raw_days",
    ]
    assert "nothing was changed" in error["message"]
    assert snapshot(device.config_file.parent) == before
    assert device.get("/config/").json() == config


def test_a_config_that_does_not_fit_the_board_is_refused_and_changes_nothing(device):
    before = snapshot(device.config_file.parent)
    config = device.get("/config/").json()
    bad = copy.deepcopy(config)
    bad["machines"][0]["sensors"].append({"sensor": "motor-1-gyro"})
    bad["machines"][1]["sensors"][0]["mounting"]["w"] = "axial"
    answer = put(device, bad)
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [line.split(":")[0] for line in details] == [
        "machines[0].sensors[3].sensor",
        "machines[1].sensors[0].mounting.w",
    ]
    assert "motor-1-gyro" in details[0] and "motor-1-accel" in details[0]  # what there is

    board = copy.deepcopy(config)
    board["device"]["board"] = "rpi4"
    answer = put(device, board)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0].startswith("device.board: ")
    assert snapshot(device.config_file.parent) == before


@pytest.mark.parametrize(
    "body, status",
    [
        ("{not json", 400),
        ("", 400),
        ('{"device": {"name": NaN}}', 400),
        ("[1, 2", 400),
        ("\xff\xfe", 400),
        ("[]", 422),
        ("{}", 422),
    ],
)
def test_malformed_or_partial_bodies_are_refused_and_change_nothing(device, body, status):
    before = snapshot(device.config_file.parent)
    with device.session("read-write") as s:
        answer = s.put(
            device.base_url + "/config/",
            data=body.encode("latin-1"),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    assert answer.status_code == status, answer.text
    code = "bad_request" if status == 400 else "validation_failed"
    assert answer.json()["error"]["code"] == code
    if body == "{}":  # a PUT replaces the whole config: an empty one is not "no machines"
        missing = {line.split(":")[0] for line in answer.json()["error"]["details"]}
        assert missing == set(SECTIONS)  # every section of the config
    assert snapshot(device.config_file.parent) == before


def test_values_that_cannot_be_stored_are_refused_not_a_server_error(device):
    before = snapshot(device.config_file.parent)
    config = device.get("/config/").json()
    for path, value in (("name", "Motor \ud800"), ("id", {}), ("sensors", [{"sensor": 7}])):
        bad = copy.deepcopy(config)
        bad["machines"][0][path] = value
        answer = put(device, bad)
        assert answer.status_code == 422, (path, answer.text)
    assert snapshot(device.config_file.parent) == before


def test_a_read_only_key_cannot_change_the_config(device):
    before = snapshot(device.config_file.parent)
    config = device.get("/config/").json()
    config["machines"][0]["name"] = "Not allowed"
    assert put(device, config, role="read-only").status_code == 403
    with device.session("read-only") as s:
        assert s.post(device.base_url + "/config/restart", timeout=30).status_code == 403
    assert snapshot(device.config_file.parent) == before


def test_an_analysis_change_restarts_the_services_and_readings_continue(device):
    config = device.get("/config/").json()
    config["analysis"]["update_interval_s"] = 0.5
    config["machines"][1]["sensors"][2]["name"] = "Fan motor current"
    previous_text = device.config_file.read_text()
    started = device_time(device)
    answer = put(device, config)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["applied"] == "restarted"
    assert sorted(result["changed"]) == [
        "analysis.update_interval_s",
        "machines[1].sensors[2].name",
    ]
    assert result["previous"] == str(device.config_file) + ".prev"
    assert Path(result["previous"]).read_text() == previous_text
    assert load_config(device.config_file).analysis.update_interval_s == 0.5
    # The restart is done when PUT answers: the new device is up and producing.
    assert device.get("/sensors/motor-2-current/").json()["name"] == "Fan motor current"
    assert fresh_readings(device, started) >= {"motor-1-accel", "motor-2-accel", "motor-1-temp"}

    writer = device.key("read-write")
    changed = wait_for_events(
        device.data_dir,
        lambda e: e["kind"] == "config_changed" and "analysis.update_interval_s" in e["raw"],
    )
    assert changed, "no config_changed event"
    assert changed[-1]["data"]["key_id"] == key_id_of(writer)
    assert changed[-1]["data"]["applied"] == "restarted"
    assert secret_of(writer) not in changed[-1]["raw"]
    assert wait_for_events(device.data_dir, lambda e: e["kind"] == "services_restarted")


def test_settings_for_the_next_start_are_written_but_wait(device):
    config = device.get("/config/").json()
    config["store"]["flush_interval_s"] = 2.0
    answer = put(device, config)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == "next_start"
    assert answer.json()["next_start"] == ["store.flush_interval_s"]
    assert load_config(device.config_file).store.flush_interval_s == 2.0
    unchanged = put(device, config)
    assert unchanged.json()["applied"] == "unchanged" and unchanged.json()["changed"] == []


def test_restart_returns_202_and_the_device_keeps_producing_readings(device):
    started = device_time(device)
    with device.session("read-write") as s:
        answer = s.post(device.base_url + "/config/restart", timeout=30)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "restarting"
    assert answer.json()["file"] == str(device.config_file)
    sensors = {s["sensor_id"] for s in device.get("/device/health").json()["sensors"]}
    assert fresh_readings(device, started) == sensors
    restarted = wait_for_events(
        device.data_dir,
        lambda e: e["kind"] == "services_restarted" and epoch(e["timestamp"]) >= started,
    )
    assert restarted
    assert device.get("/device/health").json()["status"] in ("ok", "warning")


def test_restart_applies_a_hand_edited_file_and_refuses_a_broken_one(device):
    original = device.config_file.read_text()
    edited = load_config(device.config_file).model_dump(mode="json")
    assert "Cooling tower, fan 1" in original
    device.config_file.write_text(original.replace("Cooling tower, fan 1", "Roof, fan 2"))
    try:
        with device.session("read-write") as s:
            answer = s.post(device.base_url + "/config/restart", timeout=30)
            assert answer.status_code == 202, answer.text
            assert answer.json()["changed"] == ["machines[1].location"]
            deadline = time.monotonic() + 20
            while device.get("/devices/motor-2/").json()["location"] != "Roof, fan 2":
                assert time.monotonic() < deadline, "the edit was not applied"
                time.sleep(0.2)

            device.config_file.write_text(original.replace("[analysis]", "[analysis\n"))
            broken = s.post(device.base_url + "/config/restart/", timeout=30)
            assert broken.status_code == 422, broken.text
            assert "not valid TOML" in broken.json()["error"]["details"][0]
            assert device.get("/devices/motor-2/").json()["location"] == "Roof, fan 2"
    finally:
        device.config_file.write_text(original)
    edited["machines"][1]["location"] = "Roof, fan 2"
    assert device.get("/config/").json() == edited
