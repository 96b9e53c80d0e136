"""One device's link from its pipeline to the rule engine and the alert service.

The device calls `on_readings` with every batch it publishes and the scheduler runs
`check_sensors` every second; both run on the device's loop (or in virtual time), so the
engine sees readings in order and needs no lock. A rebuilt device (new config) gets a new
monitor with a fresh engine; the alert service, and the alerts, outlive it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..catalog import Catalog
from ..live import LiveState
from ..readings import Reading
from .builtin import effective_rules
from .engine import AlertEngine
from .service import AlertService

# After a start, open alerts whose condition the engine has not reported by then are
# resolved (the condition cleared while the device was down, or its rule is gone). Longer
# than any debounce a rule may reasonably have, so a persisting condition is seen first.
RECONCILE_AFTER_S = 120.0
SENSOR_CHECK_INTERVAL_S = 1.0


class AlertMonitor:
    def __init__(
        self,
        config: Any,  # runtime.config.DeviceConfig
        catalog: Catalog,
        live: LiveState,
        service: AlertService,
        utc_now: Callable[[], float],
    ) -> None:
        self.engine = AlertEngine(config, catalog, service.store.baselines())
        self.service = service
        self.live = live
        self.utc_now = utc_now
        for device_id, mode in service.modes.items():
            if mode != "running":
                self.engine.set_suppressed(device_id, True)
        service.on_mode_change = self.engine.set_suppressed
        in_force = {rule.id for rule in effective_rules(config) if rule.enabled}
        service.resolve_without_rule(in_force, utc_now())
        self._started_at: float | None = None
        self._reconciled = False

    def on_readings(self, readings: list[Reading]) -> None:
        conditions = self.engine.on_readings(readings)
        if conditions:
            self.service.apply(conditions)

    def check_sensors(self) -> None:
        now = self.utc_now()
        conditions = self.engine.on_sensor_statuses(self.live.sensor_statuses(), now)
        if conditions:
            self.service.apply(conditions)
        if self._reconciled:
            return
        if self._started_at is None:
            self._started_at = now
        elif now - self._started_at >= RECONCILE_AFTER_S:
            self._reconciled = True
            self.service.reconcile({c.key for c in self.engine.active()}, now)
