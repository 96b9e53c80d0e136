"""The fieldbus's machine status from the alert service (runtime.alerts): the status and
alert code registers show what /api/v1/alerts/ and /devices/{id}/health show.

    status  2 when an alert or critical alert (other than a sensor fault) is active, so a PLC
            alarm on 2 misses nothing; else 3 when a sensor faulted or stopped delivering (or
            its fault alert is active); else 1 for a warning (lost samples, a FIFO overflow,
            count as one); else 0.
    code    the alert_code of the most severe active alert (the oldest among equals), 0 none.
"""

from __future__ import annotations

from typing import Any

from ..alerts.types import NO_ALERT_CODE, SEVERITY_RANK
from .source import (
    SENSOR_STATE_STATUS,
    STATUS_ALERT,
    STATUS_FAULT,
    STATUS_OK,
    STATUS_WARNING,
    MachineStatus,
)

# Alerts that say a sensor delivers nothing usable: status 3, whatever their severity.
SENSOR_ALERT_TYPES = frozenset({"sensor_fault", "sensor_no_data"})


class AlertStateSource:
    """MachineStateSource over runtime.alerts.service.AlertService (safe from any thread)."""

    def __init__(self, alerts: Any) -> None:
        self.alerts = alerts

    def machine_status(self, machine_id: str) -> MachineStatus:
        alerts = self.alerts
        machine = alerts.catalog.machine(machine_id)
        if machine is None or not machine.sensor_ids:
            return MachineStatus(STATUS_FAULT, 0, NO_ALERT_CODE, 0)
        active = [a for a in alerts.active_rows() if a.device_id == machine_id]
        worst = max(active, key=lambda a: (SEVERITY_RANK[a.severity], -a.id), default=None)
        states = {s.sensor_id: s.state for s in alerts.live.sensor_statuses()}
        sensor_down = any(
            SENSOR_STATE_STATUS.get(states.get(i, "offline"), STATUS_FAULT) == STATUS_FAULT
            for i in machine.sensor_ids
        )
        alarming = [
            a
            for a in active
            if SEVERITY_RANK[a.severity] >= SEVERITY_RANK["alert"]
            and a.alert_type not in SENSOR_ALERT_TYPES
        ]
        if alarming:
            status = STATUS_ALERT
        elif sensor_down or any(a.alert_type in SENSOR_ALERT_TYPES for a in active):
            status = STATUS_FAULT
        elif any(a.severity == "warning" for a in active):
            status = STATUS_WARNING
        else:
            status = STATUS_OK
        return MachineStatus(
            status,
            SEVERITY_RANK[worst.severity] if worst else 0,
            worst.alert_code if worst else NO_ALERT_CODE,
            len(active),
        )

    def acknowledge_machine(self, machine_id: str, by: str) -> int:
        return self.alerts.acknowledge_machine(machine_id, by)

    def set_machine_mode(self, machine_id: str, mode: str, by: str) -> None:
        self.alerts.set_machine_mode(machine_id, mode, by)

    def machine_mode(self, machine_id: str) -> str:
        return self.alerts.machine_mode(machine_id)
