"""Real receivers on loopback for the notification tests: an HTTP(S) server that records
every request and answers from a script, an SMTP server (aiosmtpd) with STARTTLS or implicit
TLS and a required login, and a self-signed certificate for both."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from runtime.api.tls import self_signed

Answer = tuple[int, dict[str, str], bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Certificate:
    cert_file: Path  # PEM; also the CA file a client trusts (it is self-signed)
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost that can serve as its own CA
    (made as the device makes its own, runtime.api.tls.self_signed)."""
    cert_pem, key_pem = self_signed("localhost", ["127.0.0.1"])
    cert_file = directory / "receiver.pem"
    key_file = directory / "receiver.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    return Certificate(cert_file, key_file)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: bytes
    at: float  # time.monotonic() when it arrived


def ok(_: int, __: Request) -> Answer:
    return 200, {}, b'{"id": "WO-1001"}'


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests; `answer(n, request)` (n counts
    from 0) decides each reply. Waiting is on a condition, always with a bound."""

    def __init__(
        self,
        answer: Callable[[int, Request], Answer] = ok,
        tls: ssl.SSLContext | None = None,
        port: int = 0,
        delay_s: float = 0.0,
    ) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.requests: list[Request] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver._changed:
                    number = len(receiver.requests)
                    receiver.requests.append(request)
                    receiver._changed.notify_all()
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status, headers, reply = receiver.answer(number, request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_PUT = do_PATCH = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/api/work-orders"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(
                    f"{len(self.requests)} request(s) arrived within {timeout} s, not {count}"
                )
            return list(self.requests)


@dataclass
class Mailbox:
    """What the SMTP server received, and who logged in."""

    messages: list[tuple[str, list[str], bytes, bool]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        secure = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, secure)
        )
        self.arrived.set()
        return "250 Message accepted for delivery"


USER, PASSWORD = "edge", "smtp-secret"


class SmtpServer:
    """aiosmtpd on 127.0.0.1: `security` 'starttls' (required, with a required AUTH LOGIN),
    'tls' (implicit TLS, login required) or 'none' (a relay, no login)."""

    def __init__(self, security: str, certificate: Certificate | None = None) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        options: dict[str, Any] = {}
        if security != "none":
            assert certificate is not None
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_exclude_mechanism": ["PLAIN"],  # the client must use AUTH LOGIN
            }
        if security == "starttls":
            options |= {
                "tls_context": certificate.server_context(),
                "require_starttls": True,
                "auth_require_tls": True,
            }
        elif security == "tls":
            options |= {"ssl_context": certificate.server_context(), "auth_require_tls": False}
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=5.0, **options
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.mailbox.logins.append((mechanism, login))
            # handled=False: the server answers 535 itself (its default is to stay silent).
            return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)
        return AuthResult(success=False, handled=False)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
