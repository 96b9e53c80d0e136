"""Binding a config to a board: what the device builds for each sensor, and what it refuses."""

import pytest

from board import load_board, open_board
from drivers.clock import VirtualClock
from runtime.config import default_config_path, load_config, parse_config
from runtime.device import BindingError, Device
from runtime.pipeline.slow import LevelStage, RmsStage
from runtime.pipeline.vibration import VibrationStage


class NullStore:
    def add_readings(self, readings):
        pass

    def add_spectrum(self, *args, **kwargs):
        pass

    def log_event(self, *args, **kwargs):
        pass

    def apply_retention(self, now):
        pass


def build(board_name: str, config):
    clock = VirtualClock()
    board = open_board(load_board(board_name), clock)  # drivers are created, not started
    try:
        return Device(config, board.chips, clock, NullStore(), lambda t: t)
    finally:
        board.close()


def test_rpi4_config_builds_the_right_stage_for_each_input():
    device = build("rpi4", load_config(default_config_path("rpi4")))
    stages = {task.sensor_id: task.stage for task in device.analyses}
    assert isinstance(stages["accel-0"], VibrationStage)
    assert isinstance(stages["current-0"], RmsStage) and stages["current-0"].metric == "current_rms"
    assert isinstance(stages["loop-0"], LevelStage) and stages["loop-0"].metric == "loop_current"
    assert stages["loop-0"].unit == "mA"
    assert isinstance(stages["temp-0"], LevelStage) and stages["temp-0"].unit == "°C"
    names = {t.name for t in device.scheduler.tasks}
    assert {"acquire:accel-0", "analyse:accel-0", "store:retention"} <= names


def test_sensors_missing_from_the_board_and_wrong_axes_are_listed():
    config = parse_config(
        """
[[machines]]
id = "m-1"
name = "M1"
  [[machines.sensors]]
  sensor = "accel-9"
  [[machines.sensors]]
  sensor = "accel-0"
  mounting = { q = "axial" }
"""
    )
    with pytest.raises(BindingError) as info:
        build("rpi4", config)
    assert info.value.problems == [
        "machines[0].sensors[0].sensor: no sensor 'accel-9' on this board "
        "(it has accel-0, current-0, loop-0, temp-0)",
        "machines[0].sensors[1].mounting.q: sensor 'accel-0' has no axis 'q' (it has x, y, z)",
    ]


def test_board_sensors_not_in_the_config_are_left_alone():
    config = parse_config(
        '[[machines]]\nid = "m-1"\nname = "M1"\n  [[machines.sensors]]\n  sensor = "temp-0"\n'
    )
    device = build("rpi4", config)
    assert [task.sensor_id for task in device.analyses] == ["temp-0"]
    assert [unit.name for unit in device.units] == ["temp-0"]


def test_catalog_lists_machines_and_sensors_in_config_order_with_their_metrics():
    device = build("sim", load_config(default_config_path("sim")))
    catalog = device.catalog
    assert [m.id for m in catalog.machines] == ["motor-1", "motor-2"]
    assert catalog.machine_by_equipment_id("FAN-201-M").id == "motor-2"
    assert [s.id for s in catalog.sensors] == [
        "motor-1-accel",
        "motor-1-temp",
        "motor-1-current",
        "motor-2-accel",
        "motor-2-temp",
        "motor-2-current",
    ]
    accel = catalog.sensor("motor-1-accel")
    assert accel.axes == ("x", "y", "z") and accel.sample_rate_hz == pytest.approx(26667, rel=1e-3)
    assert accel.metrics["vibration_rms"] == "mm/s"
    assert accel.metrics["envelope_bpfo"] == "m/s²"
    assert catalog.sensor("motor-2-current").metrics == {"current_rms": "A"}
    assert catalog.machine("motor-1").sensor_ids == (
        "motor-1-accel",
        "motor-1-temp",
        "motor-1-current",
    )
