"""Who may do what, against a running device: the role matrix over every /api/v1 endpoint the
device's OpenAPI document lists (so endpoints added later are covered too), key management
over the API (revocation at once, expiry, rotation), rate limits, and the event log."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from runtime.config import default_config_path

from .device_server import RunningDevice, start_device
from .event_log import events, key_id_of, secret_of, wait_for_events

ROLES = ("read-only", "read-write", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {"/api/v1/openapi.json"}  # describes the API, reveals no data
# The web UI's own login session (log in, who am I, log out, change password): an API key is
# not a session, so these have no role to check here (tests/integration/test_ui_browser.py).
SESSION_PREFIX = "/api/v1/session/"

# Real ids where a path names one, so a permitted request reaches the handler.
PATH_VALUES = {
    "sensor_id": "motor-1-accel",
    "device_id": "motor-1",
    "machine_id": "motor-1",
    "key_id": "000000000000",
    "fault_id": "f-none",
}


def required_role(method: str, path: str) -> str:
    """What the API's contract says: keys and web UI users are managed by admins, other writes need
    read-write, reading needs any key."""
    if path.startswith(("/api/v1/keys", "/api/v1/users")):
        return "admin"
    return "read-only" if method == "get" else "read-write"


def fill(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PATH_VALUES:
            return PATH_VALUES[name]
        before = path[: match.start()]
        if "/sensors/" in before or "/spectrum/" in before:
            return "motor-1-accel"
        if "/devices/" in before:
            return "motor-1"
        return "no-such-id"

    return re.sub(r"{([^}:]+)(?::[^}]*)?}", value, path)


def real_ids(path: str) -> bool:
    """Whether `fill` names only things that exist (a GET of them must then be 200)."""
    filled = fill(path)
    return (
        "no-such-id" not in filled
        and PATH_VALUES["key_id"] not in filled
        and (PATH_VALUES["fault_id"] not in filled)
    )


def endpoints(device: RunningDevice) -> list[tuple[str, str]]:
    document = device.get("/openapi.json", role=None).json()
    return sorted(
        (method, path)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/")
        and path not in PUBLIC
        and not path.startswith(SESSION_PREFIX)
        for method in item
        if method in METHODS
    )


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """A device whose failed-authentication limit the matrix's keyless requests (one per
    endpoint, all from 127.0.0.1) cannot trip; the limit has tests of its own below."""
    tmp = tmp_path_factory.mktemp("roles")
    config = tmp / "roles.toml"
    config.write_text(
        default_config_path("sim").read_text() + "[http]\nfailed_auth_limit = 10000\n"
    )
    running = start_device(tmp, "--config", str(config))
    yield running
    assert running.stop() == 0


def body_for(device: RunningDevice, method: str, path: str) -> dict | None:
    if method == "get" or method == "delete":
        return None
    if path == "/api/v1/config/":
        return device.get("/config/", role="admin").json()  # the same config: no change
    if path == "/api/v1/sim/faults":
        return {"machine": "motor-2", "kind": "looseness", "severity": 0.05}
    if path == "/api/v1/keys/":
        return {"role": "read-only", "description": "made by the role matrix"}
    return {}


# What a permitted request gets from the endpoints whose outcome this test knows.
EXPECTED = {
    ("put", "/api/v1/config/"): 200,
    ("post", "/api/v1/config/restart"): 202,
    ("post", "/api/v1/keys/"): 201,
    ("post", "/api/v1/sim/faults"): 201,
    ("get", "/api/v1/keys/"): 200,
    ("get", "/api/v1/config/"): 200,
    ("delete", "/api/v1/keys/{key_id}"): 404,  # no such key
}


def test_role_matrix_over_every_endpoint(device):
    listed = endpoints(device)
    assert ("put", "/api/v1/config/") in listed and ("get", "/api/v1/device/info") in listed
    sessions = {role: device.session(role) for role in ROLES}
    sessions[None] = device.session(None)
    wrong: list[str] = []
    try:
        for method, path in listed:
            need = required_role(method, path)
            url = device.base_url.removesuffix("/api/v1") + fill(path)
            body = body_for(device, method, path)
            for role, session in sessions.items():
                response = session.request(method, url, json=body, timeout=60, stream=True)
                status = response.status_code
                response.close()
                if role is None:
                    expected = "401"
                    ok = status == 401
                elif RANK[role] < RANK[need]:
                    expected = "403"
                    ok = status == 403
                elif (method, path) in EXPECTED:
                    expected = str(EXPECTED[(method, path)])
                    ok = status == EXPECTED[(method, path)]
                elif method == "get" and real_ids(path):
                    expected = "200"
                    ok = status == 200
                else:
                    expected = "allowed (not 401/403/5xx)"
                    ok = status not in (401, 403) and status < 500
                if not ok:
                    wrong.append(f"{method.upper()} {path} as {role}: {status}, want {expected}")
    finally:
        for session in sessions.values():
            session.close()
    assert wrong == []
    # Tidy up what the permitted writes did.
    with device.session("admin") as admin:
        for fault in admin.get(device.base_url + "/sim/faults", timeout=30).json():
            admin.delete(device.base_url + f"/sim/faults/{fault['id']}", timeout=30)


def test_bearer_tokens_are_only_for_the_metrics_scraper(device):
    key = device.key("admin")
    with device.session(None) as s:
        s.headers["Authorization"] = f"Bearer {key}"
        assert s.get(device.base_url + "/device/info", timeout=30).status_code == 401
        metrics = s.get(device.base_url.removesuffix("/api/v1") + "/metrics", timeout=30)
        assert metrics.status_code == 200


def create_key(device: RunningDevice, **fields) -> dict:
    with device.session("admin") as admin:
        made = admin.post(device.base_url + "/keys/", json=fields, timeout=30)
    assert made.status_code == 201, made.text
    return made.json()


def status_with(device: RunningDevice, key: str, path: str = "/device/info") -> int:
    with device.session(None) as s:
        return s.get(device.base_url + path, headers={"X-API-Key": key}, timeout=30).status_code


def test_a_key_made_over_the_api_works_once_shown_and_a_revoked_one_fails_at_once(device):
    made = create_key(device, role="read-write", description="CMMS integration")
    secret = made.pop("key")
    assert made["role"] == "read-write" and made["active"] is True
    assert made["id"] == key_id_of(secret) and made["expires_at"] is None
    assert status_with(device, secret) == 200
    with device.session("admin") as admin:
        listing = admin.get(device.base_url + "/keys/", timeout=30)
        assert secret_of(secret) not in listing.text
        listed = next(k for k in listing.json() if k["id"] == made["id"])
        assert listed["last_used_at"] is not None
        assert set(listed) == {
            "id",
            "role",
            "description",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked",
            "revoked_at",
            "active",
        }
        revoked = admin.delete(device.base_url + f"/keys/{made['id']}", timeout=30)
        assert revoked.status_code == 200
        assert revoked.json()["revoked"] is True and revoked.json()["active"] is False
        assert status_with(device, secret) == 401  # the very next request
        rotate = admin.post(device.base_url + f"/keys/{made['id']}/rotate", timeout=30)
        assert rotate.status_code == 409  # a revoked key stays revoked
        missing = admin.delete(device.base_url + "/keys/nosuchkey", timeout=30)
        assert missing.status_code == 404


def test_an_expired_key_fails(device):
    device_now = datetime.fromisoformat(device.get("/device/info").json()["time"])
    expires = device_now + timedelta(seconds=2)
    made = create_key(
        device,
        role="read-only",
        description="short-lived",
        expires_at=expires.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    )
    assert abs((datetime.fromisoformat(made["expires_at"]) - expires).total_seconds()) < 0.01
    assert status_with(device, made["key"]) == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    assert status_with(device, made["key"]) == 401
    with device.session("admin") as admin:
        listed = admin.get(device.base_url + "/keys/", timeout=30).json()
    state = next(k for k in listed if k["id"] == made["id"])
    assert state["active"] is False and state["revoked"] is False


def test_a_time_without_offset_is_in_the_device_time_zone(device):
    made = create_key(
        device, role="read-only", description="naive expiry", expires_at="2099-01-01T00:00:00"
    )
    assert made["expires_at"] == "2099-01-01T00:00:00.000Z"  # the sim config runs on UTC


@pytest.mark.parametrize(
    "fields",
    [
        {"role": "root", "description": "no such role"},
        {"role": "read-only", "description": ""},
        {"role": "read-only"},
        {"role": "read-only", "description": "past", "expires_at": "2001-01-01T00:00:00Z"},
        {"role": "read-only", "description": "typo", "expiry": "2099-01-01"},
    ],
)
def test_bad_key_requests_are_422(device, fields):
    with device.session("admin") as admin:
        answer = admin.post(device.base_url + "/keys/", json=fields, timeout=30)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"


def test_rotation_keeps_the_old_secret_for_the_grace_period_only(device):
    made = create_key(device, role="read-only", description="rotated quarterly")
    old = made["key"]
    with device.session("admin") as admin:
        rotated = admin.post(
            device.base_url + f"/keys/{made['id']}/rotate",
            json={"grace_period_s": 2},
            timeout=30,
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["key"]
        assert key_id_of(new) == made["id"] and new != old
        assert rotated.json()["description"] == "rotated quarterly"
        assert status_with(device, old) == 200 and status_with(device, new) == 200
        time.sleep(2.5)
        assert status_with(device, old) == 401 and status_with(device, new) == 200

        at_once = admin.post(
            device.base_url + f"/keys/{made['id']}/rotate/", json={"grace_period_s": 0}, timeout=30
        )
        assert at_once.status_code == 200
        assert status_with(device, new) == 401
        assert status_with(device, at_once.json()["key"]) == 200
        default = admin.post(device.base_url + f"/keys/{made['id']}/rotate", timeout=30)
        assert default.status_code == 200  # no body: a day's grace
        assert status_with(device, at_once.json()["key"]) == 200


def test_key_events_and_auth_failures_name_the_key_and_never_a_secret(device):
    made = create_key(device, role="read-only", description="to be logged")
    wrong = f"esk_{made['id']}_{'x' * 43}"
    assert status_with(device, wrong) == 401
    with device.session("admin") as admin:
        admin.delete(device.base_url + f"/keys/{made['id']}", timeout=30)
    failure = wait_for_events(
        device.data_dir,
        lambda e: e["kind"] == "auth_failure" and (e["data"] or {}).get("key_id") == made["id"],
    )
    assert failure and failure[0]["data"]["client"] == "127.0.0.1"
    for kind in ("key_created", "key_revoked"):
        found = wait_for_events(
            device.data_dir,
            lambda e, kind=kind: e["kind"] == kind and e["data"]["key_id"] == made["id"],
        )
        assert found, kind
        assert found[0]["data"]["by_key_id"] == key_id_of(device.key("admin"))
    logged = " ".join(e["raw"] for e in events(device.data_dir))
    secrets = [made["key"], wrong, *device.keys.values()]
    assert [s for s in secrets if secret_of(s) in logged] == []


# -- rate limits, on a device of their own (a tripped limit blocks the whole address) -------

LIMITS = """
[http]
failed_auth_limit = 3
failed_auth_window_s = 3.0
key_rate_limit_per_s = 1.0
key_rate_burst = 3
"""


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limits")
    config = tmp / "limits.toml"
    config.write_text(default_config_path("sim").read_text() + LIMITS)
    running = start_device(tmp, "--config", str(config))
    yield running
    assert running.stop() == 0


def test_requests_over_a_keys_rate_get_429_with_retry_after(limited):
    key, other = limited.key("read-only"), limited.key("read-write")
    statuses = [status_with(limited, key) for _ in range(3)]
    assert statuses == [200, 200, 200]  # the burst
    with limited.session(None) as s:
        over = s.get(limited.base_url + "/device/info", headers={"X-API-Key": key}, timeout=30)
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    assert over.json()["error"]["code"] == "too_many_requests"
    assert status_with(limited, other) == 200  # each key has its own budget
    time.sleep(int(over.headers["Retry-After"]) + 0.1)
    assert status_with(limited, key) == 200


def test_failed_authentication_is_limited_per_address_with_retry_after(limited):
    good = limited.key("read-only")
    bad = "esk_000000000000_" + "y" * 43
    assert [status_with(limited, bad) for _ in range(3)] == [401, 401, 401]
    with limited.session(None) as s:
        blocked = s.get(limited.base_url + "/device/info", headers={"X-API-Key": bad}, timeout=30)
        assert blocked.status_code == 429
        wait = int(blocked.headers["Retry-After"])
        assert 1 <= wait <= 3
        # The address is blocked, whatever key it sends, until the window has passed.
        assert (
            s.get(
                limited.base_url + "/device/info", headers={"X-API-Key": good}, timeout=30
            ).status_code
            == 429
        )
    time.sleep(wait + 0.2)
    assert status_with(limited, good) == 200
    failures = wait_for_events(limited.data_dir, lambda e: e["kind"] == "auth_failure", 3)
    assert len(failures) >= 3
    assert all(f["data"]["key_id"] == "000000000000" for f in failures)
    assert all(secret_of(bad) not in f["raw"] for f in failures)
