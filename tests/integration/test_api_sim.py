"""Fault injection into the running simulated plant over the API, seen in the figures."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from .device_server import RunningDevice, start_device
from .event_log import events, wait_for_events


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("sim-api"))
    yield running
    assert running.stop() == 0


def events_of(device: RunningDevice, kind: str) -> list[dict]:
    return [e for e in events(device.data_dir) if e["kind"] == kind]


def wait_until(check: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return True


def vibration(device: RunningDevice, sensor: str) -> float:
    rows = device.get("/telemetry/", params={"sensor_id": sensor, "metric": "vibration_rms"})
    return rows.json()[0]["value"]


def sensor_state(device: RunningDevice, sensor: str) -> str:
    sensors = device.get("/device/health").json()["sensors"]
    return next(s["status"] for s in sensors if s["sensor_id"] == sensor)


def test_an_injected_imbalance_shows_in_the_vibration_and_clears(device):
    assert wait_until(lambda: device.get("/telemetry/").json() != [])
    baseline = vibration(device, "motor-1-accel")
    with device.session("read-write") as s:
        made = s.post(
            device.base_url + "/sim/faults",
            json={"machine": "motor-1", "kind": "imbalance", "severity": 1.0, "ramp_s": 1},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        fault = made.json()
        assert (fault["machine"], fault["kind"], fault["severity"], fault["ramp_s"]) == (
            "motor-1",
            "imbalance",
            1.0,
            1.0,
        )
        assert fault["active"] is True and fault["started_at"].endswith("Z")
        listed = device.get("/sim/faults").json()
        assert [f["id"] for f in listed] == [fault["id"]]
        assert wait_until(lambda: vibration(device, "motor-1-accel") > 3 * baseline)
        # 3x can be reached before the 1 s ramp ends: wait for the ramp, then check the level.
        assert wait_until(lambda: device.get("/sim/faults").json()[0]["level"] == 1.0, 10)

        cleared = s.delete(device.base_url + f"/sim/faults/{fault['id']}", timeout=30)
        assert cleared.status_code == 200
        assert cleared.json()["active"] is False and cleared.json()["cleared_at"] is not None
        assert device.get("/sim/faults").json() == []
        assert wait_until(lambda: vibration(device, "motor-1-accel") < 1.5 * baseline)


def test_a_sensor_fault_by_sensor_id_takes_the_sensor_down_until_cleared(device):
    with device.session("read-write") as s:
        made = s.post(
            device.base_url + "/sim/faults/",
            json={"machine": "motor-2-temp", "kind": "sensor_disconnect", "severity": 1},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        assert wait_until(lambda: sensor_state(device, "motor-2-temp") == "fault")
        assert sensor_state(device, "motor-1-temp") == "ok"
        s.delete(device.base_url + f"/sim/faults/{made.json()['id']}/", timeout=30)
    assert wait_until(lambda: sensor_state(device, "motor-2-temp") == "ok", timeout=30)


@pytest.mark.parametrize(
    "request_body, says",
    [
        ({"machine": "motor-1", "kind": "gremlins", "severity": 0.5}, "unknown fault 'gremlins'"),
        ({"machine": "pump-9", "kind": "imbalance", "severity": 0.5}, "no machine or sensor"),
        ({"machine": "motor-1-temp", "kind": "imbalance", "severity": 0.5}, "acts on a machine"),
        ({"machine": "motor-1", "kind": "imbalance", "severity": 1.5}, "severity"),
        ({"machine": "motor-1", "kind": "imbalance", "severity": 0.5, "ramp_s": -1}, "ramp_s"),
        ({"machine": "motor-1", "kind": "imbalance"}, "severity"),
    ],
)
def test_bad_fault_requests_are_422_with_the_reason(device, request_body, says):
    with device.session("read-write") as s:
        answer = s.post(device.base_url + "/sim/faults", json=request_body, timeout=30)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]["message"]
    assert device.get("/sim/faults").json() == []


def test_clearing_an_unknown_fault_is_404_and_kinds_are_listed(device):
    with device.session("read-write") as s:
        assert s.delete(device.base_url + "/sim/faults/f999", timeout=30).status_code == 404
    kinds = {k["kind"]: k["description"] for k in device.get("/sim/fault-kinds").json()}
    assert {"imbalance", "bearing_outer", "sensor_disconnect"} <= set(kinds)
    assert all(kinds.values())


def test_faults_survive_an_in_process_restart(device):
    with device.session("read-write") as s:
        made = s.post(
            device.base_url + "/sim/faults",
            json={"machine": "motor-2", "kind": "misalignment", "severity": 0.3},
            timeout=30,
        ).json()
        restarts = len(events_of(device, "services_restarted"))
        assert s.post(device.base_url + "/config/restart", timeout=30).status_code == 202
        assert wait_for_events(
            device.data_dir, lambda e: e["kind"] == "services_restarted", restarts + 1
        )
        assert [f["id"] for f in device.get("/sim/faults").json()] == [made["id"]]
        s.delete(device.base_url + f"/sim/faults/{made['id']}", timeout=30)
