"""The Modbus register map: config validation, encodings, the default layout, exports."""

from __future__ import annotations

import csv
import io
import json
import math
import struct
from xml.etree import ElementTree

import pytest
from pydantic import ValidationError

from runtime.catalog import Catalog, MachineEntry, SensorEntry
from runtime.config import parse_config
from runtime.fieldbus.config import ModbusConfig, RegisterEntry
from runtime.fieldbus.encoding import Encoding
from runtime.fieldbus.exports import export_map
from runtime.fieldbus.registermap import ModbusMapError, build_register_map


def plant() -> Catalog:
    machines, sensors = [], []
    for n in (1, 2):
        ids = (f"motor-{n}-accel", f"motor-{n}-temp", f"motor-{n}-current")
        machines.append(
            MachineEntry(f"motor-{n}", f"Motor {n}", "", "", "motor", 1480.0, None, 2, "rigid", ids)
        )
        sensors += [
            SensorEntry(
                ids[0],
                f"Motor {n} vibration",
                "accel",
                "iis3dwb",
                f"motor-{n}",
                26667.0,
                ("x", "y", "z"),
                {"vibration_rms": "mm/s", "accel_rms": "m/s²"},
                1.0,
            ),
            SensorEntry(
                ids[1],
                "t",
                "temperature",
                "max31865",
                f"motor-{n}",
                10.0,
                (),
                {"temperature": "°C"},
                1.0,
            ),
            SensorEntry(
                ids[2],
                "c",
                "current",
                "ads131m04",
                f"motor-{n}",
                4000.0,
                (),
                {"current_rms": "A"},
                1.0,
            ),
        ]
    return Catalog(tuple(machines), tuple(sensors))


def test_default_layout_is_the_documented_one():
    regmap = build_register_map(ModbusConfig(), plant())
    layout = [(e.address, e.kind, e.metric, e.encoding.dtype) for e in regmap.entries][:16]
    per_machine = [
        (0, "value", "vibration_rms", "float32"),
        (2, "value", "temperature", "float32"),
        (4, "value", "current_rms", "float32"),
        (6, "status", None, "int16"),
        (7, "alert_code", None, "int16"),
    ]
    assert layout[:5] == per_machine
    assert layout[5:10] == [(a + 8, k, m, t) for a, k, m, t in per_machine]
    assert regmap.entries[0].sensor_id == "motor-1-accel" and regmap.entries[0].axis is None
    assert regmap.entries[5].sensor_id == "motor-2-accel"
    control = [(e.address, e.kind, e.machine_id) for e in regmap.entries if e.writable_kind]
    assert control == [
        (1000, "acknowledge", "motor-1"),
        (1001, "mode", "motor-1"),
        (1002, "acknowledge", "motor-2"),
        (1003, "mode", "motor-2"),
    ]


@pytest.mark.parametrize(
    ("word_order", "byte_order", "expected"),
    [
        ("big", "big", (0x4020, 0x0000)),  # 2.5 = 0x40200000: AB CD
        ("little", "big", (0x0000, 0x4020)),  # CD AB
        ("big", "little", (0x2040, 0x0000)),  # BA DC
        ("little", "little", (0x0000, 0x2040)),  # DC BA
    ],
)
def test_float_word_and_byte_orders(word_order, byte_order, expected):
    encoding = Encoding("float32", 1.0, word_order, byte_order)
    assert encoding.encoder()(2.5) == expected
    assert encoding.decode(expected) == 2.5


@pytest.mark.parametrize(
    ("dtype", "scale", "value", "registers"),
    [
        ("int16", 10.0, -1.25, (0xFFF3,)),  # -12.5 rounds half away from zero: -13
        ("uint16", 100.0, 4.56, (456,)),
        ("int32", 1000.0, -70000.0, struct.unpack(">HH", struct.pack(">i", -70000000))),
        ("uint32", 1.0, 70000.0, (1, 70000 - 65536)),
        ("uint16", 1.0, 1e9, (65535,)),  # saturated
        ("int16", 1.0, -1e9, (0x8000,)),
    ],
)
def test_scaled_integers(dtype, scale, value, registers):
    assert Encoding(dtype, scale).encoder()(value) == registers


def test_stale_values_read_nan_or_the_sentinel():
    nan = Encoding("float32").encoder()(None)
    assert math.isnan(struct.unpack(">f", struct.pack(">HH", *nan))[0])
    assert Encoding("int16").encoder()(None) == (0x8000,)
    assert Encoding("uint32").encoder()(math.nan) == (0xFFFF, 0xFFFF)
    assert Encoding("uint16", sentinel=9999).encoder()(None) == (9999,)


def _refused(data: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        ModbusConfig.model_validate(data)
    return str(caught.value)


def test_overlapping_and_out_of_range_entries_are_refused_with_the_reason():
    message = _refused(
        {
            "registers": [
                {"address": 0, "sensor": "s", "metric": "m"},
                {"address": 1, "sensor": "s", "metric": "m", "type": "int16"},
            ]
        }
    )
    assert "registers[1] (address 1..1) overlaps registers[0] (address 0..1)" in message
    assert "ends past the last register" in _refused(
        {"registers": [{"address": 65535, "sensor": "s", "metric": "m"}]}
    )
    assert "needs machine" in _refused({"registers": [{"address": 0, "kind": "status"}]})
    assert "int16 or uint16" in _refused(
        {"registers": [{"address": 0, "kind": "mode", "machine": "m", "type": "float32"}]}
    )
    assert "does not fit uint16" in _refused(
        {
            "registers": [
                {"address": 0, "sensor": "s", "metric": "m", "type": "uint16", "sentinel": -1}
            ]
        }
    )
    assert "1..247" in _refused({"unit_id": 0})
    assert "not an address or network" in _refused({"tcp": {"allowed_clients": ["nope"]}})


def test_config_errors_are_listed_by_path_in_the_device_config():
    from runtime.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config("[modbus]\nunit_id = 300\n[modbus.tcp]\nport = 0\n")
    problems = caught.value.problems
    assert any(p.startswith("modbus.unit_id") for p in problems)
    assert any(p.startswith("modbus.tcp.port") for p in problems)


def test_entries_are_checked_against_the_plant():
    config = ModbusConfig(
        registers=[
            RegisterEntry(address=0, sensor="motor-9-accel", metric="vibration_rms"),
            RegisterEntry(address=2, sensor="motor-1-temp", metric="vibration_rms"),
            RegisterEntry(address=4, sensor="motor-1-temp", metric="temperature", axis="x"),
            RegisterEntry(address=6, kind="status", machine="pump-7"),
        ]
    )
    with pytest.raises(ModbusMapError) as caught:
        build_register_map(config, plant())
    problems = caught.value.problems
    assert problems[0].startswith("modbus.registers[0].sensor: no sensor 'motor-9-accel'")
    assert problems[1].startswith("modbus.registers[1].metric: motor-1-temp does not measure")
    assert problems[2].startswith("modbus.registers[2].axis: motor-1-temp has no axis 'x'")
    assert problems[3].startswith("modbus.registers[3].machine: no machine 'pump-7'")


def test_a_configured_map_with_any_metric_axis_and_encoding():
    config = ModbusConfig(
        word_order="little",
        registers=[
            RegisterEntry(address=100, sensor="motor-2-accel", metric="accel_rms", axis="z"),
            RegisterEntry(
                address=102, sensor="motor-1-temp", metric="temperature", type="int16", scale=10
            ),
            RegisterEntry(address=103, kind="severity", machine="motor-1"),
            RegisterEntry(
                address=104,
                sensor="motor-1-current",
                metric="current_rms",
                word_order="big",
                name="Feed pump current",
            ),
        ],
    )
    entries = build_register_map(config, plant()).entries
    assert entries[0].parameter == "Motor 2 Accel Rms Z" and entries[0].unit == "m/s²"
    assert entries[0].encoding.word_order == "little"
    assert entries[1].encoding.scale == 10 and entries[1].size == 1
    assert entries[2].kind == "severity"
    assert entries[3].parameter == "Feed pump current" and entries[3].encoding.word_order == "big"


def test_csv_export_has_the_import_columns():
    config = ModbusConfig(writes_enabled=True)
    text = export_map(build_register_map(config, plant()), config, "csv", "Edge1")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["register", "parameter", "type", "registers", "unit", "access"]
    assert rows[0] == {
        "register": "40001",
        "parameter": "Motor 1 Vibration RMS",
        "type": "float32",
        "registers": "2",
        "unit": "mm/s",
        "access": "R",
    }
    assert {r["register"]: r["access"] for r in rows}["41002"] == "RW"  # Motor 1 mode
    assert rows[9]["register"] == "40016"


def test_xml_and_ignition_exports_name_every_register():
    config = ModbusConfig()
    regmap = build_register_map(config, plant())
    root = ElementTree.fromstring(export_map(regmap, config, "xml", "Edge1").encode())
    tags = root.findall("./Tags/Tag")
    assert root.get("wordOrder") == "HighWordFirst"
    assert tags[0].get("register") == "40001" and tags[0].get("dataType") == "float32"
    folder = json.loads(export_map(regmap, config, "ignition", "Edge1"))
    first = folder["tags"][0]
    assert first["opcItemPath"] == "ns=1;s=[Edge1]HRF1" and first["dataType"] == "Float4"
    status = next(t for t in folder["tags"] if t["name"] == "Motor_1_Status")
    assert status["opcItemPath"] == "ns=1;s=[Edge1]HRS7"
    assert len(tags) == len(regmap.entries) + 2 * len(regmap.bits)


def test_markdown_table_is_the_one_in_the_docs():
    """docs/modbus.md shows the default map of the simulated plant as this export writes it."""
    from pathlib import Path

    config = ModbusConfig()
    table = export_map(build_register_map(config, plant()), config, "markdown", "x")
    assert (
        table.splitlines()[2] == "| 40001-40002 | 0 | Motor 1 Vibration RMS | Float32 | mm/s | R |"
    )
    docs = Path(__file__).resolve().parents[2] / "docs" / "modbus.md"
    assert table in docs.read_text(encoding="utf-8")
