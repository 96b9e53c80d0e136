"""The register map as files SCADA tools import: CSV (Rockwell-style), XML (WinCC-style tag
list), Ignition tag JSON, and the Markdown table of docs/modbus.md.

Register numbers use the 1-based Modicon convention: holding register 40001 is PDU address
0 (6 digits, 400001 on, past 49999); input registers (3xxxx) mirror the holding registers;
coils (0xxxx) and discrete inputs (1xxxx) carry the alarm bits.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from xml.etree import ElementTree

from .config import ModbusConfig
from .registermap import AlarmBit, MappedValue, RegisterMap

FORMATS = ("csv", "xml", "ignition", "markdown", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xml": "application/xml",
    "ignition": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "json": "application/json",
}
IGNITION_TYPES = {
    "float32": ("HRF", "Float4"),
    "int16": ("HRS", "Int2"),
    "uint16": ("HRUS", "Int4"),
    "int32": ("HRI", "Int4"),
    "uint32": ("HRUI", "Int8"),
}


def register_number(table: int, address: int) -> str:
    """Modicon number: table 4 (holding), 3 (input), 1 (discrete input), 0 (coil)."""
    if address < 9999:
        return f"{table}{address + 1:04d}"
    return f"{table}{address + 1:05d}"


def access(entry: MappedValue, config: ModbusConfig) -> str:
    return "RW" if entry.writable_kind and config.writes_enabled else "R"


def rows(regmap: RegisterMap, config: ModbusConfig) -> list[dict[str, Any]]:
    """One row per register entry, then one per alarm bit (as coil and discrete input)."""
    out: list[dict[str, Any]] = [
        {
            "register": register_number(4, e.address),
            "address": e.address,
            "parameter": e.parameter,
            "type": e.encoding.dtype,
            "registers": e.size,
            "unit": e.unit,
            "access": access(e, config),
            "scale": e.encoding.scale,
            "word_order": e.encoding.word_order,
            "byte_order": e.encoding.byte_order,
            "machine": e.machine_id,
            "sensor": e.sensor_id,
            "metric": e.metric,
            "axis": e.axis,
            "kind": e.kind,
            "tag": e.tag,
        }
        for e in regmap.entries
    ]
    for table, what in ((1, "discrete input"), (0, "coil")):
        out += [_bit_row(b, table, what) for b in regmap.bits]
    return out


def _bit_row(bit: AlarmBit, table: int, what: str) -> dict[str, Any]:
    return {
        "register": register_number(table, bit.address),
        "address": bit.address,
        "parameter": bit.parameter,
        "type": "bool",
        "registers": 1,
        "unit": f"{what}: 1 while the status is {bit.level}",
        "access": "R",
        "machine": bit.machine_id,
        "kind": "alarm_bit",
        "tag": (bit.parameter.replace(" ", "_") + ("_DI" if table == 1 else "_Coil")),
    }


def export_map(regmap: RegisterMap, config: ModbusConfig, fmt: str, device: str) -> str:
    if fmt == "csv":
        return _csv(regmap, config)
    if fmt == "xml":
        return _xml(regmap, config, device)
    if fmt == "ignition":
        return _ignition(regmap, config, device)
    if fmt == "markdown":
        return markdown(regmap, config)
    if fmt == "json":
        return json.dumps(rows(regmap, config), ensure_ascii=False, indent=1) + "\n"
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def _csv(regmap: RegisterMap, config: ModbusConfig) -> str:
    out = io.StringIO()
    fields = ("register", "parameter", "type", "registers", "unit", "access")
    writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows(regmap, config))
    return out.getvalue()


def _xml(regmap: RegisterMap, config: ModbusConfig, device: str) -> str:
    root = ElementTree.Element(
        "ModbusDevice",
        {
            "name": device,
            "unitId": str(config.unit_id),
            "wordOrder": "HighWordFirst" if config.word_order == "big" else "LowWordFirst",
            "byteOrder": "HighByteFirst" if config.byte_order == "big" else "LowByteFirst",
        },
    )
    tags = ElementTree.SubElement(root, "Tags")
    for row in rows(regmap, config):
        attributes = {
            "name": row["tag"],
            "register": row["register"],
            "address": str(row["address"]),
            "dataType": row["type"],
            "registers": str(row["registers"]),
            "access": row["access"],
            "unit": row["unit"],
            "description": row["parameter"],
        }
        if row["kind"] != "alarm_bit":
            attributes["scale"] = repr(float(row["scale"]))
            attributes["wordOrder"] = row["word_order"]
            attributes["byteOrder"] = row["byte_order"]
        ElementTree.SubElement(tags, "Tag", attributes)
    ElementTree.indent(root)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode")
        + "\n"
    )


def _ignition(regmap: RegisterMap, config: ModbusConfig, device: str) -> str:
    """Tags for Ignition's Modbus TCP driver ([device]HRF1 = float at holding register 1,
    1-based addressing, the driver's default); import with Tag Browser > Import Tags."""
    tags: list[dict[str, Any]] = []
    for entry in regmap.entries:
        prefix, data_type = IGNITION_TYPES[entry.encoding.dtype]
        tag: dict[str, Any] = {
            "name": entry.tag,
            "tagType": "AtomicTag",
            "valueSource": "opc",
            "opcServer": "Ignition OPC UA Server",
            "opcItemPath": f"ns=1;s=[{device}]{prefix}{entry.address + 1}",
            "dataType": data_type,
            "documentation": entry.parameter,
        }
        if entry.unit and entry.kind == "value":
            tag["engUnit"] = entry.unit
        if entry.encoding.scale != 1.0:
            tag.update(
                scaleMode="Linear",
                rawLow=0.0,
                rawHigh=entry.encoding.scale,
                scaledLow=0.0,
                scaledHigh=1.0,
            )
        if entry.kind == "value" and entry.encoding.dtype == "float32":
            tag["dataType"] = "Float4"
        tags.append(tag)
    for bit in regmap.bits:
        tags.append(
            {
                "name": bit.parameter.replace(" ", "_"),
                "tagType": "AtomicTag",
                "valueSource": "opc",
                "opcServer": "Ignition OPC UA Server",
                "opcItemPath": f"ns=1;s=[{device}]DI{bit.address + 1}",
                "dataType": "Boolean",
                "documentation": f"1 while the status is {bit.level}",
            }
        )
    folder = {
        "name": device,
        "tagType": "Folder",
        "tags": tags,
        "documentation": (
            f"EsoCore Edge Modbus map: unit id {config.unit_id}, word order "
            f"{'high word first' if config.word_order == 'big' else 'low word first (swap words)'}"
        ),
    }
    return json.dumps(folder, ensure_ascii=False, indent=2) + "\n"


def _register_range(row: dict[str, Any]) -> str:
    if row["registers"] == 1:
        return row["register"]
    last = register_number(4, row["address"] + row["registers"] - 1)
    return f"{row['register']}-{last}"


def markdown(regmap: RegisterMap, config: ModbusConfig) -> str:
    """The table docs/modbus.md shows: registers first, then the alarm bits."""
    lines = [
        "| Register | Address | Parameter | Type | Unit | Access |",
        "|---|---|---|---|---|---|",
    ]
    names = {"float32": "Float32", "int16": "Int16", "uint16": "UInt16"}
    names.update(int32="Int32", uint32="UInt32", bool="Bool")
    for row in rows(regmap, config):
        register = _register_range(row) if row["kind"] != "alarm_bit" else row["register"]
        unit = str(row["unit"]).replace("|", "/")
        lines.append(
            f"| {register} | {row['address']} | {row['parameter']} | "
            f"{names[row['type']]} | {unit} | {row['access']} |"
        )
    return "\n".join(lines) + "\n"
