"""The running front ends follow config changes (runtime.fieldbus.frontends): a real Modbus TCP
server on loopback, moved, updated, stopped and refused a taken port; how the config service
sorts fieldbus changes and checks them against the plant."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from test_modbus_map import plant

from runtime.api.config_service import changed_paths, fieldbus_problems, fieldbus_sections, plan
from runtime.config import DeviceConfig, default_config_path, load_config
from runtime.fieldbus.config import ModbusConfig
from runtime.fieldbus.frontends import ModbusFrontEnd, modbus_overrides, profibus_overrides
from runtime.live import LiveState

TIMEOUT_S = 5.0


@dataclass
class Plant:
    """What a front end reads of the device: live state, catalog, event log, clock."""

    live: LiveState = field(default_factory=LiveState)
    catalog: Any = field(default_factory=plant)
    events: list[tuple[str, str]] = field(default_factory=list)

    def log_event(self, kind: str, message: str, **_: Any) -> None:
        self.events.append((kind, message))

    def utc_now(self) -> float:
        return time.time()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def modbus(port: int, **changes: Any) -> ModbusConfig:
    data: dict[str, Any] = {"tcp": {"host": "127.0.0.1", "port": port}, **changes}
    return ModbusConfig.model_validate(data)


async def read_unit(port: int, unit: int) -> bytes:
    """One holding-register read (FC 03, 40001) as a Modbus TCP master sends it: the PDU
    of the answer (function code first)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT_S)
    try:
        writer.write(struct.pack(">HHHBBHH", 1, 0, 6, unit, 3, 0, 1))
        header = await asyncio.wait_for(reader.readexactly(7), TIMEOUT_S)
        length = struct.unpack(">HHHB", header)[2]
        return await asyncio.wait_for(reader.readexactly(length - 1), TIMEOUT_S)
    finally:
        writer.close()


async def _exercise() -> tuple[list[dict[str, Any]], Plant, list[bytes]]:
    device = Plant()
    first, second = free_port(), free_port()
    front = ModbusFrontEnd(modbus(first), ["--modbus-port"])
    answers: list[bytes] = []
    done: list[dict[str, Any]] = []
    await front.start(device, None, None)
    try:
        assert front.status()["tcp"]["bound_port"] == first
        assert front.status()["settings_from"] == "command_line"
        done.append(await front.follow(modbus(second), device, None, None))
        answers.append(await read_unit(second, 1))
        try:
            await read_unit(first, 1)
            raise AssertionError("the old port still answers")
        except OSError:
            pass
        done.append(await front.follow(modbus(second, unit_id=7), device, None, None))
        answers.append(await read_unit(second, 7))
        answers.append(await read_unit(second, 1))  # no longer its unit: exception 0B
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done.append(await front.follow(modbus(port), device, None, None))
            status = front.status()
        assert status["running"] is False and status["error"]
        done.append(await front.follow(modbus(second), device, None, None))
        answers.append(await read_unit(second, 1))
        done.append(await front.follow(modbus(second, enabled=False), device, None, None))
        assert front.status()["running"] is False and front.status()["error"] is None
    finally:
        await front.stop()
    return done, device, answers


def test_a_running_server_moves_updates_stops_and_reports_a_taken_port():
    done, device, answers = asyncio.run(_exercise())
    assert [d["action"] for d in done] == [
        "restarted",
        "updated",
        "failed",
        "started",
        "stopped",
    ]
    assert "in use" in done[2]["error"]
    assert answers[0][0] == 3 and answers[1][0] == 3  # read answered
    assert answers[2][0] == 0x83 and answers[2][1] == 0x0B  # another unit id
    assert answers[3][0] == 3  # back on its port after the failure
    kinds = [kind for kind, _ in device.events]
    assert kinds.count("fieldbus_overrides_replaced") == 1  # the first change only
    assert "modbus_unavailable" in kinds


def test_overrides_are_named_by_their_flags():
    assert modbus_overrides(5020, None, None, "127.0.0.1") == ["--modbus-port", "--modbus-host"]
    assert profibus_overrides(None, 12, None) == ["--profibus-address"]


def test_fieldbus_changes_are_their_own_category():
    config = load_config(default_config_path("sim"))
    data = config.model_dump(mode="json")
    data["modbus"]["tcp"]["port"] = 5021
    data["modbus"]["registers"] = [
        {"address": 0, "sensor": "motor-1-temp", "metric": "temperature"}
    ]
    data["profibus"]["ident_number"] = 0x0ABC
    data["machines"][0]["name"] = "Pump"
    changes = changed_paths(config, DeviceConfig.model_validate(data))
    live, restart, later, fieldbus = plan(changes)
    assert live == ["machines[0].name"] and restart == [] and later == []
    assert sorted(fieldbus) == [
        "modbus.registers",
        "modbus.tcp.port",
        "profibus.ident_number",
    ]
    assert fieldbus_sections(fieldbus) == ["modbus", "profibus"]


def test_entries_and_modules_naming_what_the_plant_lacks_are_problems_by_path():
    data = load_config(default_config_path("sim")).model_dump(mode="json")
    data["modbus"]["registers"] = [{"address": 0, "sensor": "pump-9", "metric": "temperature"}]
    data["profibus"]["modules"] = [{"machine": "motor-1"}, {"machine": "fan-3"}]
    problems = fieldbus_problems(DeviceConfig.model_validate(data), plant())
    assert problems[0].startswith("modbus.registers[0].sensor: no sensor 'pump-9'")
    assert problems[1].startswith("profibus.modules[1].machine: no machine 'fan-3'")
