"""Assembling a running device from config, board, clock and data directory.

Shared by `esocore run` (real time) and `esocore sim` (virtual time), so both run exactly the
same device; only the clock differs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from board import Board, BoardError, load_board, open_board
from drivers.hal import Clock

from .config import DeviceConfig, default_config_path, load_config
from .device import BindingError, Device
from .errors import UsageError
from .fault_option import FaultSpec

log = logging.getLogger("esocore")


@dataclass
class Session:
    config: DeviceConfig
    hardware: Board
    device: Device
    store: object  # runtime.store.Store

    def close(self) -> None:
        try:
            self.device.stop()
            self.hardware.close()
        finally:
            self.store.close()  # type: ignore[attr-defined]


def resolve_config(config_path: str | None, board: str | None) -> DeviceConfig:
    path = Path(config_path) if config_path else default_config_path(board or "sim")
    if not config_path and not path.exists():
        raise UsageError(f"no default config for board {board!r}: give --config FILE")
    return load_config(path)


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
    from .store import RetentionPolicy, Store, StoreError

    config = resolve_config(config_path, board)
    board_name = board or config.device.board
    try:
        hardware = open_board(load_board(board_name), clock, seed)
    except BoardError as exc:
        raise UsageError(str(exc)) from None
    retention = config.store.retention
    try:
        store = Store(
            data_dir,
            flush_interval=config.store.flush_interval_s,
            retention=RetentionPolicy(
                raw_days=retention.raw_days,
                rollup_1m_days=retention.rollup_1m_days,
                rollup_1h_days=retention.rollup_1h_days,
                spectra_days=retention.spectra_days,
                events_days=retention.events_days,
                max_size_mb=retention.max_size_mb,
            ),
        )
    except StoreError as exc:
        hardware.close()
        raise UsageError(str(exc)) from None
    try:
        device = Device(config, hardware.chips, clock, store, to_utc)
        _schedule_faults(hardware, faults or [], clock.now())
    except (BindingError, UsageError) as exc:
        store.close()
        hardware.close()
        raise UsageError(str(exc)) from None
    if start:
        device.start()
    device.log_event(
        "boot",
        f"{config.device.name} started on board {board_name!r} with {len(config.machines)} "
        f"machines",
        data={"board": board_name, "data_dir": str(data_dir)},
    )
    return Session(config, hardware, device, store)


def _schedule_faults(hardware: Board, faults: list[FaultSpec], start: float) -> None:
    if not faults:
        return
    if hardware.plant is None:
        raise UsageError("--fault works only on a simulated board")
    for spec in faults:
        try:
            hardware.plant.inject_fault(
                spec.machine_id,
                spec.kind,
                spec.severity,
                ramp_s=spec.ramp_s,
                at=start + spec.offset_s,
            )
        except (KeyError, ValueError) as exc:
            raise UsageError(f"--fault {spec.machine_id}:{spec.kind}: {exc}") from None
