"""HTTPS, keys and errors of the REST API against a running device."""

from __future__ import annotations

import ssl

import pytest
import requests

from .device_server import esocore, start_device


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    running = start_device(tmp_path_factory.mktemp("api"))
    yield running
    assert running.stop() == 0


def test_device_info_over_https_with_the_exported_certificate(device):
    response = device.get("/device/info")
    assert response.status_code == 200
    info = response.json()
    assert info["board"] == "sim" and info["simulated"] is True
    assert info["serial"].startswith("ESO-") and info["machines"] == 2
    assert info["time"].endswith("Z")


def test_an_untrusted_client_refuses_the_self_signed_certificate(device):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(device.base_url + "/device/info", timeout=10)
    context = ssl.create_default_context(cafile=str(device.cert))
    assert context.cert_store_stats()["x509_ca"] == 1


def test_missing_unknown_and_revoked_keys_get_401(device):
    missing = device.get("/device/health", role=None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    wrong = device.session(None).get(
        device.base_url + "/device/health", headers={"X-API-Key": "esk_nothere_abc"}, timeout=10
    )
    assert wrong.status_code == 401
    secret = device.new_key("read-only", "to revoke")
    key_id = secret.split("_")[1]
    ok = device.session(None).get(
        device.base_url + "/device/info", headers={"X-API-Key": secret}, timeout=10
    )
    assert ok.status_code == 200
    esocore("keys", "revoke", key_id, "--data-dir", str(device.data_dir), cwd=device.data_dir)
    revoked = device.session(None).get(
        device.base_url + "/device/info", headers={"X-API-Key": secret}, timeout=10
    )
    assert revoked.status_code == 401
    listing = esocore("keys", "list", "--data-dir", str(device.data_dir), cwd=device.data_dir)
    assert key_id in listing.stdout and "revoked" in listing.stdout
    assert secret.split("_", 2)[2] not in listing.stdout


def test_health_reports_every_sensor_and_the_machines(device):
    health = device.get("/device/health").json()
    assert set(health["machines"]) == {"motor-1", "motor-2"}
    assert {s["sensor_id"] for s in health["sensors"]} >= {"motor-1-accel", "motor-2-temp"}
    assert health["dsp_backend"] == "c-kernel"
    assert health["system"]["store_bytes"] > 0


def test_openapi_document_is_public_and_unknown_paths_are_json_404(device):
    spec = device.get("/openapi.json", role=None)
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")
    assert "/api/v1/device/info" in spec.json()["paths"]
    missing = device.get("/no/such/thing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
