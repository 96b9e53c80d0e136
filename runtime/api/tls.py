"""The device's TLS certificate: self-signed on first start, or the plant's own.

The self-signed certificate names the device's hostname and addresses (plus localhost), so
clients that trust it (REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS; `esocore cert export` prints
it) verify the connection normally.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "tls-cert.pem"
KEY_NAME = "tls-key.pem"
VALID_DAYS = 3650


def local_addresses() -> list[str]:
    """The addresses this host answers on (best effort, no network traffic)."""
    found = {"127.0.0.1", "::1"}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]).split("%")[0])
    except OSError:
        pass
    return sorted(found)


def ensure_certificate(data_dir: str | Path) -> tuple[Path, Path]:
    """(cert, key) in the data directory, generating a self-signed pair if there is none."""
    directory = Path(data_dir)
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    cert_pem, key_pem = self_signed(socket.gethostname(), local_addresses())
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    return cert_path, key_path


def self_signed(hostname: str, addresses: list[str]) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostname or "esocore-edge"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EsoCore Edge"),
        ]
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    if hostname and hostname != "localhost":
        alt_names.append(x509.DNSName(hostname))
    for address in addresses:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            continue
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        # A CA certificate, so clients can use it as their trust anchor for this device.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def served_certificate_file(tls: bool, cert_file: str | None, data_dir: str | Path) -> Path | None:
    """The certificate file the HTTPS listener serves (None over plain HTTP): the plant's own
    when the config names one, else the self-signed one in the data directory. Shared by
    `esocore cert export` and GET /device/certificate so both hand out the same file."""
    if not tls:
        return None
    return Path(cert_file) if cert_file else Path(data_dir) / CERT_NAME


def certificate_details(pem: bytes) -> dict[str, object]:
    """What a user compares before trusting a certificate: the first certificate of a PEM
    file (the server's own; a chain may follow), its names, validity and fingerprint."""
    cert = x509.load_pem_x509_certificates(pem)[0]
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = alt.get_values_for_type(x509.DNSName)
        ips = [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "self_signed": cert.subject == cert.issuer,
        "serial_number": format(cert.serial_number, "X"),
        "dns_names": dns,
        "ip_addresses": ips,
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "sha256_fingerprint": ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
    }


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
