"""The delivery worker: sends due outbox rows and records what came of each attempt.

Each target (a webhook, the email channel) gets its notifications in order, one at a time;
different targets are served in parallel, so a receiver that hangs until its timeout does not
hold back the others. A failed attempt that may pass is retried after an exponential backoff
with full jitter (or what Retry-After asks), until the delivery is `max_age_s` old; then it
is failed and an event logged. Everything the worker knows is in the outbox, so a new worker
on the same database carries on where a stopped or crashed one left off.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import Any

from .config import NotificationsConfig
from .email import EmailSender
from .outbox import Delivery, Outbox, Outcome
from .webhook import WebhookSender

IDLE_WAIT_S = 60.0  # look at the outbox at least this often (a wake() is the usual trigger)
DB_ERROR_WAIT_S = 5.0
PARALLEL_TARGETS = 4
KEEP_FINISHED_S = 30 * 86400  # delivered and failed rows are kept this long for the API
PRUNE_EVERY_S = 3600.0


def backoff_delay(attempts: int, initial: float, maximum: float, rng: Callable[[], float]) -> float:
    """Full jitter: anywhere between 0 and initial * 2^(attempts - 1), capped at `maximum`,
    so many devices that lost the same receiver do not all come back at the same moment."""
    ceiling = min(maximum, initial * 2.0 ** min(attempts - 1, 60))
    return rng() * ceiling


@dataclass
class Counters:
    """Deliveries finished by this process (Prometheus counters restart with the process)."""

    delivered: int = 0
    failed: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


class Worker:
    def __init__(
        self,
        outbox: Outbox,
        config: Callable[[], NotificationsConfig],
        webhooks: WebhookSender,
        email: EmailSender,
        log_event: Callable[..., None],
        now: Callable[[], float],
        counters: Counters,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.outbox = outbox
        self.config = config
        self.webhooks = webhooks
        self.email = email
        self.log_event = log_event
        self.now = now
        self.counters = counters
        self.rng = rng
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._busy: set[tuple[str, str]] = set()
        self._busy_lock = threading.Lock()
        self._futures: set[Future[None]] = set()
        # Held around every database use, so after stop() nothing touches the database even
        # if a send was still in flight (its row stays pending and is sent again later).
        self._fence = threading.Lock()
        self._retired = False
        self._pool = ThreadPoolExecutor(PARALLEL_TARGETS, thread_name_prefix="notify-send")
        self._thread = threading.Thread(target=self._run, name="notify-worker", daemon=True)
        self._last_prune = 0.0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop dispatching, wait up to `timeout` for sends in flight, then let go of the
        database: results that come later are dropped (those rows are sent again)."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._busy_lock:
            futures = set(self._futures)
        wait_futures(futures, timeout=max(0.0, deadline - time.monotonic()))
        with self._fence:
            self._retired = True

    def _db(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._fence:
            if self._retired:
                return None
            return action(*args, **kwargs)

    # -- dispatching ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                delay = self._dispatch()
                self._prune()
            except sqlite3.Error as exc:
                self.log_event("notification_error", f"outbox not readable: {exc}")
                delay = DB_ERROR_WAIT_S
            self._wake.wait(delay)

    def _dispatch(self) -> float:
        """Start the due heads of idle targets; seconds until the next one is due."""
        heads: list[Delivery] = self._db(self.outbox.heads) or []
        now = self.now()
        delay = IDLE_WAIT_S
        due_now: list[tuple[Delivery, tuple[str, str]]] = []
        with self._busy_lock:
            for row in heads:
                key = (row.channel, row.target_id)
                due = row.next_attempt_at if row.next_attempt_at is not None else now
                if key in self._busy:
                    continue
                if due > now:
                    delay = min(delay, due - now)
                    continue
                self._busy.add(key)
                due_now.append((row, key))
        for row, key in due_now:
            if self._stopping.is_set():
                break
            try:
                future = self._pool.submit(self._attempt_then_release, row, key)
            except RuntimeError:  # the pool was shut down: stop() gave up waiting for us
                break
            with self._busy_lock:
                self._futures.add(future)
            future.add_done_callback(self._forget_future)
        return max(delay, 0.0)

    def _forget_future(self, future: Future[None]) -> None:
        with self._busy_lock:
            self._futures.discard(future)

    def _attempt_then_release(self, row: Delivery, key: tuple[str, str]) -> None:
        try:
            # The dispatcher's view may be older than an attempt that just finished: only a
            # row that is still pending and due now is sent (a delivered one never again).
            current: Delivery | None = self._db(self.outbox.get, row.delivery_id)
            if current is None or current.status != "pending":
                return
            if current.next_attempt_at is not None and current.next_attempt_at > self.now():
                return
            row = current
            self.attempt(row)
        except Exception as exc:  # a bug must not leave the row due forever (a hot loop)
            self._retry_later(row, self.config(), Outcome("retry", error=f"internal: {exc!r}"))
        finally:
            with self._busy_lock:
                self._busy.discard(key)
            self._wake.set()

    def _prune(self) -> None:
        now = self.now()
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            self._db(self.outbox.prune, now - KEEP_FINISHED_S)

    # -- one attempt ---------------------------------------------------------------------

    def attempt(self, row: Delivery) -> None:
        config = self.config()
        if self.now() - row.created_at >= config.max_age_s:
            self._give_up(row, None, self._too_old(row, config), attempted=False)
            return
        if row.channel == "webhook":
            hook = config.webhook(row.target_id)
            if hook is None or not hook.enabled:
                state = "removed" if hook is None else "disabled"
                self._give_up(row, None, f"webhook {state}", attempted=False)
                return
            outcome = self.webhooks.send(hook, row.delivery_id, row.event, row.body)
        else:
            if not config.email.enabled:
                self._give_up(row, None, "email disabled", attempted=False)
                return
            outcome = self.email.send(config.email, row.recipients or [], row.body)
        if outcome.verdict == "delivered":
            self._db(
                self.outbox.mark_delivered,
                row.delivery_id,
                outcome.status_code,
                outcome.error,
                self.now(),
            )
            self.counters.add("delivered")
        elif outcome.verdict == "failed":
            self._give_up(row, outcome.status_code, outcome.error or "refused", attempted=True)
        else:
            self._retry_later(row, config, outcome)

    def _retry_later(self, row: Delivery, config: NotificationsConfig, outcome: Outcome) -> None:
        now = self.now()
        deadline = row.created_at + config.max_age_s
        if now >= deadline:
            self._give_up(row, outcome.status_code, self._too_old(row, config, outcome.error))
            return
        if outcome.retry_after is not None:
            delay = outcome.retry_after  # the receiver knows best when it is back
        else:
            delay = backoff_delay(
                row.attempts + 1, config.retry_initial_s, config.retry_max_s, self.rng
            )
        self._db(
            self.outbox.schedule_retry,
            row.delivery_id,
            outcome.status_code,
            outcome.error,
            min(now + delay, deadline),
            now,
        )
        self.counters.add("retries")

    @staticmethod
    def _too_old(row: Delivery, config: NotificationsConfig, error: str | None = None) -> str:
        last = error or row.last_error
        return f"not delivered within max_age_s ({config.max_age_s:g} s)" + (
            f"; last error: {last}" if last else ""
        )

    def _give_up(
        self, row: Delivery, status_code: int | None, error: str, attempted: bool = True
    ) -> None:
        changed = self._db(
            self.outbox.mark_failed, row.delivery_id, status_code, error, self.now(), attempted
        )
        if not changed:
            return
        self.counters.add("failed")
        self.log_event(
            "notification_failed",
            f"{row.channel} {row.target_id}: {row.event} of alert {row.alert_id} not delivered: "
            f"{error}",
            data={
                "delivery_id": row.delivery_id,
                "channel": row.channel,
                "target_id": row.target_id,
                "event": row.event,
                "alert_id": row.alert_id,
                "attempts": row.attempts + int(attempted),
                "last_status_code": status_code,
                "error": error,
            },
        )
