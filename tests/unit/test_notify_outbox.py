"""The outbox and the retry policy without a network: rows written in the caller's
transaction, which channels get what, backoff, Retry-After, max age, order per target, and
the delivery list the API pages through. Senders are scripted; the clock is a variable."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.notify import NotificationsConfig, Notifier
from runtime.notify.notifier import sample_alert
from runtime.notify.outbox import Delivery, Outcome
from runtime.notify.worker import Worker, backoff_delay

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


class ScriptedSender:
    """Answers each send with the next outcome of its script (the last one repeats)."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, bytes]] = []

    def send(self, target: Any, *args: Any) -> Outcome:
        delivery_id_or_recipients = args[0]
        body = args[-1]
        self.sent.append((str(delivery_id_or_recipients), body))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


class Events(list):
    def __call__(self, kind: str, message: str, **kwargs: Any) -> None:
        self.append((kind, message, kwargs.get("data")))


CONFIG = {
    "webhooks": [
        {"id": "cmms", "url": "https://cmms.example.com/wo", "severities": ["critical"]},
        {"id": "mes", "url": "https://mes.example.com/hook", "events": ["resolved"]},
        {"id": "off", "url": "https://off.example.com/", "enabled": False},
    ],
    "email": {
        "enabled": True,
        "host": "mail.example.com",
        "security": "none",
        "from_address": "edge@plant.example.com",
        "recipients": [
            {"address": "tickets@cmms.example.com", "severities": ["alert", "critical"]},
            {"address": "night-shift@plant.example.com", "severities": ["critical"]},
        ],
    },
    "retry_initial_s": 1,
    "retry_max_s": 8,
    "max_age_s": 100,
}


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    yield connection
    connection.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def notifier(db: sqlite3.Connection, clock: Clock, events: Events) -> Notifier:
    config = NotificationsConfig.model_validate(CONFIG)
    return Notifier(db, threading.Lock(), config, {"device_id": "edge-1"}, events, now=clock)


def enqueue(notifier: Notifier, event: str, commit: bool = True, **changes: Any) -> list[str]:
    alert = sample_alert(T0)
    alert.update(changes)
    db = notifier.outbox.db
    with notifier.outbox.lock:
        db.execute("BEGIN")
        ids = notifier.enqueue(event, alert)
        db.execute("COMMIT" if commit else "ROLLBACK")
    return ids


def worker_for(notifier: Notifier, webhooks: Any, email: Any = None) -> Worker:
    return Worker(
        notifier.outbox,
        lambda: notifier.config,
        webhooks,
        email or ScriptedSender(Outcome("delivered", 250)),
        notifier.log_event,
        notifier.now,
        notifier._counters,
        rng=lambda: 1.0,
    )


def row(notifier: Notifier, delivery_id: str) -> Delivery:
    found = notifier.outbox.get(delivery_id)
    assert found is not None
    return found


def test_rows_are_written_in_the_callers_transaction(notifier: Notifier) -> None:
    assert enqueue(notifier, "raised", commit=False)
    assert notifier.deliveries() == []
    ids = enqueue(notifier, "raised")
    assert [d["id"] for d in notifier.deliveries()] == list(reversed(ids))


def test_channels_are_chosen_by_severity_event_and_enabled(notifier: Notifier) -> None:
    def targets(event: str, severity: str) -> list[str]:
        ids = enqueue(notifier, event, severity=severity)
        return [row(notifier, i).target_id for i in ids]

    assert targets("raised", "critical") == ["cmms", "email"]
    assert targets("raised", "alert") == ["email"]
    assert targets("raised", "warning") == []
    assert targets("resolved", "warning") == ["mes"]
    assert targets("acknowledged", "critical") == []  # no channel wants acknowledged
    assert targets("updated", "critical") == []  # not an event


def test_email_goes_to_the_recipients_of_the_severity(notifier: Notifier) -> None:
    (email_id,) = enqueue(notifier, "raised", severity="alert")
    assert row(notifier, email_id).recipients == ["tickets@cmms.example.com"]
    ids = enqueue(notifier, "raised", severity="critical")
    assert row(notifier, ids[-1]).recipients == [
        "tickets@cmms.example.com",
        "night-shift@plant.example.com",
    ]


def test_the_body_is_rendered_once_and_kept(notifier: Notifier) -> None:
    (hook_id, _) = enqueue(notifier, "raised", message="first")
    stored = row(notifier, hook_id)
    assert b'"message": "first"' in stored.body
    assert f'"delivery_id": "{hook_id}"'.encode() in stored.body
    assert stored.status == "pending" and stored.attempts == 0


def test_a_delivered_row_is_never_picked_again(notifier: Notifier) -> None:
    sender = ScriptedSender(Outcome("delivered", 200))
    worker = worker_for(notifier, sender)
    (hook_id, email_id) = enqueue(notifier, "raised")
    heads = notifier.outbox.heads()
    assert {h.delivery_id for h in heads} == {hook_id, email_id}
    for head in heads:
        worker.attempt(head)
    assert notifier.outbox.heads() == []
    done = notifier.delivery(hook_id)
    assert done is not None
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("delivered", 1, 200)
    assert done["delivered_at"] == "2023-11-14T22:13:20.000Z"
    assert done["next_attempt_at"] is None
    assert notifier.counters() == {"delivered": 2, "failed": 0, "retries": 0, "pending": 0}


def test_a_failure_that_may_pass_is_retried_with_backoff(notifier: Notifier, clock: Clock) -> None:
    sender = ScriptedSender(Outcome("retry", 503, error="HTTP 503"))
    worker = worker_for(notifier, sender)
    (hook_id, _) = enqueue(notifier, "raised")
    waits = []
    for _ in range(6):
        worker.attempt(row(notifier, hook_id))
        current = row(notifier, hook_id)
        assert current.next_attempt_at is not None
        waits.append(current.next_attempt_at - clock.t)
        clock.t = current.next_attempt_at
    # rng 1.0 gives the ceiling of full jitter: 1, 2, 4, 8 s, then capped at retry_max_s.
    assert waits == [1, 2, 4, 8, 8, 8]
    current = row(notifier, hook_id)
    assert (current.status, current.attempts, current.last_status_code) == ("pending", 6, 503)
    assert current.last_error == "HTTP 503"
    assert notifier.counters()["retries"] == 6


def test_full_jitter_stays_between_zero_and_the_ceiling() -> None:
    assert backoff_delay(1, 2, 600, lambda: 0.0) == 0
    assert backoff_delay(3, 2, 600, lambda: 0.5) == 4
    assert backoff_delay(400, 2, 600, lambda: 1.0) == 600


def test_retry_after_is_what_the_receiver_asked(notifier: Notifier, clock: Clock) -> None:
    worker = worker_for(notifier, ScriptedSender(Outcome("retry", 429, retry_after=30)))
    (hook_id, _) = enqueue(notifier, "raised")
    worker.attempt(row(notifier, hook_id))
    assert row(notifier, hook_id).next_attempt_at == clock.t + 30
    # ... but never past the delivery's max age.
    worker = worker_for(notifier, ScriptedSender(Outcome("retry", 503, retry_after=3600)))
    worker.attempt(row(notifier, hook_id))
    assert row(notifier, hook_id).next_attempt_at == T0 + 100


def test_a_refusal_fails_at_once_and_is_logged(notifier: Notifier, events: Events) -> None:
    sender = ScriptedSender(Outcome("failed", 400, error="HTTP 400: bad field"))
    worker = worker_for(notifier, sender)
    (hook_id, _) = enqueue(notifier, "raised")
    worker.attempt(row(notifier, hook_id))
    failed = row(notifier, hook_id)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 1, 400)
    assert len(sender.sent) == 1
    assert notifier.outbox.heads()[0].target_id == "email"  # only the email is left
    ((kind, message, data),) = events
    assert kind == "notification_failed" and "HTTP 400: bad field" in message
    assert data["delivery_id"] == hook_id and data["last_status_code"] == 400


def test_after_max_age_a_delivery_fails_and_an_event_is_logged(
    notifier: Notifier, clock: Clock, events: Events
) -> None:
    sender = ScriptedSender(Outcome("retry", None, error="ConnectError: refused"))
    worker = worker_for(notifier, sender)
    (hook_id, _) = enqueue(notifier, "raised")
    while row(notifier, hook_id).status == "pending":
        clock.t = row(notifier, hook_id).next_attempt_at or clock.t
        worker.attempt(row(notifier, hook_id))
    failed = row(notifier, hook_id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.startswith("not delivered within max_age_s (100 s)")
    assert "ConnectError: refused" in failed.last_error
    assert clock.t == T0 + 100
    assert [e[0] for e in events] == ["notification_failed"]
    assert notifier.counters()["failed"] == 1


def test_a_target_gets_its_notifications_in_order(notifier: Notifier, clock: Clock) -> None:
    worker = worker_for(notifier, ScriptedSender(Outcome("retry", 503), Outcome("delivered", 200)))
    (raised, _) = enqueue(notifier, "raised")
    (resolved,) = [i for i in enqueue(notifier, "resolved") if row(notifier, i).target_id == "cmms"]
    heads = {h.target_id: h.delivery_id for h in notifier.outbox.heads()}
    assert heads["cmms"] == raised
    worker.attempt(row(notifier, raised))  # 503: resolved waits behind it
    heads = {h.target_id: h.delivery_id for h in notifier.outbox.heads()}
    assert heads["cmms"] == raised
    clock.t += 10
    worker.attempt(row(notifier, raised))
    heads = {h.target_id: h.delivery_id for h in notifier.outbox.heads()}
    assert heads["cmms"] == resolved


def test_removing_a_webhook_fails_its_pending_deliveries(
    notifier: Notifier, events: Events
) -> None:
    (hook_id, email_id) = enqueue(notifier, "raised")
    data = {**CONFIG, "webhooks": CONFIG["webhooks"][1:]}
    notifier.reconfigure(NotificationsConfig.model_validate(data))
    assert row(notifier, hook_id).status == "failed"
    assert row(notifier, hook_id).last_error == "webhook removed"
    assert row(notifier, email_id).status == "pending"
    assert events[-1][0] == "notification_failed" and "webhook cmms (1)" in events[-1][1]
    # Disabling email gives its pending deliveries up too.
    notifier.reconfigure(NotificationsConfig.model_validate({**data, "email": {}}))
    assert row(notifier, email_id).last_error == "email disabled"


def test_deliveries_are_listed_newest_first_filtered_and_paged(notifier: Notifier) -> None:
    ids: list[str] = []
    for i in range(5):
        ids += enqueue(notifier, "raised", id=f"a-{i}")
    assert len(ids) == 10
    page = notifier.deliveries(limit=4)
    assert [d["id"] for d in page] == ids[::-1][:4]
    page2 = notifier.deliveries(limit=4, before=page[-1]["cursor"])
    assert [d["id"] for d in page2] == ids[::-1][4:8]
    assert notifier.deliveries(limit=4, before=page[-1]["id"]) == page2  # an id works too
    assert [d["alert_id"] for d in notifier.deliveries(alert_id="a-3")] == ["a-3", "a-3"]
    email_rows = notifier.deliveries(channel="email")
    assert len(email_rows) == 5 and all(d["target_id"] == "email" for d in email_rows)
    assert notifier.deliveries(status="delivered") == []
    assert len(notifier.deliveries(channel="cmms")) == 5  # a webhook's id
    assert notifier.deliveries(channel="mes") == []
    first = notifier.deliveries(limit=1)[0]
    assert set(first) == {
        "id", "channel", "target_id", "event", "alert_id", "severity", "status", "attempts",
        "last_status_code", "last_error", "created_at", "next_attempt_at", "last_attempt_at",
        "delivered_at", "failed_at", "cursor",
    }  # fmt: skip
    for bad in (
        {"status": "done"},
        {"channel": "cmms", "target_id": "mes"},
        {"before": "no-such-id"},
        {"limit": 0},
    ):
        with pytest.raises(ValueError):
            notifier.deliveries(**bad)


def test_an_unrenderable_alert_is_logged_and_the_transaction_goes_on(
    notifier: Notifier, events: Events
) -> None:
    class Weird:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    ids = enqueue(notifier, "raised", message=Weird())
    assert ids == []
    assert {e[0] for e in events} == {"notification_error"}


def test_the_table_is_created_once_and_rows_survive_a_new_notifier(
    notifier: Notifier, db: sqlite3.Connection, clock: Clock
) -> None:
    ids = enqueue(notifier, "raised")
    again = Notifier(db, threading.Lock(), notifier.config, {}, lambda *a, **k: None, now=clock)
    assert {h.delivery_id for h in again.outbox.heads()} == set(ids)


def test_a_stale_view_of_a_row_never_sends_it_again(notifier: Notifier, clock: Clock) -> None:
    """The dispatcher may hold a row read before an attempt on it finished."""
    sender = ScriptedSender(Outcome("retry", 503), Outcome("delivered", 200))
    worker = worker_for(notifier, sender)
    (hook_id, _) = enqueue(notifier, "raised")
    stale = row(notifier, hook_id)
    worker._attempt_then_release(stale, ("webhook", "cmms"))  # 503: retry in 1 s
    worker._attempt_then_release(stale, ("webhook", "cmms"))  # not due any more: not sent
    assert len(sender.sent) == 1
    clock.t += 1
    worker._attempt_then_release(stale, ("webhook", "cmms"))  # due: delivered
    worker._attempt_then_release(stale, ("webhook", "cmms"))  # delivered: never again
    assert len(sender.sent) == 2
    assert row(notifier, hook_id).status == "delivered"
