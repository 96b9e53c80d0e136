"""Settings → Email and Settings → Users in a real browser against a real device: the email
settings reach a real SMTP server on loopback (aiosmtpd), users are added, log in, change role
and are deleted. Results are read back through the REST API with an API key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from playwright.sync_api import Browser, Page, expect

from .browser_ui import ADMIN, OPERATOR, TIMEOUT_MS, log_in, logged_in, root, ui_device
from .device_server import RunningDevice
from .notify_peers import SmtpServer

NEW_USER, INITIAL, CHOSEN = "anna", "initial-pass-123", "annas-own-password"


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory):
    yield from ui_device(tmp_path_factory.mktemp("ui-email-users"))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer("none") as server:  # a plant relay: no login, no TLS
        yield server


def email_page(page: Page) -> Page:
    logged_in(page, OPERATOR)
    page.goto("/settings/email")
    # The form is filled from the API once loaded (the subject template is never empty).
    expect(page.locator("#email-form [name=subject_template]")).not_to_have_value("")
    return page


def email_settings(device: RunningDevice) -> dict:
    response = device.get("/integrations/email/")
    assert response.status_code == 200
    return response.json()


def test_email_settings_are_saved_and_a_test_email_arrives(
    device: RunningDevice, page: Page, smtp: SmtpServer
) -> None:
    form = email_page(page).locator("#email-form")
    form.locator("[name=enabled]").check()
    form.locator("[name=host]").fill("127.0.0.1")
    form.locator("[name=port]").fill(str(smtp.port))
    form.locator("[name=security]").select_option("none")
    form.locator("[name=from_address]").fill("edge-line-7@plant.example")
    form.locator("[name=recipients]").fill("maintenance@plant.example alert critical")
    form.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text("Email settings saved")
    saved = email_settings(device)
    assert (saved["enabled"], saved["host"], saved["port"], saved["security"]) == (
        True,
        "127.0.0.1",
        smtp.port,
        "none",
    )
    assert saved["recipients"] == [
        {"address": "maintenance@plant.example", "severities": ["alert", "critical"]}
    ]
    page.click("#email-test")
    output = page.locator("#email-output")
    expect(output).to_contain_text('"ok": true')
    assert smtp.mailbox.arrived.wait(10)
    ((sender, recipients, raw, _),) = smtp.mailbox.messages
    assert sender == "edge-line-7@plant.example"
    assert recipients == ["maintenance@plant.example"]
    message = message_from_bytes(raw, policy=default_policy)
    assert message["X-EsoCore-Event"] == "test"
    # The page shows the delivery the device recorded for it.
    delivery_id = re.search(r'"delivery_id": "([^"]+)"', output.text_content()).group(1)
    assert message["Message-ID"].startswith(f"<{delivery_id}@")


def test_a_test_email_to_a_server_that_is_not_there_shows_the_failure(
    device: RunningDevice, page: Page
) -> None:
    with SmtpServer("none") as gone:
        port = gone.port  # free again once stopped: nothing listens there
    form = email_page(page).locator("#email-form")
    form.locator("[name=enabled]").check()
    form.locator("[name=host]").fill("127.0.0.1")
    form.locator("[name=port]").fill(str(port))
    form.locator("[name=security]").select_option("none")
    form.locator("[name=from_address]").fill("edge-line-7@plant.example")
    form.locator("[name=recipients]").fill("maintenance@plant.example")
    form.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text("Email settings saved")
    assert email_settings(device)["port"] == port
    page.click("#email-test")
    expect(page.locator("#email-output")).to_contain_text('"ok": false')


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("port", "70000", "65535"),
        ("port", "0", "greater than or equal to 1"),
        ("from_address", "edge at plant", "address"),
        ("recipients", "not-an-address alert", "address"),
    ],
)
def test_bad_email_settings_are_refused_by_the_field_and_change_nothing(
    device: RunningDevice, page: Page, field: str, value: str, says: str
) -> None:
    before = email_settings(device)
    form = email_page(page).locator("#email-form")
    form.locator("[name=host]").fill("mail.plant.example")
    form.locator(f"[name={field}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(form.locator(f'.err[data-for="{field}"]')).to_contain_text(says)
    assert email_settings(device) == before


# -- users ------------------------------------------------------------------------------------


def users(device: RunningDevice) -> dict[str, dict]:
    response = device.get("/users/", role="admin")
    assert response.status_code == 200
    return {u["name"]: u for u in response.json()}


def api_login(device: RunningDevice, name: str, password: str) -> int:
    s = device.session(None)
    url = f"{root(device)}/api/v1/session/login"
    return s.post(url, json={"username": name, "password": password}, timeout=30).status_code


@pytest.fixture
def other_page(browser: Browser, device: RunningDevice) -> Iterator[Page]:
    """A second browser (its own cookies) for the user being managed."""
    context = browser.new_context(ignore_https_errors=True, base_url=root(device))
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_an_admin_adds_a_user_who_logs_in_then_changes_its_role_and_deletes_it(
    device: RunningDevice, page: Page, other_page: Page
) -> None:
    logged_in(page, ADMIN)
    page.goto("/settings/users")
    expect(page.locator(f'#users tr[data-user="{ADMIN}"]')).to_be_visible()
    form = page.locator("#user-form")
    form.locator("[name=name]").fill(NEW_USER)
    form.locator("[name=role]").select_option("operator")
    form.locator("[name=password]").fill(INITIAL)
    form.locator("button[type=submit]").click()
    row = page.locator(f'#users tr[data-user="{NEW_USER}"]')
    expect(row).to_contain_text("must change password")
    made = users(device)[NEW_USER]
    assert (made["role"], made["must_change_password"]) == ("operator", True)

    # The new user logs in, must choose a password first, then works as an operator.
    log_in(other_page, NEW_USER, INITIAL)
    other_page.wait_for_url(re.compile(r"/password$"))
    other_page.fill("input[name=current_password]", INITIAL)
    other_page.fill("input[name=new_password]", CHOSEN)
    other_page.fill("input[name=repeat]", CHOSEN)
    other_page.click("button[type=submit]")
    other_page.wait_for_url(re.compile(r"/$"))
    expect(other_page.locator("#who")).to_have_text(NEW_USER)
    other_page.goto("/settings/webhooks")
    expect(other_page.locator("h1")).not_to_have_text("Not allowed")
    assert users(device)[NEW_USER]["must_change_password"] is False

    # Demoted to viewer: the role holds at once, for the session already open too.
    page.reload()
    row.locator("select").select_option("viewer")
    expect(page.locator("#toast")).to_have_text("Role changed")
    assert users(device)[NEW_USER]["role"] == "viewer"
    other_page.goto("/settings/webhooks")
    expect(other_page.locator("h1")).to_have_text("Not allowed")

    # Deleted: gone from the list and the API, cannot log in, the open session ends.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert NEW_USER not in users(device)
    assert api_login(device, NEW_USER, CHOSEN) == 401
    other_page.goto("/")
    other_page.wait_for_url(re.compile(r"/login$"))
    log_in(other_page, NEW_USER, CHOSEN)
    expect(other_page.locator(".err").first).not_to_be_empty()
    assert other_page.url.endswith("/login")


def test_a_bad_new_user_is_refused_by_the_field_and_nothing_is_added(
    device: RunningDevice, page: Page
) -> None:
    before = users(device)
    logged_in(page, ADMIN)
    page.goto("/settings/users")
    form = page.locator("#user-form")
    form.locator("[name=name]").fill("bert")
    form.locator("[name=password]").fill("short")
    form.locator("button[type=submit]").click()
    expect(form.locator('.err[data-for="password"]')).to_contain_text("10")
    form.locator("[name=name]").fill(OPERATOR)  # taken
    form.locator("[name=password]").fill("long-enough-password")
    form.locator("button[type=submit]").click()
    expect(form.locator('.err[data-for="name"]')).to_contain_text("exists")
    assert users(device) == before


def test_the_last_admin_cannot_be_demoted_from_the_page(device: RunningDevice, page: Page) -> None:
    # Leave ADMIN the only admin (the device's initial `admin` goes, through the API).
    admin_api = device.session("admin")
    for name, user in users(device).items():
        if user["role"] == "admin" and name != ADMIN:
            gone = admin_api.delete(f"{device.base_url}/users/{name}", timeout=30)
            assert gone.status_code == 204, gone.text
    assert [n for n, u in users(device).items() if u["role"] == "admin"] == [ADMIN]
    logged_in(page, ADMIN)
    page.goto("/settings/users")
    page.locator(f'#users tr[data-user="{ADMIN}"] select').select_option("viewer")
    expect(page.locator("#toast")).to_contain_text("last admin")
    assert users(device)[ADMIN]["role"] == "admin"
    expect(page.locator(f'#users tr[data-user="{ADMIN}"] select')).to_have_value("admin")
