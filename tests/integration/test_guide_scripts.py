"""The integration guide's own example code, run unchanged against a running device.

The scripts in `guide/` are the guide's code blocks (docs: the EsoCore integration guide,
"Using API Key", "Python Integration", "JavaScript/Node.js Integration" and the BI "CSV
Export"), line for line and character for character. The only difference is the indentation
of the Python blocks, which the published text lost and Python needs back. The tests replace
only what the guide itself says to replace: the example base URL and the example key. The
scripts pass no `verify=` and no CA option: they trust the device the way the docs tell
integrators to, through REQUESTS_CA_BUNDLE (Python) and NODE_EXTRA_CA_CERTS (Node) pointed at
the certificate `esocore cert export` prints.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from runtime.config import default_config_path

from .device_server import RunningDevice, esocore, start_device

GUIDE = Path(__file__).parent / "guide"
GUIDE_BASE_URL = "https://192.168.1.100/api/v1"  # "Usage" in the Python and Node clients
GUIDE_HOST_URL = "https://edge-device/api/v1"  # "Using API Key" (and the polling scripts)
GUIDE_KEY = "your-api-key"
SIM_HISTORY = dt.timedelta(minutes=2)


def guide_script(name: str, device: RunningDevice, key: str) -> str:
    """A guide script with the example base URL and key replaced, nothing else."""
    text = (GUIDE / name).read_text()
    substituted = text
    for placeholder, real in (
        (GUIDE_BASE_URL, device.base_url),
        (GUIDE_HOST_URL, device.base_url),
        (GUIDE_KEY, key),
    ):
        substituted = substituted.replace(placeholder, real)
    # Each script names the device somewhere: a substitution that found nothing would leave
    # a script talking to 192.168.1.100.
    assert "192.168.1.100" not in substituted and "edge-device" not in substituted
    return substituted


def until_usage(script: str, marker: str) -> str:
    """The client class of a guide script, without its usage lines (from `marker` on)."""
    head, found, _ = script.partition(marker)
    assert found, f"{marker!r} not in the guide script"
    return head


def script_env(trust: Path | None) -> dict[str, str]:
    """The integrator's environment: the device certificate trusted, the device's time zone.

    `trust=None` leaves the system CA bundle this machine sets, which does not know the device.
    """
    env = dict(os.environ)
    if trust is not None:
        env["REQUESTS_CA_BUNDLE"] = str(trust)
        env["NODE_EXTRA_CA_CERTS"] = str(trust)
    # Naive times (datetime.now()) mean the device's configured zone: UTC for the sim config.
    env["TZ"] = "UTC"
    return env


def run_python(
    script: str, cwd: Path, trust: Path | None, name: str = "guide.py"
) -> subprocess.CompletedProcess:
    path = cwd / name
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=cwd,
        env=script_env(trust),
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_for_data(device: RunningDevice) -> list[dict]:
    """Latest readings once every sensor has one (bounded: the first come within seconds)."""
    session = device.session("read-only")
    sensors = {s["sensor_id"] for s in device.get("/device/health").json()["sensors"]}
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    latest: list[dict] = []
    while dt.datetime.now(dt.UTC) < deadline:
        latest = session.get(device.base_url + "/telemetry/", timeout=10).json()
        if isinstance(latest, list) and {r["sensor_id"] for r in latest} >= sensors:
            session.close()
            return latest
    raise AssertionError(f"no readings from every sensor within 60 s: {latest!r}")


@pytest.fixture(scope="module")
def sim_span() -> tuple[dt.datetime, dt.datetime]:
    """Two minutes of simulated history, an hour ago: a fixed range the exports can compare."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    return start, start + SIM_HISTORY


@pytest.fixture(scope="module")
def device(tmp_path_factory, sim_span):
    where = tmp_path_factory.mktemp("guide")
    start = sim_span[0].isoformat().replace("+00:00", "Z")
    esocore(
        "sim",
        "--duration",
        "2m",
        "--start",
        start,
        "--data-dir",
        str(where / "data"),
        "--quiet",
        cwd=where,
    )
    running = start_device(where)
    try:
        wait_for_data(running)
        yield running
    finally:
        assert running.stop() == 0


@pytest.fixture(scope="module")
def axios_dir(tmp_path_factory) -> Path:
    """A directory with axios installed from the npm registry, as an integrator would."""
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "node and npm are needed (.ci/bootstrap --test)"
    where = tmp_path_factory.mktemp("node")
    installed = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "axios"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    return where


def run_node(script: str, cwd: Path, trust: Path | None) -> subprocess.CompletedProcess:
    path = cwd / "guide.js"
    path.write_text(script)
    return subprocess.run(
        ["node", str(path)],
        cwd=cwd,
        env=script_env(trust),
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- Python client -------------------------------------------------------------------------


def test_python_client_prints_every_current_reading(device, tmp_path):
    key = device.key("read-only")
    script = guide_script("python_client.py", device, key)
    done = run_python(script, tmp_path, device.cert)
    assert done.returncode == 0, done.stderr
    latest = device.get("/telemetry/").json()
    printed = [line for line in done.stdout.splitlines() if not line.startswith("WARNING:")]
    # One line per (sensor, metric), as the guide's loop expects: no per-axis duplicates.
    assert len(printed) == len(latest) > 0
    names = {r["sensor_name"] for r in latest}
    units = {r["unit"] for r in latest}
    line = re.compile(r"^(?P<name>.+): (?P<value>\S+) (?P<unit>.*)$")
    seen = set()
    for text in printed:
        match = line.match(text)
        assert match, text
        assert match["name"] in names and match["unit"] in units, text
        float(match["value"])
        seen.add(match["name"])
    assert seen == names
    assert {"Motor 1 vibration (DE)", "Motor 2 bearing temperature (DE)"} <= seen


def call_python_client(device, tmp_path, call: str):
    """Run the guide's EsoCoreClient class (its code up to `# Usage`) and print `call` as JSON."""
    key = device.key("read-only")
    client = until_usage(guide_script("python_client.py", device, key), "# Usage")
    driver = (
        f"client = EsoCoreClient(base_url={device.base_url!r}, api_key={key!r})\n"
        "import json\n"
        f"print(json.dumps({call}))\n"
    )
    return run_python(client + driver, tmp_path, device.cert)


def test_python_client_sensor_history_covers_the_last_day(device, tmp_path):
    done = call_python_client(device, tmp_path, "client.get_sensor_history('motor-1-accel')")
    assert done.returncode == 0, done.stderr
    history = json.loads(done.stdout)
    assert isinstance(history, list) and history, history
    assert {row["sensor_id"] for row in history} == {"motor-1-accel"}
    stamps = [row["timestamp"] for row in history]
    assert all(stamp.endswith("Z") for stamp in stamps)
    assert stamps == sorted(stamps)
    now = dt.datetime.now(dt.UTC)
    first = dt.datetime.fromisoformat(stamps[0])
    assert now - dt.timedelta(hours=24) <= first <= now


def test_python_client_active_alerts_is_a_list(device, tmp_path):
    done = call_python_client(device, tmp_path, "client.get_active_alerts()")
    assert done.returncode == 0, done.stderr
    alerts = json.loads(done.stdout)
    assert isinstance(alerts, list), alerts
    # "active" is every alert not resolved yet, acknowledged or not
    assert all(alert["status"] in ("new", "acknowledged") for alert in alerts)
    ids = {a["id"] for a in device.get("/alerts/history/").json()}
    assert {a["id"] for a in alerts} <= ids


def test_python_client_without_the_device_certificate_is_refused(device, tmp_path):
    script = guide_script("python_client.py", device, device.key("read-only"))
    done = run_python(script, tmp_path, trust=None)
    assert done.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert done.stdout == ""


def test_python_client_with_an_unknown_key_gets_no_readings(device, tmp_path):
    script = guide_script("python_client.py", device, "esk_unknown_0000")
    done = run_python(script, tmp_path, device.cert)
    # The guide's loop iterates the error body: the keys of {"error": ...} are strings.
    assert done.returncode != 0
    assert "TypeError" in done.stderr and done.stdout == ""


# -- BI export -----------------------------------------------------------------------------


def test_bi_export_to_csv_writes_the_history_of_a_machine(device, sim_span, tmp_path):
    key = device.key("read-only")
    # The CSV export block uses `requests`, `headers` (from "Using API Key") and `API_URL`,
    # which the integrator sets to the device's base URL.
    start, end = sim_span
    naive_start, naive_end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    script = (
        guide_script("using_api_key.py", device, key)
        + f"assert response.status_code == 200, response.text\nAPI_URL = {device.base_url!r}\n"
        + guide_script("export_to_csv.py", device, key)
        # datetimes as an integrator passes them: requests sends str(), '2026-01-01 12:00:00.5'
        + "import datetime\n"
        + f"export_to_csv('motor-1', datetime.datetime.fromisoformat({naive_start.isoformat()!r}),"
        + f" datetime.datetime.fromisoformat({naive_end.isoformat()!r}))\n"
    )
    done = run_python(script, tmp_path, device.cert)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "esocore_export_motor-1.csv", newline="") as handle:
        exported = list(csv.DictReader(handle))
    expected = device.get(
        "/telemetry/history/",
        params={
            "device_id": "motor-1",
            "start_time": start.isoformat().replace("+00:00", "Z"),
            "end_time": end.isoformat().replace("+00:00", "Z"),
            "limit": 100000,
        },
    ).json()
    assert len(exported) == len(expected) > 0
    assert {"timestamp", "device_id", "sensor_id", "metric", "value", "unit"} <= set(exported[0])
    for row, want in zip(exported, expected, strict=True):
        assert row["device_id"] == "motor-1"
        assert (row["timestamp"], row["sensor_id"], row["metric"], row["unit"]) == (
            want["timestamp"],
            want["sensor_id"],
            want["metric"],
            want["unit"],
        )
        assert float(row["value"]) == want["value"]


# -- Node.js client ------------------------------------------------------------------------


def test_node_client_logs_the_current_readings(device, axios_dir):
    script = guide_script("node_client.js", device, device.key("read-only"))
    done = run_node(script, axios_dir, device.cert)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # the guide's .catch logs errors to stderr
    latest = device.get("/telemetry/").json()
    # console.log of the array: one `sensor_id: '...'` per reading.
    assert done.stdout.count("sensor_id: ") == len(latest) > 0
    for name in {r["sensor_name"] for r in latest}:
        assert f"sensor_name: '{name}'" in done.stdout


def test_node_client_without_the_device_certificate_is_refused(device, axios_dir):
    script = guide_script("node_client.js", device, device.key("read-only"))
    done = run_node(script, axios_dir, trust=None)
    assert "sensor_id" not in done.stdout
    assert "SELF_SIGNED_CERT" in done.stderr or "self-signed certificate" in done.stderr


def test_node_client_active_alerts_is_a_list(device, axios_dir):
    key = device.key("read-only")
    client = until_usage(guide_script("node_client.js", device, key), "// Usage")
    driver = (
        f"new EsoCoreClient({json.dumps(device.base_url)}, {json.dumps(key)}).getActiveAlerts()\n"
        ".then(alerts => console.log(JSON.stringify(alerts)))\n"
        ".catch(error => { console.error(error.message); process.exit(1); });\n"
    )
    done = run_node(client + driver, axios_dir, device.cert)
    assert done.returncode == 0, done.stderr
    alerts = json.loads(done.stdout)
    assert isinstance(alerts, list)
    assert all(alert["status"] in ("new", "acknowledged") for alert in alerts)
    assert {a["id"] for a in alerts} <= {a["id"] for a in device.get("/alerts/history/").json()}


# -- a certificate from the plant's own CA -------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Plant"),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_plant_ca(where: Path) -> tuple[Path, Path, Path]:
    """A plant CA and a server certificate it issued for localhost: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Example Plant Root CA"))
        .issuer_name(_name("Example Plant Root CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
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
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("edge-line-1.plant.example"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("edge-line-1.plant.example"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = where / "plant-ca.pem", where / "edge.pem", where / "edge.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(server_key))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def get_trusting(url: str, ca: Path, key: str) -> tuple[int, dict]:
    """GET with a client that trusts only `ca`; its connection is closed on return (an idle
    keep-alive TLS connection would add the server's grace period to the device's stop)."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(ca)
        response = session.get(url, headers={"X-API-Key": key}, timeout=10)
        result = response.status_code, response.json()
        response.close()
    return result


def test_a_certificate_from_the_plant_ca_is_served_and_trusted(tmp_path):
    ca, cert, key = make_plant_ca(tmp_path)
    config = tmp_path / "device.toml"
    config.write_text(
        default_config_path("sim").read_text()
        + f"\n[http]\ncert_file = {json.dumps(str(cert))}\nkey_file = {json.dumps(str(key))}\n"
    )
    device = start_device(tmp_path, "--config", str(config))
    try:
        # An ordinary client that trusts only the plant CA.
        status, info = get_trusting(device.base_url + "/device/info", ca, device.key("read-only"))
        assert status == 200 and info["board"] == "sim"
        # The certificate on the wire is the plant's, not a self-signed one.
        served = ssl.get_server_certificate(("127.0.0.1", device.port))
        assert (
            x509.load_pem_x509_certificate(served.encode()).subject
            == x509.load_pem_x509_certificate(cert.read_bytes()).subject
        )
        # The guide's client trusts the plant CA through REQUESTS_CA_BUNDLE, unchanged.
        script = guide_script("python_client.py", device, device.key("read-only"))
        client = until_usage(script, "# Usage")
        driver = (
            f"client = EsoCoreClient(base_url={device.base_url!r}, "
            f"api_key={device.key('read-only')!r})\n"
            "print(type(client.get_current_readings()).__name__)\n"
        )
        done = run_python(client + driver, tmp_path, ca)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "list", done.stdout
        # A client that trusts only the self-signed certificate of the data directory is refused.
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(device.base_url + "/device/info", verify=str(device.cert), timeout=10)
    finally:
        assert device.stop() == 0
