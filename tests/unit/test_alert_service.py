"""The alert lifecycle: raise once, update, escalate, resolve, acknowledge, persist."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from runtime.alerts.service import UPDATE_INTERVAL_S, AckError, AlertService
from runtime.alerts.store import AlertStore
from runtime.alerts.types import Condition
from runtime.catalog import Catalog, MachineEntry, SensorEntry
from runtime.live import LiveState
from runtime.readings import Reading

T0 = 1_780_000_000.0

CATALOG = Catalog(
    machines=(
        MachineEntry(
            id="motor-1",
            name="Motor 1",
            equipment_id="PUMP-101-M",
            location="Pump house",
            device_type="pump_motor",
            running_speed_rpm=1480,
            bearing="6205",
            iso_group=2,
            foundation="rigid",
            sensor_ids=("motor-1-accel",),
        ),
    ),
    sensors=(
        SensorEntry(
            id="motor-1-accel",
            name="Motor 1 vibration (DE)",
            kind="accel",
            chip="iis3dwb",
            device_id="motor-1",
            sample_rate_hz=26667.0,
            axes=("x", "y", "z"),
            metrics={"vibration_rms": "mm/s", "envelope_bpfo": "m/s²"},
            update_interval_s=1.0,
        ),
    ),
)


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.wakes = 0

    def enqueue(self, event: str, alert: dict[str, Any]) -> list[str]:
        self.events.append((event, alert))
        return [f"d{len(self.events)}"]

    def wake(self) -> None:
        self.wakes += 1


def condition(severity: str | None, ts: float, value: float = 7.0, **kw: Any) -> Condition:
    base = Condition(
        key="builtin-iso-motor-1|motor-1-accel|vibration_rms|",
        rule_id="builtin-iso-motor-1",
        alert_type="iso_zone_d" if severity in ("alert", "critical") else "iso_zone_c",
        severity=severity,  # type: ignore[arg-type]
        device_id="motor-1",
        sensor_id="motor-1-accel",
        metric="vibration_rms",
        axis=None,
        value=value,
        threshold=4.5,
        unit="mm/s",
        ts=ts,
        detail=f"vibration_rms {value} mm/s",
    )
    return replace(base, **kw)


@pytest.fixture
def service(tmp_path):
    live = LiveState()
    live.publish([Reading("motor-1", "motor-1-accel", "vibration_rms", None, 7.0, "mm/s", T0)])
    notifier = RecordingNotifier()
    store = AlertStore(tmp_path)
    events: list[str] = []
    svc = AlertService(
        store, CATALOG, live, lambda: T0 + 100, lambda kind, *a, **k: events.append(kind), notifier
    )
    yield svc
    store.close()


def test_a_persisting_condition_is_one_alert_updated_not_repeated(service):
    service.apply([condition("warning", T0)])
    for i in range(1, 30):
        service.apply([condition("warning", T0 + i, value=6.0 + i / 100)])
    active = service.select(status="active")
    assert len(active) == 1
    assert [e for e, _ in service.notifier.events] == ["raised"]
    alert = active[0]
    assert alert["status"] == "new" and alert["acknowledged"] is False
    assert alert["severity"] == "warning" and alert["alert_code"] == 101
    assert alert["device_name"] == "Motor 1" and alert["equipment_id"] == "PUMP-101-M"
    assert alert["sensor_name"] == "Motor 1 vibration (DE)"
    assert "Motor 1" in alert["message"] and alert["recommended_action"]
    # the stored value follows at most every UPDATE_INTERVAL_S of reading time
    assert alert["updated_at"] >= _iso(T0 + 29 - UPDATE_INTERVAL_S)


def test_worsening_escalates_the_same_alert_and_notifies(service):
    service.apply([condition("warning", T0)])
    service.apply([condition("alert", T0 + 5, value=12.0, threshold=11.2)])
    service.apply([condition("warning", T0 + 9, value=8.0)])  # eases: no notification
    (alert,) = service.select(status="active")
    assert alert["severity"] == "warning" and alert["peak_severity"] == "alert"
    assert [e for e, _ in service.notifier.events] == ["raised", "escalated"]
    assert service.notifier.events[1][1]["alert_code"] == 102


def test_cleared_condition_resolves_and_a_new_one_is_a_new_alert(service):
    service.apply([condition("warning", T0)])
    service.apply([condition(None, T0 + 60, value=2.0)])
    assert service.select(status="active") == []
    (resolved,) = service.select(status="resolved")
    assert resolved["acknowledged"] is False and resolved["resolved_at"] == _iso(T0 + 60)
    service.apply([condition("warning", T0 + 120)])
    ids = [a["id"] for a in service.select()]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert [e for e, _ in service.notifier.events] == ["raised", "resolved", "raised"]


def test_acknowledge_records_work_order_as_given_and_is_idempotent(service):
    service.apply([condition("alert", T0)])
    (alert,) = service.select(status="new")
    acked = service.acknowledge(alert["id"], "key:abc", 4711, "pump shop notified")
    assert acked["status"] == "acknowledged" and acked["acknowledged"] is True
    assert acked["work_order_id"] == 4711 and acked["acknowledged_by"] == "key:abc"
    again = service.acknowledge(alert["id"], "key:other", "WO-9")
    assert again["work_order_id"] == 4711 and again["acknowledged_by"] == "key:abc"
    assert service.select(status="new") == []
    assert [a["id"] for a in service.select(status="active")] == [alert["id"]]
    assert [a["id"] for a in service.select(status="acknowledged")] == [alert["id"]]
    assert [e for e, _ in service.notifier.events] == ["raised", "acknowledged"]
    with pytest.raises(AckError):
        service.acknowledge(999, "key:abc")


def test_string_work_order_stays_a_string(service):
    service.apply([condition("alert", T0)])
    (alert,) = service.select()
    assert service.acknowledge(alert["id"], "key:a", "000123")["work_order_id"] == "000123"


def test_open_alerts_survive_a_restart_and_unseen_ones_are_reconciled(tmp_path, service):
    service.apply([condition("alert", T0)])
    other = condition("warning", T0, key="r2|motor-1-accel|envelope_bpfo|", rule_id="r2")
    service.apply([other])
    service.store.close()
    reopened = AlertService(
        AlertStore(tmp_path), CATALOG, service.live, lambda: T0, lambda *a, **k: None
    )
    assert len(reopened.select(status="active")) == 2
    reopened.apply([condition("alert", T0 + 200)])  # same key: still one alert
    assert len(reopened.select(status="active")) == 2
    reopened.reconcile({condition("alert", T0).key}, T0 + 300)
    (left,) = reopened.select(status="active")
    assert left["rule_id"] == "builtin-iso-motor-1"
    reopened.store.close()
    service.store = AlertStore(tmp_path)  # the fixture closes it


def test_machine_mode_is_validated_persisted_and_reported(tmp_path, service):
    seen: list[tuple[str, bool]] = []
    service.on_mode_change = lambda device, suppressed: seen.append((device, suppressed))
    service.set_machine_mode("motor-1", "maintenance", "key:a")
    service.set_machine_mode("motor-1", "maintenance", "key:a")  # no change, no call
    assert seen == [("motor-1", True)]
    with pytest.raises(ValueError, match="mode"):
        service.set_machine_mode("motor-1", "broken", "key:a")
    with pytest.raises(KeyError):
        service.set_machine_mode("motor-9", "running", "key:a")
    again = AlertService(
        AlertStore(tmp_path), CATALOG, service.live, lambda: T0, lambda *a, **k: None
    )
    assert again.machine_mode("motor-1") == "maintenance"
    again.store.close()


def test_acknowledge_machine_acks_only_that_machines_waiting_alerts(service):
    service.apply([condition("alert", T0)])
    assert service.acknowledge_machine("motor-1", "modbus") == 1
    assert service.acknowledge_machine("motor-1", "modbus") == 0


def test_notification_carries_the_machines_latest_readings(service):
    service.apply([condition("alert", T0)])
    _, alert = service.notifier.events[0]
    assert alert["sensor_readings"] == [
        {
            "sensor_id": "motor-1-accel",
            "sensor_name": "Motor 1 vibration (DE)",
            "metric": "vibration_rms",
            "axis": None,
            "value": 7.0,
            "unit": "mm/s",
            "timestamp": _iso(T0),
        }
    ]


def test_filters(service):
    service.apply([condition("alert", T0)])
    assert service.select(severities=["critical"]) == []
    assert len(service.select(severities=["alert"], device_ids=["motor-1"])) == 1
    assert service.select(start=T0 + 1) == []
    assert len(service.select(start=T0)) == 1
    assert service.select(acknowledged=True) == []
    assert service.count(status="active") == 1


def _iso(ts: float) -> str:
    from runtime.readings import iso_utc

    return iso_utc(ts)
