"""Where the fieldbus gets each machine's status, alert code and mode, and where its writes go.

The alerts subsystem provides the real `MachineStateSource`; `SensorStatusSource` derives the
status from the sensors' states alone (as runtime/api/health.py does) for a device without
alert rules, and keeps modes in memory.

Threads: `machine_status` and `machine_mode` are called from the fieldbus thread whenever the
register image is refreshed, so they must be safe to call from another thread (read-only and
quick). `acknowledge_machine` and `set_machine_mode` are called on the device's loop when the
service is given `on_device` (as `esocore run` does), otherwise on the caller's loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from ..catalog import Catalog
from ..live import LiveState

STATUS_OK, STATUS_WARNING, STATUS_ALERT, STATUS_FAULT = 0, 1, 2, 3
MODES = ("running", "stopped", "maintenance")  # the mode register's values, in this order


@dataclass(frozen=True)
class MachineStatus:
    status_code: int  # 0 OK, 1 Warning, 2 Alert (alert or critical), 3 sensor fault / no data
    severity_rank: int  # 0 none, 1 info, 2 warning, 3 alert, 4 critical
    alert_code: int  # most severe active alert's code (runtime.alerts.types), 0 when none
    active_alerts: int


NO_DATA = MachineStatus(STATUS_FAULT, 0, 0, 0)


class MachineStateSource(Protocol):
    def machine_status(self, machine_id: str) -> MachineStatus: ...

    def acknowledge_machine(self, machine_id: str, by: str) -> int:
        """Acknowledge the machine's unacknowledged active alerts; how many were."""
        ...

    def set_machine_mode(self, machine_id: str, mode: str, by: str) -> None:
        """mode: "running" | "stopped" | "maintenance"."""
        ...

    def machine_mode(self, machine_id: str) -> str: ...


# A sensor's state -> machine status code: what health.py calls ok / warning / alert, except
# that a sensor that is not delivering is a sensor fault (3) on the fieldbus, not an alert.
SENSOR_STATE_STATUS = {
    "ok": STATUS_OK,
    "starting": STATUS_OK,
    "stale": STATUS_FAULT,
    "offline": STATUS_FAULT,
    "fault": STATUS_FAULT,
}


class SensorStatusSource:
    """Status from sensor states alone (no alerts: alert code 0); modes kept in memory."""

    def __init__(self, live: LiveState, catalog: Catalog) -> None:
        self.live, self.catalog = live, catalog
        self._modes: dict[str, str] = {}
        self._lock = threading.Lock()

    def bind(self, live: LiveState, catalog: Catalog) -> None:
        """Read another device's state (after an in-process restart)."""
        self.live, self.catalog = live, catalog

    def machine_status(self, machine_id: str) -> MachineStatus:
        machine = self.catalog.machine(machine_id)
        if machine is None or not machine.sensor_ids:
            return NO_DATA
        states = {s.sensor_id: s.state for s in self.live.sensor_statuses()}
        codes = [SENSOR_STATE_STATUS.get(states.get(i, "offline"), 3) for i in machine.sensor_ids]
        return MachineStatus(max(codes), 0, 0, 0)

    def acknowledge_machine(self, machine_id: str, by: str) -> int:
        return 0  # no alerts here to acknowledge

    def set_machine_mode(self, machine_id: str, mode: str, by: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self._lock:
            self._modes[machine_id] = mode

    def machine_mode(self, machine_id: str) -> str:
        with self._lock:
            return self._modes.get(machine_id, "running")
