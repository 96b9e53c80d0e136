"""Settings → Fieldbus in the browser against a real device, checked by real peers: a changed
Modbus TCP port and a map row added in the table are read by mbpoll and compared with
/api/v1/telemetry/; an overlapping row is refused by its row with the config file untouched;
PROFIBUS ident and module changes show in the GSD as pyprofibus parses it, and the station
(on a socat pseudo-terminal) follows a new address. Servers listen on 127.0.0.1 only."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from runtime.config import default_config_path, load_config

from .browser_ui import OPERATOR, logged_in, shot, ui_device
from .device_server import free_port
from .event_log import wait_for_events
from .serial_lines import Pty

ATTEMPTS = 20  # reads tried until one falls between two publications
MBPOLL_TIMEOUT_S = 10.0
NOT_PARAMETERISED = re.compile("Power_On|Wait_Prm")  # no master on the line: not yet polled


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    assert shutil.which("mbpoll") and shutil.which("socat"), "mbpoll and socat: .ci/bootstrap"
    tmp = tmp_path_factory.mktemp("ui-fieldbus")
    # A socat pty cannot be opened again once closed (tcsetattr: EINVAL): each station the
    # tests start gets a pair of its own, as if another adapter were plugged in.
    ptys = [Pty(_mkdir(tmp / f"line-{n}")) for n in range(4)]
    pty = ptys[0]
    config = tmp / "device.toml"
    # The config's port is the one the command line gives, so replacing the command-line
    # overrides (any first save) keeps the listener where it is, whichever test runs first.
    modbus = free_port()
    config.write_text(
        default_config_path("sim").read_text()
        + f'\n[modbus.tcp]\nhost = "127.0.0.1"\nport = {modbus}\n'
        + f'\n[profibus]\nenabled = true\nport = "{pty.a}"\n',
        encoding="utf-8",
    )
    try:
        for running in ui_device(tmp, "--config", str(config), "--modbus-port", str(modbus)):
            running.spare_lines = [p.a for p in ptys[1:]]  # type: ignore[attr-defined]
            yield running
    finally:
        for line in ptys:
            line.close()


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def config_file(device) -> Path:
    return device.data_dir.parent / "device.toml"  # as the fixture wrote it


def open_page(page: Page) -> Page:
    logged_in(page, OPERATOR)
    page.goto("/settings/fieldbus")
    expect(page.locator("body[data-loaded='1']")).to_have_count(1)
    return page


def status(page: Page, key: str):
    return page.locator(f"[data-status='{key}']")


def mbpoll(port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", "1", "-1", "-q", "-p", str(port), *args, "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=MBPOLL_TIMEOUT_S,
    )


def values(text: str) -> dict[int, str]:
    return {int(m[1]): m[2] for m in re.finditer(r"^\[(\d+)\]:\s+(\S+)", text, re.M)}


def telemetry(device) -> dict[str, float]:
    rows = device.get("/telemetry/").json()
    return {f"{r['sensor_id']}/{r['metric']}": r["value"] for r in rows if r["axis"] is None}


def same_moment(device, read):
    """`read()` between two equal telemetry snapshots: the values the registers must show."""
    for _ in range(ATTEMPTS):
        before = telemetry(device)
        result = read()
        if telemetry(device) == before:
            return before, result
    raise AssertionError(f"no read between two publications in {ATTEMPTS} attempts")


def saved(page: Page, text: str) -> None:
    expect(page.locator("#fieldbus-answer")).to_contain_text(text)


def test_a_new_tcp_port_from_the_page_is_where_mbpoll_reads(device, page):
    open_page(page)
    expect(status(page, "modbus-from")).to_contain_text("command line")
    old_port = int(status(page, "modbus-tcp").inner_text().rsplit(":", 1)[1])
    assert mbpoll(old_port, "-r", "1", "-c", "1", "-t", "4:float", "-B").returncode == 0

    new_port = free_port()
    expect(page.locator("#modbus-form [name='tcp.host']")).to_have_value("127.0.0.1")
    page.fill("#modbus-form [name='tcp.port']", str(new_port))
    page.click("#modbus-form button[type=submit]")
    saved(page, "applied: fieldbus")
    saved(page, "modbus: restarted, running")
    expect(status(page, "modbus-tcp")).to_have_text(f"127.0.0.1:{new_port}")
    expect(status(page, "modbus-from")).to_have_text("config")

    def read() -> list[float]:
        done = mbpoll(new_port, "-r", "1", "-c", "3", "-t", "4:float", "-B")
        assert done.returncode == 0, done.stdout + done.stderr
        return [float(v) for v in values(done.stdout).values()]

    expected, floats = same_moment(device, read)
    keys = ("motor-1-accel/vibration_rms", "motor-1-temp/temperature")
    keys += ("motor-1-current/current_rms",)
    assert floats == pytest.approx([expected[k] for k in keys], rel=1e-5)
    assert mbpoll(old_port, "-r", "1", "-c", "1", "-t", "4").returncode != 0  # closed
    assert load_config(config_file(device)).modbus.tcp.port == new_port
    assert wait_for_events(device.data_dir, lambda e: e["kind"] == "fieldbus_overrides_replaced")


def modbus_port(device) -> int:
    return device.get("/fieldbus/status").json()["modbus"]["tcp"]["bound_port"]


def add_row(page: Page, address: int, sensor: str, metric: str, type_: str, scale: str):
    page.click("#map-add")
    row = page.locator("#register-map tr.fb-entry").last
    row.locator("[data-field=sensor]").select_option(sensor)
    row = page.locator("#register-map tr.fb-entry").last  # redrawn for the sensor's metrics
    row.locator("[data-field=metric]").select_option(metric)
    row.locator("[data-field=type]").select_option(type_)
    row.locator("[data-field=scale]").fill(scale)
    row.locator("[data-field=address]").fill(str(address))
    row.locator("[data-field=address]").dispatch_event("change")
    return row


def test_a_row_added_to_the_default_map_is_served_at_its_address(device, page, tmp_path):
    open_page(page)
    expect(page.locator("#map-origin")).to_contain_text("default map")
    rows = page.locator("#register-map tr.fb-entry")
    default_rows = rows.count()
    assert default_rows >= 10  # both machines' values, status, alert code, control registers
    add_row(page, 200, "motor-1-temp", "temperature", "int16", "10")
    expect(rows.last.locator(".fb-register")).to_have_text("40201")
    page.click("#modbus-form button[type=submit]")
    saved(page, "modbus: updated, running")
    expect(page.locator("#map-origin")).to_contain_text(f"{default_rows + 1} entries")
    shot(page, "settings-fieldbus", tmp_path)
    assert load_config(config_file(device)).modbus.registers[-1].address == 200

    port = modbus_port(device)

    def read() -> tuple[int, float]:
        scaled = mbpoll(port, "-r", "201", "-c", "1", "-t", "4")
        floats = mbpoll(port, "-r", "3", "-c", "1", "-t", "4:float", "-B")
        assert scaled.returncode == 0 and floats.returncode == 0, scaled.stdout + scaled.stderr
        return int(values(scaled.stdout)[201]), float(values(floats.stdout)[3])

    expected, (scaled, temperature) = same_moment(device, read)
    assert scaled == round(expected["motor-1-temp/temperature"] * 10)
    assert temperature == pytest.approx(expected["motor-1-temp/temperature"], rel=1e-5)


def test_an_overlapping_row_is_refused_by_its_row_and_nothing_changes(device, page):
    before = config_file(device).read_bytes()
    open_page(page)
    rows = page.locator("#register-map tr.fb-entry")
    count = rows.count()
    add_row(page, 0, "motor-2-temp", "temperature", "float32", "1")
    page.click("#modbus-form button[type=submit]")
    problem = page.locator("#register-map tr.fb-problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("overlaps registers[0]")
    expect(rows.nth(count)).to_have_class(re.compile("fb-bad"))  # the new row, by its index
    expect(page.locator("#modbus-form .err[data-for=form]")).to_contain_text("nothing was changed")
    assert config_file(device).read_bytes() == before
    port = modbus_port(device)
    assert mbpoll(port, "-r", "201", "-c", "1", "-t", "4").returncode == 0  # still the old map


def gsd_of(page: Page, tmp: Path):
    from pyprofibus.gsd.interp import GsdInterp

    with page.expect_download() as download:
        page.click("#gsd-download")
    path = tmp / download.value.suggested_filename
    download.value.save_as(path)
    return GsdInterp.fromFile(str(path))


def test_profibus_ident_modules_and_address_from_the_page(device, page, tmp_path):
    open_page(page)
    expect(status(page, "profibus-state")).to_have_text("running")
    expect(status(page, "profibus-dp")).to_have_text(NOT_PARAMETERISED)
    expect(status(page, "profibus-address")).to_have_text("8")
    form = page.locator("#profibus-form")
    form.locator("[name=ident_number]").fill("0x0ABC")
    form.locator("[name=address]").fill("9")
    form.locator("[name=port]").fill(device.spare_lines[0])
    form.locator("#profibus-modules tr[data-machine='motor-2'] select").select_option("status")
    form.locator("button[type=submit]").click()
    saved(page, "profibus: restarted, running")
    expect(status(page, "profibus-address")).to_have_text("9")
    expect(status(page, "profibus-ident")).to_have_text("0x0ABC")
    expect(status(page, "profibus-dp")).to_have_text(NOT_PARAMETERISED)

    gsd = gsd_of(page, tmp_path)
    assert gsd.getField("Ident_Number") == 0x0ABC
    assert [m.name for m in gsd.getField("Module")] == ["Motor 1 Health", "Motor 2 Status"]
    saved_config = load_config(config_file(device)).profibus
    assert (saved_config.address, saved_config.ident_number) == (9, 0x0ABC)


def test_the_station_address_from_the_boards_switch(device, page):
    """The simulated board's switch reads 8 (board/sim.toml)."""
    open_page(page)
    form = page.locator("#profibus-form")
    form.locator("[name=port]").fill(device.spare_lines[2])
    form.locator("[name=address]").fill("17")
    form.locator("[name=address_switch]").check()
    expect(form.locator("[name=address]")).to_be_disabled()
    form.locator("button[type=submit]").click()
    saved(page, "profibus: restarted, running")
    expect(status(page, "profibus-address")).to_have_text(re.compile(r"^8 \(switch reads 8\)$"))
    assert load_config(config_file(device)).profibus.address == "switch"
    running = device.get("/fieldbus/status").json()["profibus"]
    assert running["address_from"] == "switch" and running["address_switch"]["value"] == 8
    page.reload()
    expect(page.locator("body[data-loaded='1']")).to_have_count(1)
    expect(form.locator("[name=address_switch]")).to_be_checked()  # the page shows what is saved


def test_a_serial_port_that_cannot_be_opened_is_reported_and_the_device_runs_on(device, page):
    open_page(page)
    good = device.spare_lines[1]
    page.fill("#profibus-form [name=port]", str(device.data_dir / "no-such-tty"))
    page.click("#profibus-form button[type=submit]")
    saved(page, "profibus: failed, not running")
    expect(status(page, "profibus-state")).to_contain_text("not running: PROFIBUS DP slave not")
    assert wait_for_events(device.data_dir, lambda e: e["kind"] == "profibus_unavailable")
    assert device.get("/device/health").json()["status"] in ("ok", "warning")

    page.fill("#profibus-form [name=port]", good)
    page.click("#profibus-form button[type=submit]")
    saved(page, "profibus: started, running")
    expect(status(page, "profibus-dp")).to_have_text(NOT_PARAMETERISED)
