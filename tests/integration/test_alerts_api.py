"""Alerts end to end in real time: a fault injected into the running simulated plant raises
one alert of the right type, the guide's own CMMS polling script (Method 2) turns it into one
work order and acknowledges it, the guide's MES readiness check says not ready while a
critical alert is active, and everything clears when the fault is removed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .device_server import RunningDevice, start_device
from .waiting import wait_until

GUIDE = Path(__file__).parent / "guide"
GUIDE_HOST_URL = "https://edge-device/api/v1"
FAULT_MACHINE = "motor-2"


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("alerts"))
    yield running
    assert running.stop() == 0


def alerts(device: RunningDevice, **params: Any) -> list[dict]:
    answer = device.get("/alerts/", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


class MockCmms:
    """A CMMS work-order endpoint answering with numeric ids, recording what it got."""

    def __init__(self) -> None:
        self.orders: list[dict] = []
        self.auth: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.orders.append(body)
                outer.auth.append(self.headers.get("Authorization"))
                answer = json.dumps({"id": 5000 + len(outer.orders)}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/work-orders"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_guide_script(
    name: str, device: RunningDevice, replace: dict, prelude: str, tail: str, cwd: Path
) -> subprocess.CompletedProcess:
    """A guide script with its example URLs and key replaced (nothing else), after a prelude
    that defines what the guide leaves to the reader, and followed by `tail`."""
    text = (GUIDE / name).read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = cwd / name
    path.write_text(prelude + text + tail)
    env = {"REQUESTS_CA_BUNDLE": str(device.cert), "PATH": "/usr/bin:/bin", "TZ": "UTC"}
    return subprocess.run(
        [sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


CMMS_PRELUDE = """\
def map_priority(severity):
    return {"critical": 1, "alert": 2, "warning": 3}.get(severity, 4)
def calculate_due_date(severity):
    return "2026-12-01"
"""


def machine_alerts(device: RunningDevice) -> list[dict]:
    """Alerts about the machines. A test machine starved of CPU may lose samples, and the
    device then rightly raises sensor_overflow warnings: those are about the device."""
    return [a for a in alerts(device) if a["alert_type"] != "sensor_overflow"]


def test_no_alert_on_a_healthy_plant(device):
    wait_until(lambda: device.get("/telemetry/").json())
    assert machine_alerts(device) == []
    health = device.get(f"/devices/{FAULT_MACHINE}/health").json()
    overflows = [a for a in alerts(device) if a["device_id"] == FAULT_MACHINE]
    assert health["active_alerts"] == len(overflows)
    assert health["status"] == ("warning" if overflows else "ok")


def test_a_bearing_fault_raises_one_alert_the_cmms_script_makes_one_work_order(device, tmp_path):
    with device.session("read-write") as s:
        made = s.post(
            device.base_url + "/sim/faults",
            json={"machine": FAULT_MACHINE, "kind": "bearing_outer", "severity": 0.6},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        fault_id = made.json()["id"]

    def bearing_alerts() -> list[dict]:
        return [a for a in alerts(device) if a["alert_type"] == "bearing_outer_race"]

    # The envelope grows over the first analysis windows after the fault starts, so the alert
    # may be raised as a warning and then escalate: it must stay one alert while it does.
    escalated = wait_until(
        lambda: [a for a in bearing_alerts() if a["severity"] in ("alert", "critical")]
    )
    raised = bearing_alerts()
    assert len(raised) == 1 and raised[0]["id"] == escalated[0]["id"]
    alert = raised[0]
    assert alert["device_id"] == FAULT_MACHINE and alert["status"] == "new"
    assert alert["equipment_id"] == "FAN-201-M" and alert["alert_code"] == 130
    assert alert["acknowledged"] is False
    assert alert["current_value"] > alert["threshold_value"] > 0
    assert alert["unit"] == "m/s²" and alert["recommended_action"]
    assert not [a for a in alerts(device) if a["alert_type"] == "bearing_inner_race"]
    assert device.get(f"/devices/{FAULT_MACHINE}/health").json()["active_alerts"] >= 1

    cmms = MockCmms()
    try:
        key = device.key("read-write")
        for _ in range(2):  # two polls "5 minutes apart": the second finds nothing new
            done = run_guide_script(
                "cmms_polling.py",
                device,
                {
                    GUIDE_HOST_URL: device.base_url,
                    '"api-key"': json.dumps(key),
                    "https://cmms/api/work-orders": cmms.url,
                },
                CMMS_PRELUDE,
                "",
                tmp_path,
            )
            assert done.returncode == 0, done.stderr
    finally:
        cmms.close()
    ours = [o for o in cmms.orders if o["title"] == "Predictive Alert: bearing_outer_race"]
    assert len(ours) == 1, cmms.orders
    assert ours[0]["equipment_id"] == FAULT_MACHINE and ours[0]["priority"] in (1, 2)
    assert cmms.auth[0] == "Bearer cmms-api-key"
    acked = device.get(f"/alerts/{alert['id']}/").json()
    assert acked["acknowledged"] is True and acked["status"] == "acknowledged"
    assert acked["work_order_id"] == 5000 + cmms.orders.index(ours[0]) + 1  # a number
    assert alert["id"] not in [a["id"] for a in alerts(device, status="new")]
    assert alert["id"] in [a["id"] for a in alerts(device)]  # still active

    with device.session("read-write") as s:
        cleared = s.delete(device.base_url + f"/sim/faults/{fault_id}", timeout=30)
        assert cleared.status_code == 200, cleared.text
    wait_until(lambda: device.get(f"/alerts/{alert['id']}/").json()["status"] == "resolved")
    history = device.get("/alerts/history/").json()
    assert [a["status"] for a in history if a["id"] == alert["id"]] == ["resolved"]


def test_mes_readiness_is_not_ready_while_a_critical_alert_is_active(device, tmp_path):
    rule = {
        "id": "fan-bearing-critical",
        "type": "threshold",
        "machine": FAULT_MACHINE,
        "metric": "envelope_bpfo",
        "direction": "above",
        "critical": 0.05,
        "debounce_s": 0,
        "alert_type": "bearing_outer_race",
    }
    with device.session("read-write") as s:
        added = s.post(device.base_url + "/alerts/rules/", json=rule, timeout=30)
        assert added.status_code == 201, added.text
        made = s.post(
            device.base_url + "/sim/faults",
            json={"machine": FAULT_MACHINE, "kind": "bearing_outer", "severity": 0.8},
            timeout=30,
        )
        fault_id = made.json()["id"]
    critical = wait_until(
        lambda: [a for a in alerts(device, severity="critical") if a["rule_id"] == rule["id"]]
    )

    def readiness() -> dict:
        tail = (
            "\nclass Check(MESIntegration):\n"
            "    def get_device_by_equipment_id(self, equipment_id):\n"
            "        return requests.get(f'{self.esocore_url}/devices/', "
            "headers=self.esocore_headers, params={'equipment_id': equipment_id}).json()[0]\n"
            "import json\n"
            f"print(json.dumps(Check({device.base_url!r}, {device.key('read-only')!r}, "
            "'http://mes.invalid', 'k').check_production_readiness('FAN-201-M')))\n"
        )
        done = run_guide_script("mes_integration.py", device, {}, "", tail, tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    answer = readiness()
    assert answer["ready"] is False and answer["recommendation"] == "Schedule maintenance"
    assert critical[0]["id"] in [a["id"] for a in answer["alerts"]]
    with device.session("read-write") as s:
        acked = s.post(device.base_url + f"/alerts/{critical[0]['id']}/ack", timeout=30)
        assert acked.status_code == 200, acked.text
    assert readiness()["ready"] is False  # acknowledged is still active
    with device.session("read-write") as s:
        s.delete(device.base_url + f"/sim/faults/{fault_id}", timeout=30)
        s.delete(device.base_url + f"/alerts/rules/{rule['id']}", timeout=30)
    wait_until(lambda: readiness()["ready"] is True)


def test_acknowledging_twice_and_bad_requests(device):
    history = device.get("/alerts/history/").json()
    assert history, "the tests above raised alerts"
    some = history[0]
    with device.session("read-write") as s:
        first = s.post(device.base_url + f"/alerts/{some['id']}/ack", json={"note": "x"})
        again = s.post(
            device.base_url + f"/alerts/{some['id']}/ack", json={"work_order_id": "WO-2"}
        )
        assert first.status_code == again.status_code == 200
        assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
        assert s.post(device.base_url + "/alerts/999999/ack").status_code == 404
        assert s.post(device.base_url + f"/alerts/{some['id']}/ack", data="{").status_code == 422
    with device.session("read-only") as s:
        assert s.post(device.base_url + f"/alerts/{some['id']}/ack").status_code == 403
    assert device.get("/alerts/", params={"status": "open"}).status_code == 400
    assert device.get("/alerts/", params={"severity": "huge"}).status_code == 400
    assert device.get("/alerts/", params={"device_id": "motor-9"}).status_code == 404
    assert device.get("/alerts/", params={"acknowledged": "False"}).status_code == 200
    assert device.get("/alerts/history/", params={"start_time": "yesterday"}).status_code == 400
