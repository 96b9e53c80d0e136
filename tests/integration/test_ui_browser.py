"""The web UI in a real browser: Debian's headless Chromium driven by Playwright, against a
real device (`esocore run` on loopback with its self-signed certificate). Every check reads
back through the REST API with an API key, the way an integrator would see the result.

Set ESOCORE_UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/ from this run.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from .browser_ui import (
    ADMIN,
    OPERATOR,
    PASSWORD,
    VIEWER,
    log_in,
    logged_in,
    root,
    set_password,
    shot,
    ui_device,
)
from .device_server import RunningDevice
from .event_log import wait_for_events
from .notify_peers import Receiver
from .timestamps import epoch, iso
from .waiting import wait_until


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory):
    yield from ui_device(tmp_path_factory.mktemp("ui"))


def api(device: RunningDevice, role: str = "admin") -> requests.Session:
    return device.session(role)


def test_first_login_forces_a_password_change(device: RunningDevice, page: Page, tmp_path):
    line = next(line for line in device.output if "initial admin password:" in line)
    initial = re.search(r"initial admin password: (\S+)", line).group(1)
    page.goto("/")
    page.wait_for_url(re.compile(r"/login$"))
    shot(page, "login", tmp_path)
    log_in(page, "admin", initial)
    page.wait_for_url(re.compile(r"/password$"))
    # Nothing else is reachable until the password is changed.
    page.goto("/alerts")
    page.wait_for_url(re.compile(r"/password$"))
    page.fill("input[name=current_password]", initial)
    page.fill("input[name=new_password]", "short")
    page.fill("input[name=repeat]", "short")
    page.click("button[type=submit]")
    expect(page.locator('.err[data-for="new_password"]')).to_contain_text("at least 10")
    page.fill("input[name=new_password]", "a much better one")
    page.fill("input[name=repeat]", "a much better one")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#who")).to_have_text("admin")
    # The initial password no longer works; the new one does.
    check = device.session(None)
    url = f"{root(device)}/api/v1/session/login"
    old = check.post(url, json={"username": "admin", "password": initial}, timeout=30)
    assert old.status_code == 401
    new = check.post(url, json={"username": "admin", "password": "a much better one"}, timeout=30)
    assert new.status_code == 200 and new.json()["must_change_password"] is False


def test_dashboard_shows_the_api_values_and_updates_live(
    device: RunningDevice, page: Page, tmp_path
):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    logged_in(page, VIEWER)
    client = api(device, "read-only")
    for machine, metric in [
        ("motor-1", "vibration_rms"),
        ("motor-1", "temperature"),
        ("motor-2", "current_rms"),
    ]:
        span = page.locator(f'.tile[data-machine="{machine}"] [data-metric="{metric}"]')
        expect(span).to_have_attribute("data-ts", re.compile(r"Z$"))
        # One read of all four: the tile refreshes every second, between separate reads.
        ts, value, sensor, shown = span.evaluate(
            "s => [s.dataset.ts, s.dataset.value, s.dataset.sensor, s.textContent]"
        )
        at = epoch(ts)
        # The reading the tile shows is the API's reading of that time, to the last bit
        # (in the live state now, or in the history once the store's batch is written).
        deadline = time.monotonic() + 15
        while True:
            live = client.get(
                f"{device.base_url}/telemetry/",
                params={"sensor_id": sensor, "metric": metric},
                timeout=30,
            ).json()
            stored = client.get(
                f"{device.base_url}/telemetry/history/",
                params={"sensor_id": sensor, "metric": metric, "start_time": iso(at - 1)},
                timeout=30,
            ).json()
            # Within a millisecond: the store may print a time rounded the other way. The
            # tile shows the overall value, not a per-axis row of the same time.
            matching = [
                r
                for r in live + stored
                if r.get("axis") is None and abs(epoch(r["timestamp"]) - at) <= 0.0011
            ]
            if matching or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert matching, f"the API has no {metric} of {sensor} at {ts}"
        assert float(value) == matching[0]["value"]
        assert shown == f"{matching[0]['value']:.2f}"
    tile = page.locator('.tile[data-machine="motor-1"]')
    expect(tile).to_have_attribute("data-status", re.compile("^(ok|warning|alert|critical)$"))
    first = tile.locator('[data-metric="vibration_rms"]').get_attribute("data-ts")
    page.wait_for_function(
        't => document.querySelector(\'.tile[data-machine="motor-1"] '
        '[data-metric="vibration_rms"]\').dataset.ts !== t',
        arg=first,
        timeout=10_000,
    )
    # Pushed over one event stream, not polled.
    api_calls = [u.split("/api/v1", 1)[1] for u in requested if "/api/v1/" in u]
    assert [u for u in api_calls if u.startswith("/stream/")], api_calls
    assert not [u for u in api_calls if u.startswith(("/telemetry", "/devices"))], api_calls
    shot(page, "dashboard", tmp_path)


def test_fault_turns_the_tile_to_alert_and_machine_page_draws(
    device: RunningDevice, page: Page, tmp_path
):
    logged_in(page, OPERATOR)
    made = page.request.post(
        "/api/v1/sim/faults",
        data={"machine": "motor-2", "kind": "bearing_outer", "severity": 0.6, "ramp_s": 0},
        headers={"X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content")},
    )
    assert made.status == 201, made.text()
    tile = page.locator('.tile[data-machine="motor-2"]')
    expect(tile).to_have_attribute("data-status", re.compile("alert|critical"), timeout=90_000)
    assert int(tile.locator('[data-field="active_alerts"]').inner_text()) >= 1
    shot(page, "dashboard-alert", tmp_path)

    tile.click()
    page.wait_for_url(re.compile(r"/machines/motor-2$"))
    for chart in ("trend", "spectrum", "envelope"):
        expect(page.locator(f"canvas#{chart}")).to_have_attribute(
            "data-drawn", re.compile(r"^[1-9]\d*$")
        )
        coloured = page.evaluate(
            """id => { const c = document.getElementById(id);
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 0; i < d.length; i += 4)
                  if (d[i + 3] > 0 && d[i + 2] > 150 && d[i] < 120) n++;
                return n; }""",
            chart,
        )
        assert coloured > 200, f"{chart}: only {coloured} pixels of the series colour"
    expect(page.locator("#markers")).to_contain_text("BPFO")
    expect(page.locator("#live tbody tr").first).to_be_visible()
    expect(page.locator("#machine-alerts tbody")).to_contain_text("bearing_outer_race")
    shot(page, "machine", tmp_path)


def test_acknowledge_an_alert_with_a_work_order(device: RunningDevice, page: Page, tmp_path):
    client = api(device, "read-only")
    deadline = time.monotonic() + 90
    while True:  # raised by the previous test's fault (or raise it here when run alone)
        active = client.get(
            f"{device.base_url}/alerts/",
            params={"device_id": "motor-2", "alert_type": "bearing_outer_race"},
            timeout=30,
        ).json()
        if active or time.monotonic() > deadline:
            break
        if not client.get(f"{device.base_url}/sim/faults", timeout=30).json():
            api(device, "read-write").post(
                f"{device.base_url}/sim/faults",
                json={"machine": "motor-2", "kind": "bearing_outer", "severity": 0.6},
                timeout=30,
            )
        time.sleep(1)
    assert active, "no bearing_outer_race alert on motor-2"
    alert_id = active[0]["id"]
    logged_in(page, OPERATOR)
    page.goto("/alerts")
    row = page.locator(f'#alerts tr[data-alert="{alert_id}"]')
    row.locator("button").click()
    form = page.locator("#ack-form")
    expect(form).to_be_visible()
    form.locator("input[name=work_order_id]").fill("WO-4711")
    form.locator("textarea[name=note]").fill("bearing ordered")
    shot(page, "alerts", tmp_path)
    form.locator("button[type=submit]").click()
    expect(page.locator('#detail-fields [data-field="work_order_id"]')).to_have_text("WO-4711")
    seen = client.get(f"{device.base_url}/alerts/{alert_id}/", timeout=30).json()
    assert seen["work_order_id"] == "WO-4711"
    assert seen["note"] == "bearing ordered"
    assert seen["acknowledged"] is True and seen["status"] == "acknowledged"
    assert OPERATOR in seen["acknowledged_by"]


def test_the_alerts_list_follows_a_raised_and_resolved_alert_without_polling(
    device: RunningDevice, page: Page
):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    logged_in(page, OPERATOR)
    page.goto("/alerts")
    expect(page.locator("#alerts tbody tr, #alerts-empty:not([hidden])").first).to_be_visible()
    rule = {
        "id": "ui-list-temperature",
        "type": "threshold",
        "machine": "motor-1",
        "metric": "temperature",
        "direction": "above",
        "warning": -50.0,
        "debounce_s": 0,
    }
    writer = api(device, "read-write")
    made = writer.post(f"{device.base_url}/alerts/rules/", json=rule, timeout=30)
    assert made.status_code == 201, made.text
    try:
        reader = api(device)

        def raised() -> list[dict]:
            alerts = reader.get(f"{device.base_url}/alerts/", timeout=30).json()
            return [a for a in alerts if a["rule_id"] == rule["id"]]

        alert_id = wait_until(raised, timeout=60)[0]["id"]
        # Pushed: the page was not reloaded.
        expect(page.locator(f'#alerts tr[data-alert="{alert_id}"]')).to_be_visible()
    finally:
        gone = writer.delete(f"{device.base_url}/alerts/rules/{rule['id']}", timeout=30)
        assert gone.status_code in (200, 204), gone.text
    expect(page.locator(f'#alerts tr[data-alert="{alert_id}"]')).to_have_count(0, timeout=180_000)
    polled = [u for u in requested if "/api/v1/alerts/?" in u]
    streams = [u for u in requested if "/api/v1/stream/" in u]
    assert streams, requested
    # One read on opening, then one per pushed change (raised, resolved): no polling.
    assert len(polled) <= 6, polled


def test_generate_an_api_key_and_use_it(device: RunningDevice, page: Page, tmp_path):
    logged_in(page, ADMIN)
    page.goto("/settings/keys")
    page.click("#key-form button[type=submit]")  # no description: the API's model says why
    expect(page.locator('#key-form .err[data-for="description"]')).to_contain_text("at least 1")
    page.fill("#key-form input[name=description]", "Historian import")
    page.select_option("#key-form select[name=role]", "read-write")
    page.click("#key-form button[type=submit]")
    secret = page.locator("#new-key-value")
    expect(secret).to_have_text(re.compile(r"^esk_[0-9a-f]+_\S+$"))
    expect(page.locator("#new-key")).to_contain_text("will not be shown again")
    key = secret.inner_text()
    key_id = key.split("_")[1]
    shot(page, "settings-keys", tmp_path)
    plain = device.session(None)
    answer = plain.get(f"{device.base_url}/device/info", headers={"X-API-Key": key}, timeout=30)
    assert answer.status_code == 200
    # A key never needs a CSRF token, even for a write.
    made = plain.post(
        f"{device.base_url}/sim/faults",
        headers={"X-API-Key": key},
        json={"machine": "motor-1", "kind": "imbalance", "severity": 0.1},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    plain.delete(f"{device.base_url}/sim/faults/{made.json()['id']}", headers={"X-API-Key": key})
    row = page.locator(f'#keys tr[data-key="{key_id}"]')
    expect(row).to_contain_text("Historian import")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button").click()
    expect(row).to_contain_text("revoked")
    again = plain.get(f"{device.base_url}/device/info", headers={"X-API-Key": key}, timeout=30)
    assert again.status_code == 401


def test_a_viewer_cannot_reach_settings(device: RunningDevice, page: Page):
    logged_in(page, VIEWER)
    expect(page.locator("header nav")).not_to_contain_text("Settings")
    for path in ("/settings", "/settings/webhooks", "/settings/keys", "/settings/users"):
        answer = page.goto(path)
        assert answer.status == 403, path
        expect(page.locator("main h1")).to_have_text("Not allowed")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = page.request.post(
        "/api/v1/integrations/webhooks/",
        data={"id": "x", "url": "http://127.0.0.1:9/"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403
    assert page.request.get("/api/v1/keys/").status == 403


def test_add_a_webhook_and_send_a_test(device: RunningDevice, page: Page, tmp_path):
    with Receiver() as receiver:
        logged_in(page, OPERATOR)
        page.goto("/settings/webhooks")
        page.click("#webhook-add")
        form = page.locator("#webhook-form")
        form.locator("input[name=id]").fill("cmms")
        form.locator("input[name=name]").fill("Work orders")
        form.locator("input[name=url]").fill("ftp://127.0.0.1/x")
        form.locator("textarea[name=template]").fill('{"asset": {{equipment_id}}')
        expect(form.locator("details")).to_contain_text("{{equipment_id}}")
        form.locator("button[type=submit]").click()
        expect(form.locator('.err[data-for="url"]')).to_contain_text("not an http(s) URL")
        expect(form.locator('.err[data-for="template"]')).to_contain_text("not valid JSON")
        form.locator("input[name=url]").fill(receiver.url)
        form.locator("textarea[name=template]").fill(
            '{"asset": "{{equipment_id}}", "title": "{{alert_title}}"}'
        )
        form.locator("button[type=submit]").click()
        row = page.locator('#webhooks tr[data-webhook="cmms"]')
        expect(row).to_contain_text(receiver.url)
        row.locator("button", has_text="Send test").click()
        output = page.locator("#test-output")
        expect(output).to_contain_text("HTTP 200")
        expect(output).to_contain_text("WO-1001")
        shot(page, "settings-webhooks", tmp_path)
        received = receiver.wait_for(1)
        assert b'"asset":' in received[0].body
    hooks = api(device).get(f"{device.base_url}/integrations/webhooks/", timeout=30).json()
    assert [h["id"] for h in hooks] == ["cmms"]


def test_a_session_write_without_csrf_token_is_refused(device: RunningDevice, page: Page):
    logged_in(page, ADMIN)
    body = {"description": "csrf probe", "role": "read-only"}
    refused = page.request.post("/api/v1/keys/", data=body)
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = page.request.post("/api/v1/keys/", data=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status == 403
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    made = page.request.post("/api/v1/keys/", data=body, headers={"X-CSRF-Token": csrf})
    assert made.status == 201
    # Reads need no token, and the fast path of /telemetry/ takes the session too.
    for _ in range(2):
        assert page.request.get("/api/v1/telemetry/").status == 200


def test_lockout_after_repeated_bad_passwords(device: RunningDevice, page: Page):
    set_password(device, "locky", "viewer")
    for _ in range(4):
        log_in(page, "locky", "not-the-password")
        expect(page.locator('.err[data-for="form"]')).to_contain_text("wrong user name or password")
    log_in(page, "locky", "not-the-password")
    expect(page.locator('.err[data-for="form"]')).to_contain_text("locked")
    log_in(page, "locky", PASSWORD)  # the right password does not help while locked
    expect(page.locator('.err[data-for="form"]')).to_contain_text("locked")
    assert page.url.endswith("/login")
    wait_for_events(
        device.data_dir, lambda e: e["kind"] == "user_locked" and "locky" in e["message"]
    )
    # An admin's password reset (the CLI) unlocks.
    set_password(device, "locky", "viewer", "another-password-1")
    log_in(page, "locky", "another-password-1")
    page.wait_for_url(re.compile(r"/$"))
