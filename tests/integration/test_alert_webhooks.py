"""Alerts reach a CMMS by webhook, end to end: a bearing fault in the simulated plant raises
one alert, the webhook fires once (the guide's payload template, signed), and once more when
the fault is gone and the alert resolves. In virtual time (`esocore sim`) and in real time
(`esocore run`, webhook configured through the API)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import tomli_w

from runtime.config import default_config_path, load_config

from .device_server import free_port, start_device
from .notify_peers import Receiver, Request
from .waiting import wait_until

ESOCORE = Path(sys.executable).parent / "esocore"
SECRET = "whsec-test-0123456789"
TOKEN = "cmms-api-token"
# The integration guide's payload example (CMMS Integration, Method 1), verbatim.
GUIDE_PAYLOAD = (Path(__file__).parent / "guide" / "cmms_payload.json").read_text()


def webhook(url: str) -> dict:
    return {
        "id": "cmms",
        "name": "CMMS work orders",
        "url": url,
        "auth": {"type": "bearer", "token": TOKEN},
        "secret": SECRET,
        "severities": ["alert", "critical"],  # a work order for these only
        "events": ["raised", "escalated", "resolved"],
        "template": GUIDE_PAYLOAD,
    }


def signed(request: Request) -> bool:
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-esocore-signature"], f"sha256={expected}")


def check_request(request: Request, event: str) -> dict:
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-esocore-event"] == event
    assert signed(request), "the HMAC signature does not match the body"
    payload = json.loads(request.body)
    if event == "test":  # a sample alert of the plant's first machine
        assert payload["equipment_id"] == "motor-1"
        return payload
    assert payload["equipment_id"] == "motor-2"
    assert payload["sensor_data"]["sensor"] == "Motor 2 vibration (DE)"
    assert float(payload["sensor_data"]["value"]) > 0
    return payload


def test_in_virtual_time_the_webhook_fires_once_per_change(tmp_path):
    config = load_config(default_config_path("sim")).model_dump(mode="json", exclude_none=True)
    with Receiver() as cmms:
        config["notifications"]["webhooks"] = [webhook(cmms.url)]
        path = tmp_path / "device.toml"
        path.write_text(tomli_w.dumps(config))
        done = subprocess.run(
            [
                str(ESOCORE),
                "sim",
                "--config",
                str(path),
                "--duration",
                "6m",
                "--fault",
                "motor-2:bearing_outer:0.6@2m-4m",
                "--data-dir",
                str(tmp_path / "data"),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "alerts: 1 raised, 0 still active" in done.stdout
        requests = cmms.wait_for(2, timeout=30)
    assert [r.headers["x-esocore-event"] for r in requests] == ["raised", "resolved"]
    raised = check_request(requests[0], "raised")
    assert raised["alert_type"] == "alert"  # the guide maps {{alert_severity}} there
    assert raised["priority"] == "2"  # the default priority map: alert -> 2
    assert "Bearing outer race" in raised["description"]
    check_request(requests[1], "resolved")
    ids = {r.headers["x-esocore-delivery"] for r in requests}
    assert len(ids) == 2


def test_in_real_time_a_webhook_added_through_the_api_fires_once(tmp_path):
    device = start_device(tmp_path)
    try:
        with Receiver() as cmms, device.session("read-write") as s:
            base = device.base_url
            added = s.post(base + "/integrations/webhooks/", json=webhook(cmms.url), timeout=30)
            assert added.status_code == 201, added.text
            shown = added.json()
            assert shown["secret"] == "********" and shown["auth"]["token"] == "********"

            tested = s.post(base + "/integrations/webhooks/cmms/test", timeout=30)
            assert tested.status_code == 200 and tested.json()["status_code"] == 200
            check_request(cmms.wait_for(1)[0], "test")

            made = s.post(
                base + "/sim/faults",
                json={"machine": "motor-2", "kind": "bearing_outer", "severity": 0.6},
                timeout=30,
            )
            assert made.status_code == 201, made.text
            requests = cmms.wait_for(2, timeout=60)
            event = requests[1].headers["x-esocore-event"]
            assert event in ("raised", "escalated")  # at `alert` at once, or via a warning
            raised = check_request(requests[1], event)
            assert "Bearing outer race" in raised["description"]

            deliveries = s.get(base + "/integrations/deliveries/", timeout=30).json()
            events = [(d["event"], d["status"]) for d in deliveries if d["target_id"] == "cmms"]
            assert (event, "delivered") in events

            bad = dict(webhook(cmms.url), id="bad", template='{"x": {{no_such_field}}}')
            refused = s.post(base + "/integrations/webhooks/", json=bad, timeout=30)
            assert refused.status_code == 422
            assert "no_such_field" in json.dumps(refused.json()["error"])

            s.delete(base + f"/sim/faults/{made.json()['id']}", timeout=30)
            requests = cmms.wait_for(3, timeout=60)
            check_request(requests[2], "resolved")
            alerts = s.get(base + "/alerts/history/", timeout=30).json()
            bearing = [a for a in alerts if a["alert_type"].startswith("bearing_")]
            assert [(a["alert_type"], a["status"]) for a in bearing] == [
                ("bearing_outer_race", "resolved")
            ]
    finally:
        assert device.stop() == 0


def test_a_receiver_down_while_the_device_is_killed_gets_the_alert_after_restart(tmp_path):
    """The CMMS is down when the alert is raised; the device is killed (-9) with the
    notification still in its outbox; after a restart, with the CMMS back, it arrives once."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/work-orders"
    device = start_device(tmp_path)
    try:
        with device.session("read-write") as s:
            added = s.post(device.base_url + "/integrations/webhooks/", json=webhook(url))
            assert added.status_code == 201, added.text
            made = s.post(
                device.base_url + "/sim/faults",
                json={"machine": "motor-2", "kind": "bearing_outer", "severity": 0.6},
                timeout=30,
            )
            assert made.status_code == 201, made.text

            def failed_attempt() -> list[dict]:
                rows = s.get(device.base_url + "/integrations/deliveries/", timeout=30).json()
                # The bearing alert reaches `alert` either at once ("raised") or, when the
                # first frame holding the fault made it a warning, by escalation.
                return [
                    d for d in rows if d["event"] in ("raised", "escalated") and d["attempts"] >= 1
                ]

            pending = wait_until(failed_attempt, 90)
            assert pending[0]["status"] == "pending" and pending[0]["last_error"]
        device.process.kill()  # no goodbye: the outbox is all that is left
        device.process.wait(timeout=30)
    finally:
        if device.process.poll() is None:
            device.process.kill()
    with Receiver(port=port) as cmms:
        again = start_device(tmp_path)  # same data directory, same config file
        try:
            arrived = cmms.wait_for(1, timeout=120)
            check_request(arrived[0], pending[0]["event"])
            assert arrived[0].headers["x-esocore-delivery"] == pending[0]["id"]
            with again.session("read-write") as s:

                def delivered() -> bool:
                    rows = s.get(again.base_url + "/integrations/deliveries/", timeout=30).json()
                    return any(
                        d["id"] == pending[0]["id"] and d["status"] == "delivered" for d in rows
                    )

                wait_until(delivered, 30)
            delivery_ids = [r.headers["x-esocore-delivery"] for r in cmms.requests]
            assert delivery_ids.count(pending[0]["id"]) == 1
        finally:
            assert again.stop() == 0
