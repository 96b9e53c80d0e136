"""Assembling a running device from config, board, clock and data directory.

Shared by `esocore run` (real time) and `esocore sim` (virtual time), so both run exactly the
same device; only the clock differs.

Which config: `--config FILE` if given; else `DATA_DIR/device.toml` if it exists (the REST API
writes it there on the first change of a device running the shipped config); else the config
shipped for the board.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from board import Board, BoardError, load_board, open_board
from drivers.hal import Clock

from .alerts.engine import rule_problems
from .alerts.monitor import SENSOR_CHECK_INTERVAL_S, AlertMonitor
from .alerts.service import AlertService
from .alerts.store import AlertStore
from .config import DeviceConfig, default_config_path, load_config
from .device import HOUSEKEEPING_PRIORITY, BindingError, Device
from .errors import UsageError
from .fault_option import FaultSpec
from .fieldbus.profibus.config import address_problems
from .fieldbus.registermap import ModbusMapError, build_register_map
from .notify.notifier import Notifier

log = logging.getLogger("esocore")

DEVICE_CONFIG_FILE = "device.toml"  # in the data directory: the device's own config
ALERTS_TASK = "alerts:sensors"


def check_rules(config: DeviceConfig, device: Device) -> None:
    """The alert rules and the Modbus register map must fit what the device measures (every
    problem by path)."""
    problems = rule_problems(config, device.catalog)
    try:
        build_register_map(config.modbus, device.catalog)
    except ModbusMapError as exc:
        problems += exc.problems
    if problems:
        raise BindingError(problems)


def check_board_features(config: DeviceConfig, hardware: Board) -> None:
    """Settings that need something of the board besides its sensors (a PROFIBUS address
    read from the board's address switch), by config path."""
    has_switch = hardware.address_switch is not None
    problems = address_problems(config.profibus, has_switch, hardware.spec.name)
    if problems:
        raise BindingError(problems)


@dataclass(frozen=True)
class ConfigSource:
    """Where the running config came from, and where a changed config is written."""

    path: Path  # the file read
    target: Path  # the file a change is written to (the same, except for a shipped config)
    shipped: bool = False  # path is the config shipped for the board (read-only)


@dataclass
class Session:
    config: DeviceConfig
    hardware: Board
    device: Device
    store: object  # runtime.store.Store
    clock: Clock | None = None
    to_utc: Callable[[float], float] | None = None
    source: ConfigSource | None = None
    alerts: AlertService | None = None  # outlives devices rebuilt by a restart
    monitor: AlertMonitor | None = None  # the running device's link to the rules
    notifier: Notifier | None = None  # webhooks and email from the alerts' outbox

    def close(self) -> None:
        try:
            self.device.stop()
            self.hardware.close()
        finally:
            try:
                if self.notifier is not None:
                    self.notifier.stop()
                if self.alerts is not None:
                    self.alerts.store.close()
            finally:
                self.store.close()  # type: ignore[attr-defined]

    def trial(self, config: DeviceConfig) -> Device:
        """A device built for `config` on this board and clock but never started, writing
        nowhere: raises BindingError (every problem by path, alert rules included) or
        ValueError if the config does not fit the board. Its catalog is what the config would
        show."""
        assert self.clock is not None and self.to_utc is not None
        device = Device(config, self.hardware.chips, self.clock, _NoStore(), self.to_utc)
        check_rules(config, device)
        check_board_features(config, self.hardware)
        return device

    def attach_alerts(self, device: Device) -> None:
        """Judge `device`'s readings by the config's rules from now on (a fresh engine)."""
        if self.alerts is None:
            return
        monitor = AlertMonitor(
            self.config, device.catalog, device.live, self.alerts, device.utc_now
        )
        device.reading_observers[:] = [monitor.on_readings]
        device.scheduler.remove(ALERTS_TASK)
        device.scheduler.add(
            ALERTS_TASK,
            SENSOR_CHECK_INTERVAL_S,
            monitor.check_sensors,
            priority=HOUSEKEEPING_PRIORITY,
        )
        self.alerts.bind(device.catalog, device.live, device.log_event)
        self.monitor = monitor

    def adopt(self, config: DeviceConfig, trial: Device) -> None:
        """Take on a config that differs from the running one only in names and descriptions
        (machines' name, equipment_id, location and type; sensors' names; device name and
        time zone, retention, API limits): no stage changes, so no sample is lost."""
        rules_changed = config.alerts != self.config.alerts
        if self.notifier is not None and config.notifications != self.config.notifications:
            self.notifier.reconfigure(config.notifications)
        self.config = config
        self.device.config = config
        self.device.catalog = trial.catalog
        self.store.retention = retention_policy(config)  # type: ignore[attr-defined]
        if rules_changed:
            self.attach_alerts(self.device)
        elif self.alerts is not None:
            self.alerts.bind(self.device.catalog, self.device.live, self.device.log_event)

    def replace_device(self, config: DeviceConfig) -> Device:
        """Stop the device's chips and build a new device for `config` on the same board,
        store and clock (an in-process restart; the caller starts it). Latest readings and
        spectra of sensors the new device still has are carried over, so readers see no gap.
        If building fails, the old device is left stopped and the error raised."""
        assert self.clock is not None and self.to_utc is not None
        old = self.device
        old.stop()
        store: Any = self.store
        device = Device(config, self.hardware.chips, self.clock, store, self.to_utc)
        _carry_over(old, device)
        self.store.retention = retention_policy(config)  # type: ignore[attr-defined]
        self.device = device
        self.config = config
        self.attach_alerts(device)
        return device


def _carry_over(old: Device, new: Device) -> None:
    """The latest readings and spectra of `old` that `new` would produce too (same sensor on
    the same machine, same metric), so the live state does not go blank for a moment."""
    sensors = {s.id: s for s in new.catalog.sensors}
    new.live.publish(
        [
            r
            for r in old.live.latest(axis="all")
            if r.sensor_id in sensors
            and sensors[r.sensor_id].device_id == r.device_id
            and r.metric in sensors[r.sensor_id].metrics
        ]
    )
    for snapshot in list(old.live.spectra.values()):
        if snapshot.sensor_id in sensors:
            new.live.publish_spectrum(snapshot)


class _NoStore:
    """Where a trial device would write: nowhere."""

    def add_readings(self, readings: Any) -> None:
        pass

    def add_spectrum(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def apply_retention(self, now: float) -> None:
        pass


def resolve_config_source(
    config_path: str | None, board: str | None, data_dir: str | Path | None = None
) -> ConfigSource:
    """--config FILE, else DATA_DIR/device.toml if it exists, else the board's shipped config
    (a change to which is written to DATA_DIR/device.toml)."""
    if config_path:
        return ConfigSource(Path(config_path), Path(config_path))
    own = Path(data_dir) / DEVICE_CONFIG_FILE if data_dir is not None else None
    if own is not None and own.exists():
        return ConfigSource(own, own)
    shipped = default_config_path(board or "sim")
    if not shipped.exists():
        raise UsageError(f"no default config for board {board!r}: give --config FILE")
    return ConfigSource(shipped, own or Path(DEVICE_CONFIG_FILE), shipped=True)


def resolve_config(
    config_path: str | None, board: str | None, data_dir: str | Path | None = None
) -> DeviceConfig:
    return load_config(resolve_config_source(config_path, board, data_dir).path)


def retention_policy(config: DeviceConfig) -> Any:
    from .store import RetentionPolicy

    retention = config.store.retention
    return RetentionPolicy(
        raw_days=retention.raw_days,
        rollup_1m_days=retention.rollup_1m_days,
        rollup_1h_days=retention.rollup_1h_days,
        spectra_days=retention.spectra_days,
        events_days=retention.events_days,
        max_size_mb=retention.max_size_mb,
    )


def open_session(
    config_path: str | None,
    board: str | None,
    data_dir: str,
    clock: Clock,
    to_utc: Callable[[float], float],
    seed: int = 0,
    faults: list[FaultSpec] | None = None,
    start: bool = True,
) -> Session:
    """Everything assembled and, with `start`, the chips brought up. A caller that has more
    to set up first (the HTTP server) passes start=False and calls device.start() last, so
    no FIFO fills up meanwhile."""
    from .store import Store, StoreError

    source = resolve_config_source(config_path, board, data_dir)
    config = load_config(source.path)
    board_name = board or config.device.board
    try:
        hardware = open_board(load_board(board_name), clock, seed)
    except BoardError as exc:
        raise UsageError(str(exc)) from None
    try:
        store = Store(
            data_dir,
            flush_interval=config.store.flush_interval_s,
            retention=retention_policy(config),
        )
    except StoreError as exc:
        hardware.close()
        raise UsageError(str(exc)) from None
    try:
        device = Device(config, hardware.chips, clock, store, to_utc)
        check_rules(config, device)
        check_board_features(config, hardware)
        _schedule_faults(hardware, faults or [], clock.now())
    except (BindingError, UsageError) as exc:
        store.close()
        hardware.close()
        raise UsageError(str(exc)) from None
    alert_store = AlertStore(data_dir)
    notifier = Notifier(
        alert_store.db,
        alert_store.lock,
        config.notifications,
        {"name": config.device.name, "board": board_name},
        device.log_event,
    )
    alerts = AlertService(
        alert_store, device.catalog, device.live, device.utc_now, device.log_event, notifier
    )
    session = Session(config, hardware, device, store, clock, to_utc, source, alerts)
    session.notifier = notifier
    session.attach_alerts(device)
    if start:
        device.start()
    device.log_event(
        "boot",
        f"{config.device.name} started on board {board_name!r} with {len(config.machines)} "
        f"machines",
        data={"board": board_name, "data_dir": str(data_dir), "config": str(source.path)},
    )
    return session


def _schedule_faults(hardware: Board, faults: list[FaultSpec], start: float) -> None:
    if not faults:
        return
    if hardware.plant is None:
        raise UsageError("--fault works only on a simulated board")
    for spec in faults:
        try:
            fault_id = hardware.plant.inject_fault(
                spec.machine_id,
                spec.kind,
                spec.severity,
                ramp_s=spec.ramp_s,
                at=start + spec.offset_s,
            )
            if spec.end_s is not None:
                hardware.plant.clear_fault(fault_id, at=start + spec.end_s)
        except (KeyError, ValueError) as exc:
            raise UsageError(f"--fault {spec.machine_id}:{spec.kind}: {exc}") from None
