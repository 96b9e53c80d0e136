"""The notifications facade the alert store and the API use.

`enqueue` writes outbox rows inside the caller's transaction (so an alert change and its
notifications are stored together or not at all); `wake` after the commit makes the worker
send them at once; the worker retries until each is delivered or too old.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..alerts.types import ALERT_TYPE
from ..readings import iso_utc
from .config import EVENTS, NotificationsConfig, WebhookConfig
from .email import EmailSender, recipients_for, render_message
from .outbox import CHANNELS, Outbox, Outcome
from .webhook import WebhookSender, render_body
from .worker import Counters, Worker

TEST_EVENT = "test"


class UnknownTarget(LookupError):
    """No webhook with that id (the API answers 404)."""


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def sample_alert(now: float) -> dict[str, Any]:
    """A believable alert for test sends, shaped like the API's alert JSON."""
    kind = ALERT_TYPE["iso_zone_d"]
    at = iso_utc(now)
    return {
        "id": "test",
        "device_id": "motor-1",
        "device_name": "Motor 1",
        "device_type": "motor",
        "equipment_id": "P-101-M",
        "location": "Pump house, line 1",
        "sensor_id": "motor-1-de",
        "sensor_name": "Motor 1 vibration (DE)",
        "metric": "vibration_rms",
        "axis": None,
        "alert_type": kind.name,
        "alert_code": kind.code,
        "severity": "critical",
        "status": "active",
        "acknowledged": False,
        "message": "Test notification from EsoCore Edge: vibration_rms 7.31 mm/s > 7.1 mm/s "
        "(zone D)",
        "recommended_action": kind.recommended_action,
        "current_value": 7.31,
        "threshold_value": 7.1,
        "unit": "mm/s",
        "created_at": at,
        "updated_at": at,
        "work_order_id": None,
        "forecast_threshold_at": None,
        "sensor_readings": [
            {
                "sensor_id": "motor-1-de",
                "sensor_name": "Motor 1 vibration (DE)",
                "metric": "vibration_rms",
                "axis": None,
                "value": 7.31,
                "unit": "mm/s",
                "timestamp": at,
            },
            {
                "sensor_id": "motor-1-temp",
                "sensor_name": "Motor 1 bearing temperature",
                "metric": "temperature",
                "axis": None,
                "value": 61.4,
                "unit": "°C",
                "timestamp": at,
            },
        ],
    }


class Notifier:
    def __init__(
        self,
        db: sqlite3.Connection,
        lock: threading.Lock,
        config: NotificationsConfig,
        device: dict[str, str],
        log_event: Callable[..., None],
        now: Callable[[], float] = time.time,
    ) -> None:
        """`db` is the caller's connection (autocommit, WAL); `lock` is held around every use
        of it. Creates the outbox table if it is not there."""
        self._config = config
        self.device = dict(device)
        self.log_event = log_event
        self.now = now
        self.outbox = Outbox(db, lock)
        self.outbox.create()
        self.webhooks = WebhookSender()
        self.email = EmailSender()
        self._counters = Counters()
        self._worker: Worker | None = None
        self._state_lock = threading.Lock()

    @property
    def config(self) -> NotificationsConfig:
        return self._config

    # -- queueing (in the caller's transaction) ------------------------------------------

    def enqueue(self, event: str, alert: dict[str, Any]) -> list[str]:
        """One outbox row per channel that wants this event and severity; the delivery ids.

        Runs inside the caller's open transaction, with the caller holding the lock: it takes
        no lock and does not commit. Database errors propagate (the caller rolls back); a body
        that cannot be rendered is logged and skipped so the alert change is still stored.
        """
        config = self._config
        now = self.now()
        severity = alert.get("severity")
        alert_id = alert.get("id")
        ids: list[str] = []
        if event not in EVENTS:
            return ids
        for hook in config.webhooks:
            if not (hook.enabled and severity in hook.severities and event in hook.events):
                continue
            delivery_id = new_delivery_id()
            try:
                body = render_body(
                    hook, event, alert, self.device, config.priority_mapping, delivery_id, now
                )
            except Exception as exc:  # never lose the alert change over a notification
                self._render_failed("webhook", hook.id, event, alert_id, exc)
                continue
            self.outbox.add(
                delivery_id=delivery_id,
                channel="webhook",
                target_id=hook.id,
                event=event,
                alert_id=alert_id,
                severity=severity,
                body=body,
                recipients=None,
                now=now,
            )
            ids.append(delivery_id)
        email = config.email
        recipients = recipients_for(email, severity)
        if email.enabled and event in email.events and recipients:
            delivery_id = new_delivery_id()
            try:
                message = render_message(
                    email, event, alert, config.priority_mapping, delivery_id, recipients, now
                )
            except Exception as exc:
                self._render_failed("email", "email", event, alert_id, exc)
            else:
                self.outbox.add(
                    delivery_id=delivery_id,
                    channel="email",
                    target_id="email",
                    event=event,
                    alert_id=alert_id,
                    severity=severity,
                    body=message,
                    recipients=recipients,
                    now=now,
                )
                ids.append(delivery_id)
        return ids

    def _render_failed(
        self, channel: str, target: str, event: str, alert_id: Any, exc: Exception
    ) -> None:
        self.log_event(
            "notification_error",
            f"{channel} {target}: {event} of alert {alert_id} not queued: {exc!r}",
            data={"channel": channel, "target_id": target, "event": event, "alert_id": alert_id},
        )

    # -- the worker ----------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now (call after committing what `enqueue` wrote)."""
        worker = self._worker
        if worker is not None:
            worker.wake()

    def start(self) -> None:
        with self._state_lock:
            if self._worker is not None:
                return
            self._worker = Worker(
                self.outbox,
                lambda: self._config,
                self.webhooks,
                self.email,
                self.log_event,
                self.now,
                self._counters,
            )
            self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; after this the notifier does not touch the database on its own.
        Sends still in flight after `timeout` are abandoned (sent again after a restart)."""
        with self._state_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(timeout)
        self.webhooks.close()

    def reconfigure(self, config: NotificationsConfig) -> None:
        """Use a new config from now on. Pending deliveries of a webhook that was removed or
        disabled (or of email, if it was disabled) are failed. Takes the lock: do not call it
        while holding it."""
        self._config = config
        now = self.now()
        given_up: dict[str, int] = {}
        for channel, target in sorted(self.outbox.pending_targets()):
            reason = None
            if channel == "webhook":
                hook = config.webhook(target)
                if hook is None or not hook.enabled:
                    reason = "webhook removed" if hook is None else "webhook disabled"
            elif not config.email.enabled:
                reason = "email disabled"
            if reason is not None:
                count = self.outbox.fail_pending_of(channel, target, reason, now)
                if count:
                    given_up[f"{channel} {target}"] = count
                    for _ in range(count):
                        self._counters.add("failed")
        if given_up:
            listed = ", ".join(f"{k} ({n})" for k, n in given_up.items())
            self.log_event(
                "notification_failed",
                f"pending notifications given up by a config change: {listed}",
                data={"given_up": given_up},
            )
        self.webhooks.forget({h.id for h in config.webhooks})
        self.wake()

    # -- what the API shows --------------------------------------------------------------

    def deliveries(
        self,
        status: str | None = None,
        channel: str | None = None,
        alert_id: str | None = None,
        limit: int = 100,
        before: str | None = None,
        target_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first. `channel` is `webhook`, `email` or one webhook's id (the same as
        `target_id`). Each item has a `cursor`: pass the last one's (or its `id`) as `before`
        for the next page. A bad filter or cursor is a ValueError (a 400 for the API)."""
        if channel is not None and channel not in CHANNELS:
            if target_id is not None and target_id != channel:
                raise ValueError("channel names one webhook and target_id another")
            channel, target_id = "webhook", channel
        rows = self.outbox.list(status, channel, alert_id, target_id, limit, before)
        return [row.as_api() for row in rows]

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        row = self.outbox.get(delivery_id)
        return row.as_api() if row else None

    def counters(self) -> dict[str, int]:
        """delivered, failed and retries since this process started (Prometheus counters);
        pending as it is now (a gauge)."""
        c = self._counters
        with c.lock:
            counts = {"delivered": c.delivered, "failed": c.failed, "retries": c.retries}
        counts["pending"] = self.outbox.count_pending()
        return counts

    def due_now(self) -> int:
        """Deliveries waiting to be sent now (a command that ends waits for these)."""
        return self.outbox.count_due(self.now())

    # -- test sends (synchronous, for the API's "test" buttons) -------------------------

    def send_test(self, webhook_id: str) -> dict[str, Any]:
        """Post a sample alert to a webhook now (enabled or not, whatever its filters) and
        say what the receiver answered. Recorded as a delivery with event `test`."""
        hook = self._config.webhook(webhook_id)
        if hook is None:
            raise UnknownTarget(f"no webhook {webhook_id!r}")
        return self._send_test_webhook(hook)

    def _send_test_webhook(self, hook: WebhookConfig) -> dict[str, Any]:
        now = self.now()
        delivery_id = new_delivery_id()
        body = render_body(
            hook,
            TEST_EVENT,
            sample_alert(now),
            self.device,
            self._config.priority_mapping,
            delivery_id,
            now,
        )
        outcome = self.webhooks.send(hook, delivery_id, TEST_EVENT, body)
        return self._record_test("webhook", hook.id, delivery_id, body, outcome)

    def send_test_email(self, address: str | None = None) -> dict[str, Any]:
        """Send a sample alert by email now, to `address` or to every configured recipient."""
        email = self._config.email
        delivery_id = new_delivery_id()
        recipients = (
            [address] if address else list(dict.fromkeys(r.address for r in email.recipients))
        )
        if not email.host or not email.from_address or not recipients:
            return {
                "delivery_id": delivery_id,
                "ok": False,
                "status_code": None,
                "body": "",
                "error": "set email host, from_address and at least one recipient first",
            }
        now = self.now()
        message = render_message(
            email,
            TEST_EVENT,
            sample_alert(now),
            self._config.priority_mapping,
            delivery_id,
            recipients,
            now,
        )
        outcome = self.email.send(email, recipients, message)
        return self._record_test("email", "email", delivery_id, message, outcome)

    def _record_test(
        self, channel: str, target: str, delivery_id: str, body: bytes, outcome: Outcome
    ) -> dict[str, Any]:
        ok = outcome.verdict == "delivered"
        self.outbox.add_finished(
            delivery_id=delivery_id,
            channel=channel,
            target_id=target,
            event=TEST_EVENT,
            body=body,
            delivered=ok,
            status_code=outcome.status_code,
            error=outcome.error,
            now=self.now(),
        )
        return {
            "delivery_id": delivery_id,
            "ok": ok,
            "status_code": outcome.status_code,
            "body": outcome.body,
            "error": outcome.error,
        }
