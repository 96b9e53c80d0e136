"""Settings → Machines and sensors in a real browser against a real device: machine settings
saved through GET/PUT /api/v1/config/, alert rules through /api/v1/alerts/rules/. Every
check reads the result back through the REST API with an API key (and the pages that show
it), the way an integrator would see it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dsp_ext import COMMON_BEARINGS
from dsp_ext.bearing import bearing_frequencies

from .browser_ui import OPERATOR, logged_in, shot, ui_device
from .device_server import RunningDevice
from .waiting import wait_until


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory):
    yield from ui_device(tmp_path_factory.mktemp("ui-machines"))


def open_machine(page: Page, machine_id: str) -> None:
    page.goto(f"/settings/machines#{machine_id}")
    expect(page.locator("#machine-form-title")).to_have_text(f"Machine {machine_id}")
    expect(page.locator(f'#rules tr[data-rule="builtin-iso-{machine_id}"]')).to_be_visible()


def config_files(device: RunningDevice) -> dict[str, bytes]:
    """Every config file the device may be running from, byte for byte."""
    files = sorted(device.data_dir.glob("device.toml*"))
    return {path.name: path.read_bytes() for path in files}


def machine_of(device: RunningDevice, machine_id: str) -> dict:
    response = device.get(f"/devices/{machine_id}/")
    assert response.status_code == 200, response.text
    return response.json()


def overall(device: RunningDevice, sensor_id: str, metric: str) -> dict | None:
    rows = device.get("/telemetry/", params={"sensor_id": sensor_id, "metric": metric}).json()
    return next((r for r in rows if r["axis"] is None), None)


def test_renaming_a_machine_shows_in_the_api_and_on_the_dashboard(
    device: RunningDevice, page: Page, tmp_path: Path
) -> None:
    logged_in(page, OPERATOR)
    open_machine(page, "motor-2")
    page.fill("#machine-form input[name=name]", "Cooling fan 1 motor")
    page.fill("#machine-form input[name=equipment_id]", "FAN-201-M2")
    page.fill("#machine-form input[name=location]", "Cooling tower, fan 1 (north)")
    sensor_name = page.locator('#sensor-names tr[data-sensor="motor-2-temp"] input')
    sensor_name.fill("Fan motor bearing temperature (DE)")
    page.click("#machine-form button[type=submit]")
    result = page.locator("#machine-result")
    expect(result).to_have_attribute("data-applied", "live")
    expect(result).to_contain_text("machines[1].name")
    shot(page, "settings-machines", tmp_path)

    machine = machine_of(device, "motor-2")
    assert (machine["name"], machine["equipment_id"], machine["location"]) == (
        "Cooling fan 1 motor",
        "FAN-201-M2",
        "Cooling tower, fan 1 (north)",
    )
    found = device.get("/devices/", params={"equipment_id": "FAN-201-M2"}).json()
    assert [m["id"] for m in found] == ["motor-2"]
    reading = wait_until(lambda: overall(device, "motor-2-temp", "temperature"), timeout=30)
    assert reading["sensor_name"] == "Fan motor bearing temperature (DE)"
    # The list on the page shows the saved values too.
    row = page.locator('#machines tr[data-machine="motor-2"]')
    expect(row.locator('[data-field="equipment_id"]')).to_have_text("FAN-201-M2")

    page.goto("/")
    tile = page.locator('.tile[data-machine="motor-2"]')
    expect(tile.locator(".name")).to_have_text("Cooling fan 1 motor")
    expect(tile.locator(".sub")).to_contain_text("FAN-201-M2")


def test_a_new_running_speed_moves_the_spectrum_markers(device: RunningDevice, page: Page) -> None:
    logged_in(page, OPERATOR)
    page.goto("/machines/motor-1")
    expect(page.locator("#markers")).to_contain_text("1x 24.7 Hz")  # 1480 rpm, shipped

    open_machine(page, "motor-1")
    page.fill("#machine-form input[name=running_speed_rpm]", "1200")
    page.click("#machine-form button[type=submit]")
    expect(page.locator("#machine-result")).to_have_attribute("data-applied", "restarted")
    assert machine_of(device, "motor-1")["running_speed_rpm"] == 1200.0

    bpfo = bearing_frequencies(COMMON_BEARINGS["6205"], 20.0).bpfo
    page.goto("/machines/motor-1")
    markers = page.locator("#markers")
    expect(markers).to_contain_text("1x 20.0 Hz")
    expect(markers).to_contain_text("2x 40.0 Hz · 3x 60.0 Hz")
    expect(markers).to_contain_text(f"BPFO {bpfo:.1f} Hz")


def test_refused_input_shows_by_the_field_and_changes_nothing(
    device: RunningDevice, page: Page
) -> None:
    logged_in(page, OPERATOR)
    open_machine(page, "motor-1")
    before_files = config_files(device)
    before = device.get("/config/").json()

    page.fill("#machine-form input[name=running_speed_rpm]", "-300")
    page.fill("#machine-form input[name='bearing.balls']", "3")
    page.click("#machine-form button[type=submit]")
    expect(page.locator("#machine-result")).to_have_attribute("data-applied", "refused")
    expect(page.locator('#machine-form .err[data-for="running_speed_rpm"]')).to_contain_text(
        "greater than 0"
    )
    expect(page.locator('#machine-form .err[data-for="bearing"]')).to_contain_text(
        "give all of balls, ball_diameter_mm and pitch_diameter_mm"
    )

    page.select_option("#rule-type", "threshold")
    page.click("#rule-add")
    form = page.locator("#rule-form")
    form.locator("input[name=id]").fill("motor-1-temp-bad")
    form.locator("input[name=metric]").fill("temperature")
    form.locator("select[name=direction]").select_option("above")
    form.locator("input[name=warning]").fill("90")
    form.locator("input[name=alert]").fill("80")
    form.locator("button[type=submit]").click()
    expect(form.locator('.err[data-for="alert"]')).to_contain_text(
        "levels out of order for direction 'above': need warning < alert"
    )
    expect(form.locator('.err[data-for="form"]')).to_be_empty()

    assert config_files(device) == before_files
    assert device.get("/config/").json() == before
    rules = device.get("/alerts/rules/").json()
    assert "motor-1-temp-bad" not in {r["id"] for r in rules}


def test_a_threshold_rule_raises_an_alert_and_deleting_it_resolves_it(
    device: RunningDevice, page: Page, tmp_path: Path
) -> None:
    logged_in(page, OPERATOR)
    open_machine(page, "motor-1")
    builtin = page.locator('#rules tr[data-rule="builtin-iso-motor-1"]')
    expect(builtin).to_have_attribute("data-builtin", "1")
    expect(builtin.locator("td.levels")).to_contain_text(
        "zone C ≥ 2.8 mm/s warning · zone D ≥ 4.5 mm/s alert"
    )
    expect(builtin).to_contain_text("group 2, rigid foundation")
    expect(builtin.get_by_role("button", name="Delete")).to_have_count(0)

    now = wait_until(lambda: overall(device, "motor-1-accel", "vibration_rms"), timeout=30)
    warning, alert = round(now["value"] * 0.3, 4), round(now["value"] * 0.5, 4)
    page.click("#rule-add")  # threshold is the first type
    form = page.locator("#rule-form")
    form.locator("input[name=id]").fill("motor-1-vibration-low-limit")
    form.locator("select[name=sensor]").select_option("motor-1-accel")
    form.locator("input[name=metric]").fill("vibration_rms")
    expect(form.locator("#rule-now")).to_contain_text("mm/s")
    form.locator("input[name=warning]").fill(str(warning))
    form.locator("input[name=alert]").fill(str(alert))
    form.locator("input[name=hysteresis]").fill("0.01")
    form.locator("input[name=debounce_s]").fill("1")
    shot(page, "settings-machines-rule", tmp_path)
    form.locator("button[type=submit]").click()
    row = page.locator('#rules tr[data-rule="motor-1-vibration-low-limit"]')
    expect(row.locator("td.levels")).to_contain_text(f"above: warning {warning} mm/s")

    rule = device.get("/alerts/rules/motor-1-vibration-low-limit/").json()
    assert (rule["machine"], rule["sensor"], rule["metric"], rule["axis"]) == (
        "motor-1",
        "motor-1-accel",
        "vibration_rms",
        None,
    )
    assert (rule["warning"], rule["alert"], rule["critical"]) == (warning, alert, None)
    assert (rule["hysteresis"], rule["debounce_s"], rule["builtin"]) == (0.01, 1.0, False)

    def raised() -> dict | None:
        active = device.get("/alerts/", params={"device_id": "motor-1"}).json()
        return next((a for a in active if a["rule_id"] == rule["id"]), None)

    raised_alert = wait_until(raised, timeout=60)
    assert raised_alert["alert_type"] == "vibration_high"

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert device.get("/alerts/rules/motor-1-vibration-low-limit/").status_code == 404

    def resolved() -> bool:
        seen = device.get(f"/alerts/{raised_alert['id']}/").json()
        return seen["status"] == "resolved"

    wait_until(resolved, timeout=60)


def test_other_rule_types_are_edited_through_their_fields(
    device: RunningDevice, page: Page
) -> None:
    logged_in(page, OPERATOR)
    open_machine(page, "motor-2")
    page.select_option("#rule-type", "rate_of_change")
    page.click("#rule-add")
    form = page.locator("#rule-form")
    expect(form.locator("#rule-form-title")).to_contain_text("New rate of change rule")
    form.locator("input[name=id]").fill("motor-2-temperature-rising")
    form.locator("input[name=metric]").fill("temperature")
    form.locator("input[name=warning]").fill("20")
    form.locator("input[name=alert]").fill("40")
    form.locator("input[name=window_s]").fill("10")  # below the 30 s minimum
    form.locator("button[type=submit]").click()
    expect(form.locator('.err[data-for="window_s"]')).to_contain_text("greater than or equal to 30")
    form.locator("input[name=window_s]").fill("900")
    form.locator("button[type=submit]").click()
    row = page.locator('#rules tr[data-rule="motor-2-temperature-rising"]')
    expect(row.locator("td.levels")).to_contain_text("rising: warning 20 °C/h · alert 40 °C/h")
    rule = device.get("/alerts/rules/motor-2-temperature-rising/").json()
    assert (rule["type"], rule["window_s"], rule["warning"], rule["alert"]) == (
        "rate_of_change",
        900.0,
        20.0,
        40.0,
    )

    # Edit it: the form comes back filled in; the change goes through PUT.
    row.get_by_role("button", name="Edit").click()
    expect(form.locator("input[name=id]")).to_have_value("motor-2-temperature-rising")
    expect(form.locator("input[name=window_s]")).to_have_value("900")
    form.locator("input[name=critical]").fill("60")
    form.locator("button[type=submit]").click()
    expect(row.locator("td.levels")).to_contain_text("critical 60 °C/h")
    assert device.get("/alerts/rules/motor-2-temperature-rising/").json()["critical"] == 60.0

    # A built-in rule is tuned by an override of the same id; deleting it restores the default.
    builtin = page.locator('#rules tr[data-rule="builtin-temperature-motor-2"]')
    builtin.get_by_role("button", name="Override").click()
    expect(form.locator("input[name=warning]")).to_have_value("80")
    form.locator("input[name=warning]").fill("75")
    form.locator("button[type=submit]").click()
    expect(builtin).to_have_attribute("data-builtin", "0")
    expect(builtin).to_contain_text("your override of the built-in rule")
    tuned = device.get("/alerts/rules/builtin-temperature-motor-2/").json()
    assert (tuned["warning"], tuned["overrides_builtin"]) == (75.0, True)
    page.once("dialog", lambda dialog: dialog.accept())
    builtin.get_by_role("button", name="Delete").click()
    expect(builtin).to_have_attribute("data-builtin", "1")
    assert device.get("/alerts/rules/builtin-temperature-motor-2/").json()["warning"] == 80.0
    assert re.search(r"built-in", builtin.inner_text())
