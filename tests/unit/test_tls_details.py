"""The certificate details the Device page shows (GET /device/certificate?format=json)
describe the certificate exactly: names, validity and the fingerprint a browser shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from runtime.api.tls import CERT_NAME, certificate_details, self_signed, served_certificate_file


def test_details_of_a_self_signed_certificate() -> None:
    pem, _ = self_signed("edge-line-1", ["127.0.0.1", "10.0.0.7", "not-an-address"])
    cert = x509.load_pem_x509_certificate(pem)
    details = certificate_details(pem)
    assert details["subject"] == "O=EsoCore Edge,CN=edge-line-1"
    assert details["self_signed"] is True
    assert details["dns_names"] == ["localhost", "edge-line-1"]
    assert details["ip_addresses"] == ["127.0.0.1", "10.0.0.7"]
    digest = cert.fingerprint(hashes.SHA256())
    assert details["sha256_fingerprint"] == digest.hex(":").upper()
    not_after = dt.datetime.fromisoformat(str(details["not_after"]).replace("Z", "+00:00"))
    assert abs(not_after - cert.not_valid_after_utc) < dt.timedelta(seconds=1)
    assert details["serial_number"] == format(cert.serial_number, "X")


def test_the_first_certificate_of_a_chain_is_described() -> None:
    server, _ = self_signed("server", [])
    ca, _ = self_signed("plant-ca", [])
    assert certificate_details(server + ca)["subject"].endswith("CN=server")


def test_the_served_file() -> None:
    assert served_certificate_file(False, None, "data") is None
    assert served_certificate_file(True, None, "data") == Path("data") / CERT_NAME
    assert served_certificate_file(True, "/etc/plant.pem", "data") == Path("/etc/plant.pem")
