"""Alerts, machine modes and learned baselines in their own SQLite file (DATA_DIR/alerts.db).

Apart from the readings store on purpose: alert changes are few, must be read back at once
(an acknowledgement, then a GET), and share a transaction with the notification outbox
(runtime.notify), which lives in the same file, so an alert is never raised without its
notifications queued, nor the other way round.

One connection, used from several threads (the device loop raises alerts, the API thread
acknowledges them, the notification worker delivers): every use holds `lock`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ALERTS_FILE = "alerts.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    alert_code INTEGER NOT NULL,
    severity TEXT NOT NULL,
    peak_severity TEXT NOT NULL,
    device_id TEXT NOT NULL,
    sensor_id TEXT,
    metric TEXT,
    axis TEXT,
    unit TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    current_value REAL,
    threshold_value REAL,
    status TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'resolved')),
    acknowledged INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    resolved_at REAL,
    acknowledged_at REAL,
    acknowledged_by TEXT,
    work_order_id TEXT,
    note TEXT,
    forecast_at REAL,
    forecast_earliest REAL,
    forecast_latest REAL,
    message TEXT,
    recommended_action TEXT
);
-- One open (not resolved) alert per condition: a persisting condition updates it.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_key ON alerts(key) WHERE status != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_created ON alerts(created_at, id);
CREATE TABLE IF NOT EXISTS machine_modes (
    device_id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    changed_at REAL NOT NULL,
    changed_by TEXT
);
CREATE TABLE IF NOT EXISTS baselines (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"""


@dataclass
class AlertRow:
    id: int
    key: str
    rule_id: str
    alert_type: str
    alert_code: int
    severity: str
    peak_severity: str
    device_id: str
    sensor_id: str | None
    metric: str | None
    axis: str | None
    unit: str
    detail: str
    current_value: float | None
    threshold_value: float | None
    status: str
    acknowledged: bool
    created_at: float
    updated_at: float
    last_seen_at: float
    resolved_at: float | None
    acknowledged_at: float | None
    acknowledged_by: str | None
    work_order_id: str | None  # JSON text: a number stays a number, a string a string
    note: str | None
    forecast_at: float | None
    forecast_earliest: float | None
    forecast_latest: float | None
    message: str | None  # the rule's own message and action, when it has them
    recommended_action: str | None

    @property
    def work_order(self) -> Any:
        return None if self.work_order_id is None else json.loads(self.work_order_id)


COLUMNS = tuple(f.name for f in fields(AlertRow))
SELECT = f"SELECT {', '.join(COLUMNS)} FROM alerts"


def _row(values: tuple[Any, ...]) -> AlertRow:
    row = AlertRow(*values)
    row.acknowledged = bool(row.acknowledged)
    return row


class AlertStore:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / ALERTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT under the lock (ROLLBACK on an exception)."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- alerts ----------------------------------------------------------------------------

    def open_alerts(self) -> list[AlertRow]:
        with self.lock:
            rows = self.db.execute(f"{SELECT} WHERE status != 'resolved' ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def get(self, alert_id: int) -> AlertRow | None:
        with self.lock:
            found = self.db.execute(f"{SELECT} WHERE id = ?", (alert_id,)).fetchone()
        return _row(found) if found else None

    def insert(self, db: sqlite3.Connection, values: dict[str, Any]) -> int:
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = db.execute(
            f"INSERT INTO alerts ({names}) VALUES ({marks})", tuple(values.values())
        )
        return int(cursor.lastrowid or 0)

    def update(self, db: sqlite3.Connection, alert_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        db.execute(f"UPDATE alerts SET {sets} WHERE id = ?", (*values.values(), alert_id))

    def fetch(self, db: sqlite3.Connection, alert_id: int) -> AlertRow:
        return _row(db.execute(f"{SELECT} WHERE id = ?", (alert_id,)).fetchone())

    def query(
        self,
        where: list[str],
        params: list[Any],
        order: str = "created_at, id",
        limit: int | None = None,
    ) -> list[AlertRow]:
        sql = SELECT + (f" WHERE {' AND '.join(where)}" if where else "") + f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            rows = self.db.execute(sql, params).fetchall()
        return [_row(r) for r in rows]

    def count(self, where: list[str], params: list[Any]) -> int:
        sql = "SELECT COUNT(*) FROM alerts" + (f" WHERE {' AND '.join(where)}" if where else "")
        with self.lock:
            return int(self.db.execute(sql, params).fetchone()[0])

    # -- machine modes ---------------------------------------------------------------------

    def modes(self) -> dict[str, str]:
        with self.lock:
            return dict(self.db.execute("SELECT device_id, mode FROM machine_modes").fetchall())

    def set_mode(self, device_id: str, mode: str, at: float, by: str | None) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO machine_modes (device_id, mode, changed_at, changed_by)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET mode = excluded.mode,"
                " changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                (device_id, mode, at, by),
            )

    # -- learned baselines ------------------------------------------------------------------

    def baselines(self) -> Baselines:
        """The engine's BaselineStore on this file."""
        return Baselines(self)

    def get_baseline(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.db.execute("SELECT data FROM baselines WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def put_baseline(self, key: str, data: dict[str, Any]) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO baselines (key, data) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET data = excluded.data",
                (key, json.dumps(data)),
            )


class Baselines:
    """runtime.alerts.engine's BaselineStore: learned baselines kept across restarts."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.get_baseline(key)

    def put(self, key: str, data: dict[str, Any]) -> None:
        self.store.put_baseline(key, data)
