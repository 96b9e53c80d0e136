"""Settings → Device and Export in a real browser against a real device. Results are read
back through the REST API with an API key, and downloads are read as the files they are."""

from __future__ import annotations

import csv
import json
import re
import ssl
import subprocess
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from cryptography import x509
from playwright.sync_api import Browser, Page, expect

from .browser_ui import OPERATOR, TIMEOUT_MS, VIEWER, logged_in, root, shot, ui_device
from .device_server import ESOCORE, RunningDevice
from .timestamps import epoch
from .waiting import wait_until

BERLIN = "Europe/Berlin"


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory):
    yield from ui_device(tmp_path_factory.mktemp("ui-device"))


def device_now(device: RunningDevice) -> datetime:
    return datetime.fromisoformat(device.get("/device/info").json()["time"].replace("Z", "+00:00"))


# -- device page ------------------------------------------------------------------------------


def test_renaming_the_device_shows_in_the_header_and_the_api(
    device: RunningDevice, page: Page, tmp_path: Path
) -> None:
    logged_in(page, OPERATOR)
    page.goto("/settings/device")
    form = page.locator("#device-form")
    expect(form.locator("input[name=name]")).not_to_have_value("")
    form.locator("input[name=name]").fill("Pump house line 7")
    form.locator("input[name=timezone]").fill(BERLIN)
    form.locator("button[type=submit]").click()
    expect(page.locator(".brand small")).to_have_text("Pump house line 7")
    expect(page.locator('#certificate [data-cert="sha256_fingerprint"]')).to_contain_text(":")
    shot(page, "settings-device", tmp_path)
    config = device.get("/config/").json()
    assert (config["device"]["name"], config["device"]["timezone"]) == ("Pump house line 7", BERLIN)
    info = device.get("/device/info").json()
    assert (info["name"], info["timezone"]) == ("Pump house line 7", BERLIN)
    # Every page's header says it from now on.
    page.goto("/alerts")
    expect(page.locator(".brand small")).to_have_text("Pump house line 7")


def test_a_bad_time_zone_or_an_empty_name_is_refused_and_changes_nothing(
    device: RunningDevice, page: Page
) -> None:
    before = device.get("/config/").json()["device"]
    logged_in(page, OPERATOR)
    page.goto("/settings/device")
    form = page.locator("#device-form")
    expect(form.locator("input[name=timezone]")).to_have_value(before["timezone"])
    form.locator("input[name=timezone]").fill("Mars/Olympus_Mons")
    form.locator("button[type=submit]").click()
    expect(form.locator('.err[data-for="timezone"]')).to_contain_text("unknown time zone")
    form.locator("input[name=timezone]").fill(before["timezone"])
    form.locator("input[name=name]").fill("   ")
    form.locator("button[type=submit]").click()
    expect(form.locator('.err[data-for="name"]')).to_contain_text("give the device a name")
    assert device.get("/config/").json()["device"] == before


def test_the_page_shows_the_system_and_the_clock_agrees(device: RunningDevice, page: Page) -> None:
    info = device.get("/device/info").json()
    logged_in(page, OPERATOR)
    page.goto("/settings/device")
    system = page.locator("#system")
    expect(system.locator('[data-field="firmware_version"]')).to_have_text(info["firmware_version"])
    expect(system.locator('[data-field="serial"]')).to_have_text(info["serial"])
    expect(system.locator('[data-field="uptime"]')).to_contain_text(" s")
    expect(system.locator('[data-field="disk"]')).to_contain_text("free of")
    expect(system.locator('[data-field="store"]')).to_contain_text("B")
    offset = page.locator("#clock-offset")
    expect(offset).to_have_attribute("data-offset-s", re.compile(r"\d"))
    # Browser and device run on this machine's clock.
    assert abs(float(offset.get_attribute("data-offset-s"))) < 2.0
    expect(page.locator("#clock-warning")).to_be_hidden()


def test_a_browser_clock_far_off_the_device_shows_a_warning(
    device: RunningDevice, page: Page
) -> None:
    logged_in(page, OPERATOR)
    # This browser's clock runs 3 minutes ahead of the device's (the computer's, not the
    # device's, is wrong here; the page cannot tell which and says so).
    page.clock.install(time=datetime.now(UTC) + timedelta(minutes=3))
    page.clock.resume()
    page.goto("/settings/device")
    warning = page.locator("#clock-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("timedatectl")
    offset = float(page.locator("#clock-offset").get_attribute("data-offset-s"))
    assert -185 < offset < -175


def test_the_certificate_shown_and_downloaded_is_the_one_served(
    device: RunningDevice, page: Page, tmp_path: Path
) -> None:
    exported = subprocess.run(
        [str(ESOCORE), "cert", "export", "--data-dir", str(device.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    details = device.get("/device/certificate", params={"format": "json"}).json()
    assert details["pem"] == exported
    logged_in(page, OPERATOR)
    page.goto("/settings/device")
    cert = page.locator("#certificate")
    expect(cert.locator('[data-cert="sha256_fingerprint"]')).to_have_text(
        details["sha256_fingerprint"]
    )
    expect(cert.locator('[data-cert="subject"]')).to_have_text(details["subject"])
    expect(cert.locator('[data-cert="names"]')).to_contain_text("localhost")
    expect(cert.locator('[data-cert="names"]')).to_contain_text("127.0.0.1")
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.click("#cert-download")
    saved = tmp_path / "cert.pem"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith("-cert.pem")
    assert saved.read_text() == exported
    # It is the certificate the device's listener presents.
    served = ssl.get_server_certificate(("127.0.0.1", device.port), timeout=10)
    assert x509.load_pem_x509_certificate(served.encode()) == x509.load_pem_x509_certificate(
        exported.encode()
    )


def test_the_certificate_endpoint_is_read_only_and_pem_by_default(device: RunningDevice) -> None:
    response = device.get("/device/certificate", role="read-only")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-pem-file")
    assert response.text.startswith("-----BEGIN CERTIFICATE-----")
    assert device.get("/device/certificate", role=None).status_code == 401
    schema = device.get("/openapi.json", role=None).json()
    assert "/api/v1/device/certificate" in schema["paths"]


# -- export page ------------------------------------------------------------------------------


def history(device: RunningDevice, query: dict[str, list[str]]) -> list[dict]:
    """Every row the paged history API gives for the export link's query."""
    params = {k: v[0] for k, v in query.items() if k != "format"}
    params["limit"] = "100000"
    response = device.get("/telemetry/history/", params=params)
    assert response.status_code == 200, response.text
    assert "link" not in response.headers  # one page
    return response.json()


def ms(stamp: str | datetime) -> int:
    """Epoch milliseconds of an ISO text (CSV, JSON) or a datetime (Parquet)."""
    moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp)
    return round(moment.timestamp() * 1000)


def key(row: dict) -> tuple:
    return (ms(row["timestamp"]), row["sensor_id"], row["metric"], row.get("axis") or "")


def wait_for_history(device: RunningDevice, seconds: float) -> datetime:
    """The device's time once it has stored at least `seconds` of readings, plus the store's
    flush margin: a range ending before it is complete and never changes."""
    started = epoch(device.get("/device/info").json()["started_at"])
    return wait_until(
        lambda: (now := device_now(device)).timestamp() > started + seconds + 3 and now,
        timeout=60,
    )


def set_custom_range(page: Page, start: datetime, end: datetime, zone: tzinfo) -> None:
    """Type the range as the browser's user would: wall-clock times of the browser's zone."""
    local = "%Y-%m-%dT%H:%M:%S"
    page.check("input[name=range][value=custom]")
    page.fill("input[name=from]", start.astimezone(zone).strftime(local))
    page.fill("input[name=to]", end.astimezone(zone).strftime(local))


def download_rows(page: Page, tmp_path: Path, fmt: str) -> tuple[list[dict], str, str]:
    """Count, then download through the link: the parsed rows, the link and the file name."""
    page.select_option("select[name=format]", fmt)
    page.click("#export-form button[type=submit]")
    link = page.locator("#export-download")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        link.click()
    path = tmp_path / f"export.{fmt}"
    download.value.save_as(path)
    return parse(path, fmt), href, download.value.suggested_filename


def parse(path: Path, fmt: str) -> list[dict]:
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if fmt == "json":
        return json.loads(path.read_text())
    return pq.read_table(path).to_pylist()


@pytest.fixture
def berlin_page(browser: Browser, device: RunningDevice):
    """A browser whose local time is Berlin's (the device's zone is another matter)."""
    context = browser.new_context(
        ignore_https_errors=True, base_url=root(device), timezone_id=BERLIN, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_an_export_holds_the_history_apis_rows_for_the_range(
    device: RunningDevice, berlin_page: Page, tmp_path: Path, fmt: str
) -> None:
    end = wait_for_history(device, 6).replace(microsecond=0) - timedelta(seconds=3)
    start = end - timedelta(seconds=5)
    page = logged_in(berlin_page, VIEWER)
    page.goto("/export")
    set_custom_range(page, start, end, ZoneInfo(BERLIN))
    page.check('input[name=machine][value="motor-1"]')
    page.check('input[name=metric][value="vibration_rms"]')
    page.check('input[name=metric][value="temperature"]')
    page.select_option("select[name=axis]", "all")
    rows, href, name = download_rows(page, tmp_path, fmt)
    query = parse_qs(urlsplit(href).query)
    # The range was typed in Berlin time and sent as the same instants in UTC.
    assert epoch(query["start_time"][0]) == start.timestamp()
    assert epoch(query["end_time"][0]) == end.timestamp()
    assert query["device_id"] == ["motor-1"] and query["format"] == [fmt]
    assert name.endswith(f".{fmt}") and "motor-1" in name
    expected = history(device, query)
    assert len(expected) > 0
    assert expect_total(page) == len(expected) == len(rows)
    assert sorted(key(r) for r in rows) == sorted(key(r) for r in expected)
    assert {r["metric"] for r in rows} == {"vibration_rms", "temperature"}
    assert {r.get("axis") or None for r in rows} >= {None, "x"}
    values = {key(r): float(r["value"]) for r in rows}
    assert all(values[key(r)] == pytest.approx(r["value"], rel=1e-12) for r in expected)


def expect_total(page: Page) -> int:
    return int(page.locator("#export-result").get_attribute("data-total"))


def test_a_rollup_export_has_the_buckets_of_the_history_api(
    device: RunningDevice, page: Page, tmp_path: Path
) -> None:
    wait_for_history(device, 3)
    logged_in(page, VIEWER)
    page.goto("/export")
    page.check("input[name=range][value=hour]")
    page.check('input[name=sensor][value="motor-2-temp"]')
    page.select_option("select[name=resolution]", "1m")
    rows, href, name = download_rows(page, tmp_path, "parquet")
    shot(page, "export", tmp_path)
    query = parse_qs(urlsplit(href).query)
    assert epoch(query["end_time"][0]) - epoch(query["start_time"][0]) == 3600
    assert query["sensor_id"] == ["motor-2-temp"] and query["resolution"] == ["1m"]
    assert name.endswith("_1m.parquet")
    expected = history(device, query)
    got, wanted = {key(r) for r in rows}, {key(r) for r in expected}
    assert rows and got <= wanted
    # Only a bucket begun by readings not yet stored at the download may be missing from it.
    end_ms = ms(query["end_time"][0])
    assert all(k[0] >= end_ms - 62_000 for k in wanted - got)
    assert all(r["count"] >= 1 and r["min"] <= r["value"] <= r["max"] for r in rows)


def test_an_empty_range_and_a_backwards_range_are_explained(
    device: RunningDevice, page: Page
) -> None:
    logged_in(page, VIEWER)
    page.goto("/export")
    started = datetime.fromisoformat(
        device.get("/device/info").json()["started_at"].replace("Z", "+00:00")
    )
    local = datetime.now().astimezone().tzinfo  # the browser's zone: this machine's
    assert local is not None
    # Backwards: refused in the form, nothing asked of the device.
    page.check("input[name=range][value=custom]")
    page.fill("input[name=from]", "2026-03-01T12:00:00")
    page.fill("input[name=to]", "2026-03-01T11:00:00")
    page.click("#export-form button[type=submit]")
    expect(page.locator('.err[data-for="end_time"]')).to_contain_text("must be after the start")
    expect(page.locator("#export-result")).to_be_hidden()
    # A day long before the device existed: no rows, no download link.
    before = started - timedelta(days=400)
    set_custom_range(page, before, before + timedelta(days=1), local)
    page.click("#export-form button[type=submit]")
    expect(page.locator("#export-summary")).to_contain_text("No readings")
    expect(page.locator("#export-download")).to_be_hidden()
    assert expect_total(page) == 0
    # A missing end of the range is named by its field.
    page.fill("input[name=from]", "")
    page.click("#export-form button[type=submit]")
    expect(page.locator('.err[data-for="start_time"]')).to_contain_text("give the start")
