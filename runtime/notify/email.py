"""Email notifications (email-to-ticket): the message, built once when the notification is
queued, and one attempt to hand it to the SMTP server, classified for the retry policy.

The Message-ID comes from the delivery id, so a message sent again after a retry or a restart
is recognisably the same message to the ticket system.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from typing import Any

from .config import EmailConfig
from .outbox import Outcome
from .templates import alert_fields, compile_template, render_subject


def recipients_for(config: EmailConfig, severity: Any) -> list[str]:
    """The addresses that want this severity, each once."""
    out: list[str] = []
    for recipient in config.recipients:
        if severity in recipient.severities and recipient.address not in out:
            out.append(recipient.address)
    return out


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "esocore.invalid"


def render_message(
    config: EmailConfig,
    event: str,
    alert: Mapping[str, Any],
    priority_mapping: Mapping[str, str],
    delivery_id: str,
    recipients: list[str],
    now: float,
) -> bytes:
    """The whole message as sent (CRLF line ends), from the subject and body templates."""
    values = alert_fields(event, alert, priority_mapping, delivery_id)
    message = EmailMessage()
    message["Subject"] = render_subject(compile_template(config.subject_template, "text"), values)
    message["From"] = config.from_address
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(now, usegmt=True)
    message["Message-ID"] = f"<{delivery_id}@{_domain(config.from_address)}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message["X-EsoCore-Delivery"] = delivery_id
    message["X-EsoCore-Event"] = event
    if alert.get("id"):
        message["X-EsoCore-Alert"] = str(alert["id"])
    body = compile_template(config.body_template, "text").render(values)
    message.set_content(body.encode("utf-8", "replace").decode("utf-8"))
    return message.as_bytes(policy=SMTP)


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_file)
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _verdict(code: int) -> str:
    return "retry" if 400 <= code < 500 else "failed"


class EmailSender:
    """Hands messages to the configured SMTP server, one connection per message."""

    def send(self, config: EmailConfig, recipients: list[str], message: bytes) -> Outcome:
        """One attempt; never raises for what the network or the server does."""
        sender = parseaddr(config.from_address)[1]
        # EHLO with the plain host name: smtplib's default looks the FQDN up in DNS, which can
        # hang for seconds on a device without a resolver.
        local = socket.gethostname() or "localhost"
        try:
            context = _tls_context(config) if config.security != "none" else None
            if config.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host,
                    config.port,
                    local_hostname=local,
                    timeout=config.timeout_s,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    config.host, config.port, local_hostname=local, timeout=config.timeout_s
                )
            with smtp:
                if config.security == "starttls":
                    smtp.starttls(context=context)
                if config.username:
                    smtp.login(config.username, config.password or "")
                refused = smtp.sendmail(sender, recipients, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            verdict = "retry" if any(400 <= c < 500 for c in codes) else "failed"
            return Outcome(verdict, codes[0] if codes else None, error=f"refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if exc.smtp_error else ""
            return Outcome(
                _verdict(exc.smtp_code), exc.smtp_code, text, f"SMTP {exc.smtp_code}: {text}"
            )
        except smtplib.SMTPNotSupportedError as exc:
            return Outcome(
                "failed", error=f"{exc}: check security (starttls, tls, none) and the login"
            )
        except (smtplib.SMTPException, OSError) as exc:  # connection, TLS, timeout
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}")
        if refused:
            return Outcome("delivered", 250, error=f"some recipients refused: {refused}")
        return Outcome("delivered", 250)
