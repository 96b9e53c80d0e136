"""The outbox: every notification is a row in SQLite before anything is sent.

A row is written in the same transaction as the alert change that caused it, with the exact
bytes to send, so a crash or a restart loses nothing and a retry sends the same bytes with
the same delivery id. Rows go pending -> delivered or failed, never back: a delivered row is
never picked again. The connection belongs to the caller; `lock` serialises its use.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from ..readings import iso_utc

STATUSES = ("pending", "delivered", "failed")
CHANNELS = ("webhook", "email")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS notify_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,          -- webhook | email
        target_id TEXT NOT NULL,        -- the webhook's id; 'email' for email
        event TEXT NOT NULL,            -- raised, escalated, acknowledged, resolved, test
        alert_id TEXT,
        severity TEXT,
        status TEXT NOT NULL,           -- pending | delivered | failed
        body BLOB NOT NULL,             -- the exact bytes: JSON body, or the whole message
        recipients TEXT,                -- email: JSON list of addresses
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status_code INTEGER,       -- HTTP status, or SMTP reply code
        last_error TEXT,
        created_at REAL NOT NULL,       -- UTC epoch seconds
        next_attempt_at REAL,           -- pending only
        last_attempt_at REAL,
        finished_at REAL                -- when it was delivered or failed
    )""",
    "CREATE INDEX IF NOT EXISTS notify_outbox_queue "
    "ON notify_outbox (status, channel, target_id, seq)",
    "CREATE INDEX IF NOT EXISTS notify_outbox_alert ON notify_outbox (alert_id, seq)",
    "CREATE INDEX IF NOT EXISTS notify_outbox_finished ON notify_outbox (finished_at)",
)

_COLUMNS = (
    "seq, delivery_id, channel, target_id, event, alert_id, severity, status, body, "
    "recipients, attempts, last_status_code, last_error, created_at, next_attempt_at, "
    "last_attempt_at, finished_at"
)


@dataclass(frozen=True)
class Delivery:
    """One outbox row."""

    seq: int
    delivery_id: str
    channel: str
    target_id: str
    event: str
    alert_id: str | None
    severity: str | None
    status: str
    body: bytes
    recipients: list[str] | None
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: float
    next_attempt_at: float | None
    last_attempt_at: float | None
    finished_at: float | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Delivery:
        values = list(row)
        values[8] = bytes(values[8])
        values[9] = json.loads(values[9]) if values[9] else None
        return cls(*values)

    def as_api(self) -> dict[str, Any]:
        """What GET /api/v1/integrations/deliveries/ shows (times ISO 8601 UTC)."""

        def when(ts: float | None) -> str | None:
            return iso_utc(ts) if ts is not None else None

        return {
            "id": self.delivery_id,
            "channel": self.channel,
            "target_id": self.target_id,
            "event": self.event,
            "alert_id": self.alert_id,
            "severity": self.severity,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_at": when(self.created_at),
            "next_attempt_at": when(self.next_attempt_at) if self.status == "pending" else None,
            "last_attempt_at": when(self.last_attempt_at),
            "delivered_at": when(self.finished_at) if self.status == "delivered" else None,
            "failed_at": when(self.finished_at) if self.status == "failed" else None,
            "cursor": str(self.seq),
        }


class Outbox:
    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db = db
        self.lock = lock

    def create(self) -> None:
        with self.lock:
            for statement in SCHEMA:
                self.db.execute(statement)

    def add(
        self,
        *,
        delivery_id: str,
        channel: str,
        target_id: str,
        event: str,
        alert_id: str | None,
        severity: str | None,
        body: bytes,
        recipients: list[str] | None,
        now: float,
    ) -> None:
        """A pending row, due now. Runs in the caller's transaction: takes no lock."""
        self.db.execute(
            "INSERT INTO notify_outbox (delivery_id, channel, target_id, event, alert_id, "
            "severity, status, body, recipients, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (
                delivery_id,
                channel,
                target_id,
                event,
                alert_id,
                severity,
                body,
                json.dumps(recipients) if recipients is not None else None,
                now,
                now,
            ),
        )

    def add_finished(
        self,
        *,
        delivery_id: str,
        channel: str,
        target_id: str,
        event: str,
        body: bytes,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        now: float,
    ) -> None:
        """A row for a send that is already over (a test send): shown, never sent again."""
        with self.lock:
            self.db.execute(
                "INSERT INTO notify_outbox (delivery_id, channel, target_id, event, status, "
                "body, attempts, last_status_code, last_error, created_at, last_attempt_at, "
                "finished_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                (
                    delivery_id,
                    channel,
                    target_id,
                    event,
                    "delivered" if delivered else "failed",
                    body,
                    status_code,
                    error,
                    now,
                    now,
                    now,
                ),
            )

    def heads(self) -> list[Delivery]:
        """The oldest pending row of each target: a target gets its notifications in order
        (a CMMS must see `raised` before `resolved`), so only its oldest is ever due."""
        with self.lock:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM notify_outbox WHERE seq IN ("
                "SELECT MIN(seq) FROM notify_outbox WHERE status = 'pending' "
                "GROUP BY channel, target_id)"
            ).fetchall()
        return [Delivery.from_row(r) for r in rows]

    def get(self, delivery_id: str) -> Delivery | None:
        with self.lock:
            row = self.db.execute(
                f"SELECT {_COLUMNS} FROM notify_outbox WHERE delivery_id = ?", (delivery_id,)
            ).fetchone()
        return Delivery.from_row(row) if row else None

    def mark_delivered(
        self, delivery_id: str, status_code: int | None, note: str | None, now: float
    ) -> None:
        # Even a row failed meanwhile (its webhook removed while it was in flight) was
        # delivered: the row says what happened.
        with self.lock:
            self.db.execute(
                "UPDATE notify_outbox SET status = 'delivered', attempts = attempts + 1, "
                "last_status_code = ?, last_error = ?, last_attempt_at = ?, "
                "finished_at = ?, next_attempt_at = NULL WHERE delivery_id = ?",
                (status_code, note, now, now, delivery_id),
            )

    def schedule_retry(
        self,
        delivery_id: str,
        status_code: int | None,
        error: str | None,
        next_at: float,
        now: float,
    ) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE notify_outbox SET attempts = attempts + 1, last_status_code = ?, "
                "last_error = ?, last_attempt_at = ?, next_attempt_at = ? "
                "WHERE delivery_id = ? AND status = 'pending'",
                (status_code, error, now, next_at, delivery_id),
            )

    def mark_failed(
        self,
        delivery_id: str,
        status_code: int | None,
        error: str,
        now: float,
        attempted: bool = True,
    ) -> bool:
        """Give a pending row up; False if it was no longer pending."""
        with self.lock:
            cursor = self.db.execute(
                "UPDATE notify_outbox SET status = 'failed', attempts = attempts + ?, "
                "last_status_code = COALESCE(?, last_status_code), last_error = ?, "
                "last_attempt_at = CASE WHEN ? THEN ? ELSE last_attempt_at END, "
                "finished_at = ?, next_attempt_at = NULL "
                "WHERE delivery_id = ? AND status = 'pending'",
                (int(attempted), status_code, error, attempted, now, now, delivery_id),
            )
        return cursor.rowcount > 0

    def fail_pending_of(self, channel: str, target_id: str, error: str, now: float) -> int:
        """Give up every pending row of a target (a webhook removed); how many there were."""
        with self.lock:
            cursor = self.db.execute(
                "UPDATE notify_outbox SET status = 'failed', last_error = ?, finished_at = ?, "
                "next_attempt_at = NULL "
                "WHERE status = 'pending' AND channel = ? AND target_id = ?",
                (error, now, channel, target_id),
            )
        return cursor.rowcount

    def pending_targets(self) -> set[tuple[str, str]]:
        with self.lock:
            rows = self.db.execute(
                "SELECT DISTINCT channel, target_id FROM notify_outbox WHERE status = 'pending'"
            ).fetchall()
        return {(r[0], r[1]) for r in rows}

    def count_pending(self) -> int:
        with self.lock:
            return self.db.execute(
                "SELECT COUNT(*) FROM notify_outbox WHERE status = 'pending'"
            ).fetchone()[0]

    def count_due(self, now: float) -> int:
        """Pending rows whose next attempt is due by `now` (not those waiting out a backoff)."""
        with self.lock:
            return self.db.execute(
                "SELECT COUNT(*) FROM notify_outbox WHERE status = 'pending' "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
                (now,),
            ).fetchone()[0]

    def prune(self, finished_before: float) -> int:
        """Forget delivered and failed rows older than `finished_before`."""
        with self.lock:
            cursor = self.db.execute(
                "DELETE FROM notify_outbox WHERE status != 'pending' AND finished_at < ?",
                (finished_before,),
            )
        return cursor.rowcount

    def _seq_of(self, cursor: str) -> int:
        if cursor.isdigit() and len(cursor) <= 18:
            return int(cursor)
        with self.lock:
            row = self.db.execute(
                "SELECT seq FROM notify_outbox WHERE delivery_id = ?", (cursor,)
            ).fetchone()
        if row is None:
            raise ValueError(f"before: {cursor!r} is neither a cursor nor a delivery id")
        return row[0]

    def list(
        self,
        status: str | None = None,
        channel: str | None = None,
        alert_id: str | None = None,
        target_id: str | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> list[Delivery]:
        """Newest first; `before` is the `cursor` (or the id) of the last row of the previous
        page."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if channel is not None and channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("status", status),
            ("channel", channel),
            ("alert_id", alert_id),
            ("target_id", target_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if before is not None:
            where.append("seq < ?")
            params.append(self._seq_of(before))
        sql = f"SELECT {_COLUMNS} FROM notify_outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        with self.lock:
            rows = self.db.execute(sql, params).fetchall()
        return [Delivery.from_row(r) for r in rows]


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, as the worker records it: `retry` for what may pass (network
    errors, timeouts, 408, 429, 5xx, SMTP 4xx), `failed` for what will not."""

    verdict: str  # delivered | retry | failed
    status_code: int | None = None  # HTTP status or SMTP reply code
    body: str = ""  # the receiver's answer (truncated), shown by a test send
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait
