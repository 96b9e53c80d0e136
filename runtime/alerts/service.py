"""The alert lifecycle: conditions from the rule engine become alerts people act on.

- A condition that appears raises an alert (`new`); while it persists the same alert is
  updated (value, last seen), escalated when it worsens; when it clears the alert is
  `resolved` (acknowledged or not). One open alert per condition key, ever.
- Acknowledging records who, when, an optional work order id (kept as given: number or
  string) and a note; a second acknowledgement changes nothing.
- Every change that someone may want to hear about (raised, escalated, acknowledged,
  resolved) is queued for notification in the same transaction as the change.

Used from several threads (the device loop applies conditions, the API acknowledges, the
fieldbus reads status): the store's lock serialises them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..catalog import Catalog
from ..live import LiveState
from ..readings import iso_utc
from .store import AlertRow, AlertStore
from .types import ALERT_TYPE, SEVERITY_RANK, Condition, alert_code

log = logging.getLogger("esocore.alerts")

EVENTS = ("raised", "escalated", "acknowledged", "resolved")
MODES = ("running", "stopped", "maintenance")
# While a condition persists its alert's value is written at most this often (reading time).
UPDATE_INTERVAL_S = 10.0


class NotifierLike(Protocol):
    def enqueue(self, event: str, alert: dict[str, Any]) -> list[str]: ...

    def wake(self) -> None: ...


class AckError(LookupError):
    """No alert with that id."""


class AlertService:
    def __init__(
        self,
        store: AlertStore,
        catalog: Catalog,
        live: LiveState,
        utc_now: Callable[[], float],
        log_event: Callable[..., None],
        notifier: NotifierLike | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.live = live
        self.utc_now = utc_now
        self.log_event = log_event
        self.notifier = notifier
        self._open: dict[str, AlertRow] = {row.key: row for row in store.open_alerts()}
        self.modes: dict[str, str] = store.modes()
        self.on_mode_change: Callable[[str, bool], None] | None = None  # (device, suppressed)

    def bind(self, catalog: Catalog, live: LiveState, log_event: Callable[..., None]) -> None:
        """Serve a rebuilt device (an in-process restart) from now on."""
        self.catalog, self.live, self.log_event = catalog, live, log_event

    # -- conditions from the engine (device loop) ------------------------------------------

    def apply(self, conditions: Iterable[Condition]) -> None:
        notified = False
        with self.store.lock:
            for condition in conditions:
                try:
                    notified |= self._apply_one(condition)
                except Exception:  # one bad condition must not stop the others (or acquisition)
                    log.exception("applying condition %s failed", condition.key)
        if notified and self.notifier is not None:
            self.notifier.wake()

    def _apply_one(self, c: Condition) -> bool:
        """True when a notification was queued."""
        current = self._open.get(c.key)
        if c.severity is None:
            return current is not None and self._resolve(current, c.ts, c.value)
        if current is None:
            return self._raise(c)
        rank, old = SEVERITY_RANK[c.severity], SEVERITY_RANK[current.severity]
        changes: dict[str, Any] = {
            "current_value": c.value,
            "last_seen_at": c.ts,
            "forecast_at": c.forecast_at,
            "forecast_earliest": c.forecast_earliest,
            "forecast_latest": c.forecast_latest,
        }
        if rank == old and c.ts - current.updated_at < UPDATE_INTERVAL_S:
            current.current_value, current.last_seen_at = c.value, c.ts  # memory only
            return False
        changes["updated_at"] = c.ts
        if rank != old:
            changes.update(
                severity=c.severity,
                threshold_value=c.threshold,
                detail=c.detail,
                alert_type=c.alert_type,
                alert_code=alert_code(c.alert_type),
                message=c.message,
                recommended_action=c.recommended_action,
            )
            if rank > SEVERITY_RANK[current.peak_severity]:
                changes["peak_severity"] = c.severity
        event = "escalated" if rank > old else None
        return self._write(current.id, changes, event)

    def _raise(self, c: Condition) -> bool:
        assert c.severity is not None
        values = {
            "key": c.key,
            "rule_id": c.rule_id,
            "alert_type": c.alert_type,
            "alert_code": alert_code(c.alert_type),
            "severity": c.severity,
            "peak_severity": c.severity,
            "device_id": c.device_id,
            "sensor_id": c.sensor_id,
            "metric": c.metric,
            "axis": c.axis,
            "unit": c.unit,
            "detail": c.detail,
            "current_value": c.value,
            "threshold_value": c.threshold,
            "status": "new",
            "acknowledged": 0,
            "created_at": c.ts,
            "updated_at": c.ts,
            "last_seen_at": c.ts,
            "forecast_at": c.forecast_at,
            "forecast_earliest": c.forecast_earliest,
            "forecast_latest": c.forecast_latest,
            "message": c.message,
            "recommended_action": c.recommended_action,
        }
        with self.store.transaction() as db:
            alert_id = self.store.insert(db, values)
            row = self.store.fetch(db, alert_id)
            self._enqueue("raised", row)
        self._open[c.key] = row
        self.log_event(
            "alert_raised",
            f"{row.severity} {row.alert_type} on {row.device_id}: {row.detail}",
            sensor_id=row.sensor_id,
            device_id=row.device_id,
            data={"alert_id": row.id, "alert_code": row.alert_code},
        )
        return True

    def _resolve(self, row: AlertRow, ts: float, value: float | None) -> bool:
        changes = {"status": "resolved", "resolved_at": ts, "updated_at": ts, "last_seen_at": ts}
        if value is not None:
            changes["current_value"] = value
        self._write(row.id, changes, "resolved")
        self._open.pop(row.key, None)
        self.log_event(
            "alert_resolved",
            f"{row.alert_type} on {row.device_id} resolved",
            sensor_id=row.sensor_id,
            device_id=row.device_id,
            data={"alert_id": row.id},
        )
        return True

    def _write(self, alert_id: int, changes: dict[str, Any], event: str | None) -> bool:
        with self.store.transaction() as db:
            self.store.update(db, alert_id, changes)
            row = self.store.fetch(db, alert_id)
            if event is not None:
                self._enqueue(event, row)
        if row.status == "resolved":
            self._open.pop(row.key, None)
        else:
            self._open[row.key] = row
        return event is not None

    def _enqueue(self, event: str, row: AlertRow) -> None:
        if self.notifier is not None:
            self.notifier.enqueue(event, self.notification(row))

    def reconcile(self, active_keys: set[str], ts: float) -> None:
        """After a (re)start, once the engine has seen enough data: open alerts whose
        condition the engine no longer reports (cleared while the device was down, or their
        rule was removed) are resolved, so nothing stays open forever."""
        with self.store.lock:
            stale = [row for row in self._open.values() if row.key not in active_keys]
            for row in stale:
                self._resolve(row, ts, None)
        if stale and self.notifier is not None:
            self.notifier.wake()

    def resolve_without_rule(self, rule_ids: set[str], ts: float) -> None:
        """Open alerts of rules no longer in force (deleted or disabled) are resolved now:
        nothing will ever clear them otherwise."""
        with self.store.lock:
            orphans = [row for row in self._open.values() if row.rule_id not in rule_ids]
            for row in orphans:
                self._resolve(row, ts, None)
        if orphans and self.notifier is not None:
            self.notifier.wake()

    def open_keys(self) -> set[str]:
        return set(self._open)

    # -- people (API, fieldbus) ------------------------------------------------------------

    def acknowledge(
        self, alert_id: int, by: str, work_order_id: Any = None, note: str | None = None
    ) -> dict[str, Any]:
        with self.store.lock, self.store.transaction() as db:
            row = self.store.get(alert_id)
            if row is None:
                raise AckError(f"no alert with id {alert_id}")
            if row.acknowledged:
                return self.view(row)  # idempotent: the first acknowledgement stands
            changes: dict[str, Any] = {
                "acknowledged": 1,
                "acknowledged_at": self.utc_now(),
                "acknowledged_by": by,
                "work_order_id": None if work_order_id is None else json.dumps(work_order_id),
                "note": note,
            }
            if row.status == "new":
                changes["status"] = "acknowledged"
            self.store.update(db, alert_id, changes)
            row = self.store.fetch(db, alert_id)
            self._enqueue("acknowledged", row)
            if row.status != "resolved":
                self._open[row.key] = row
        if self.notifier is not None:
            self.notifier.wake()
        self.log_event(
            "alert_acknowledged",
            f"alert {alert_id} acknowledged by {by}"
            + (f", work order {work_order_id}" if work_order_id is not None else ""),
            sensor_id=row.sensor_id,
            device_id=row.device_id,
            data={"alert_id": alert_id, "by": by, "work_order_id": work_order_id},
        )
        return self.view(row)

    def acknowledge_machine(self, machine_id: str, by: str) -> int:
        """Acknowledge every unacknowledged active alert of a machine (a PLC's ack bit)."""
        pending = [
            r.id for r in self.active_rows() if r.device_id == machine_id and not r.acknowledged
        ]
        for alert_id in pending:
            self.acknowledge(alert_id, by)
        return len(pending)

    def set_machine_mode(self, machine_id: str, mode: str, by: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
        if self.catalog.machine(machine_id) is None:
            raise KeyError(machine_id)
        if self.modes.get(machine_id, "running") == mode:
            return
        self.store.set_mode(machine_id, mode, self.utc_now(), by)
        self.modes[machine_id] = mode
        if self.on_mode_change is not None:
            self.on_mode_change(machine_id, mode != "running")
        self.log_event(
            "machine_mode",
            f"{machine_id} marked {mode} by {by}",
            device_id=machine_id,
            data={"mode": mode, "by": by},
        )

    def machine_mode(self, machine_id: str) -> str:
        return self.modes.get(machine_id, "running")

    # -- reading -----------------------------------------------------------------------------

    def active_rows(self) -> list[AlertRow]:
        with self.store.lock:
            return sorted(self._open.values(), key=lambda r: r.id)

    def get(self, alert_id: int) -> dict[str, Any] | None:
        row = self.store.get(alert_id)
        return None if row is None else self.view(row)

    def select(
        self, after: tuple[float, int] | None = None, limit: int | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Alerts by creation time (then id), after the (created_at, id) cursor `after`;
        `filters` as `_filters` takes them."""
        where, params = _filters(**filters)
        if after is not None:
            where.append("(created_at > ? OR (created_at = ? AND id > ?))")
            params += [after[0], after[0], after[1]]
        return [self.view(r) for r in self.store.query(where, params, limit=limit)]

    def count(self, **filters: Any) -> int:
        where, params = _filters(**filters)
        return self.store.count(where, params)

    def view(self, row: AlertRow) -> dict[str, Any]:
        """An alert as the API, the fieldbus and notifications show it."""
        machine = self.catalog.machine(row.device_id)
        sensor = self.catalog.sensor(row.sensor_id) if row.sensor_id else None
        kind = ALERT_TYPE.get(row.alert_type)
        machine_name = machine.name if machine else row.device_id
        sensor_name = sensor.name if sensor else row.sensor_id
        title = kind.title if kind else row.alert_type
        where = f"{machine_name}" + (f" ({sensor_name})" if sensor_name else "")
        message = row.message or f"{title} on {where}" + (f": {row.detail}" if row.detail else "")
        return {
            "id": row.id,
            "device_id": row.device_id,
            "device_name": machine_name,
            "device_type": machine.device_type if machine else None,
            "equipment_id": machine.equipment_id if machine else None,
            "location": machine.location if machine else None,
            "sensor_id": row.sensor_id,
            "sensor_name": sensor_name,
            "metric": row.metric,
            "axis": row.axis,
            "rule_id": row.rule_id,
            "alert_type": row.alert_type,
            "alert_code": row.alert_code,
            "severity": row.severity,
            "peak_severity": row.peak_severity,
            "status": row.status,
            "acknowledged": row.acknowledged,
            "message": message,
            "recommended_action": row.recommended_action
            or (kind.recommended_action if kind else ""),
            "current_value": row.current_value,
            "threshold_value": row.threshold_value,
            "unit": row.unit,
            "created_at": iso_utc(row.created_at),
            "updated_at": iso_utc(row.updated_at),
            "last_seen_at": iso_utc(row.last_seen_at),
            "resolved_at": _iso(row.resolved_at),
            "acknowledged_at": _iso(row.acknowledged_at),
            "acknowledged_by": row.acknowledged_by,
            "work_order_id": row.work_order,
            "note": row.note,
            "forecast_threshold_at": _iso(row.forecast_at),
            "forecast_earliest": _iso(row.forecast_earliest),
            "forecast_latest": _iso(row.forecast_latest),
        }

    def notification(self, row: AlertRow) -> dict[str, Any]:
        """The alert's view plus the machine's latest readings, for templates."""
        data = self.view(row)
        sensors = {s.id: s for s in self.catalog.sensors if s.device_id == row.device_id}
        data["sensor_readings"] = [
            {
                "sensor_id": r.sensor_id,
                "sensor_name": sensors[r.sensor_id].name,
                "metric": r.metric,
                "axis": r.axis,
                "value": r.value,
                "unit": r.unit,
                "timestamp": r.timestamp,
            }
            for r in self.live.latest(device_id=row.device_id)
            if r.sensor_id in sensors and r.metric in READINGS_IN_NOTIFICATIONS
        ]
        return data


# The figures a technician wants to see in a work order, not all 20 of an accelerometer.
READINGS_IN_NOTIFICATIONS = frozenset(
    {
        "vibration_rms",
        "accel_rms",
        "accel_peak",
        "crest_factor",
        "envelope_bpfo",
        "envelope_bpfi",
        "temperature",
        "current_rms",
    }
)


def _filters(
    status: str | None = None,
    acknowledged: bool | None = None,
    severities: Iterable[str] = (),
    device_ids: Iterable[str] = (),
    sensor_ids: Iterable[str] = (),
    alert_types: Iterable[str] = (),
    start: float | None = None,
    end: float | None = None,
) -> tuple[list[str], list[Any]]:
    """SQL conditions of a selection. status: new | active (new or acknowledged) |
    acknowledged (acknowledged and not resolved) | resolved | None (all); [start, end) on
    the creation time."""
    where: list[str] = []
    params: list[Any] = []
    if status == "active":
        where.append("status != 'resolved'")
    elif status is not None:
        where.append("status = ?")
        params.append(status)
    if acknowledged is not None:
        where.append("acknowledged = ?")
        params.append(int(acknowledged))
    for column, values in (
        ("severity", severities),
        ("device_id", device_ids),
        ("sensor_id", sensor_ids),
        ("alert_type", alert_types),
    ):
        values = list(values)
        if values:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params += values
    for clause, value in (
        ("created_at >= ?", start),
        ("created_at < ?", end),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    return where, params


def _iso(ts: float | None) -> str | None:
    return None if ts is None else iso_utc(ts)
