"""The web UI's browser tests share this: Debian's headless Chromium driven by Playwright
against a real device (`esocore run` on loopback with its self-signed certificate), users
made with `esocore admin set-password`, and screenshots for docs/screenshots/.

A test module defines its own `device` fixture (usually `ui_device`) and takes `page`.
Set ESOCORE_UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/ from a run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .device_server import ESOCORE, RunningDevice, start_device

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADMIN, OPERATOR, VIEWER = "ui-admin", "ui-operator", "ui-viewer"
PASSWORD = "test-password-123"
TIMEOUT_MS = 20_000


def set_password(device: RunningDevice, user: str, role: str, password: str = PASSWORD) -> None:
    subprocess.run(
        [
            *(str(ESOCORE), "admin", "set-password", "--user", user, "--role", role),
            *("--password-stdin", "--data-dir", str(device.data_dir)),
        ],
        input=password + "\n",
        text=True,
        capture_output=True,
        timeout=60,
        check=True,
    )


def ui_device(tmp: Path, *extra: str) -> Iterator[RunningDevice]:
    """A running device with the three test users (for a module's `device` fixture)."""
    running = start_device(tmp, *extra)
    try:
        set_password(running, ADMIN, "admin")
        set_password(running, OPERATOR, "operator")
        set_password(running, VIEWER, "viewer")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def root(device: RunningDevice) -> str:
    return f"https://localhost:{device.port}"


@pytest.fixture
def page(browser: Browser, device: RunningDevice):
    context = browser.new_context(
        ignore_https_errors=True, base_url=root(device), viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page: Page, user: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def logged_in(page: Page, user: str) -> Page:
    log_in(page, user)
    page.wait_for_url(re.compile(r"/$"))
    return page


def shot(page: Page, name: str, tmp: Path) -> Path:
    path = tmp / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a blank page compresses to a few hundred bytes
    if os.environ.get("ESOCORE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / path.name)
    return path
