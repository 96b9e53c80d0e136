"""The PDU layer: one request PDU (function code + data) in, one response PDU out.

Requests are decoded and responses encoded with pymodbus's PDU classes; which functions are
served, the length checks and the exception codes are ours, as the Modbus application
protocol specifies them: an unsupported function gets 01, an address outside the map 02, a
quantity out of range or a malformed request 03, and a refused write 04. Nothing here closes a
connection: every request gets an answer (a broadcast gets none, by the standard).
"""

from __future__ import annotations

import struct
from collections.abc import Coroutine
from typing import Any

from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    ReadDiscreteInputsResponse,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)

from .datamodel import ILLEGAL_FUNCTION, ILLEGAL_VALUE, DataModel, ModbusError

MAX_REGISTERS_READ = 125
MAX_BITS_READ = 2000
MAX_REGISTERS_WRITTEN = 123
READS = {
    1: (ReadCoilsRequest, ReadCoilsResponse, MAX_BITS_READ),
    2: (ReadDiscreteInputsRequest, ReadDiscreteInputsResponse, MAX_BITS_READ),
    3: (ReadHoldingRegistersRequest, ReadHoldingRegistersResponse, MAX_REGISTERS_READ),
    4: (ReadInputRegistersRequest, ReadInputRegistersResponse, MAX_REGISTERS_READ),
}
SUPPORTED = frozenset((1, 2, 3, 4, 6, 16))

Answer = bytes | Coroutine[Any, Any, bytes]  # writes await the device's loop


def exception_pdu(function_code: int, code: int) -> bytes:
    return bytes(((function_code | 0x80) & 0xFF, code))


def _encoded(response: ModbusPDU) -> bytes:
    return bytes((response.function_code,)) + response.encode()


def handle(pdu: bytes, model: DataModel, by: str) -> Answer:
    """The response PDU to `pdu`; a coroutine giving it for a write."""
    if not pdu:
        return exception_pdu(0, ILLEGAL_FUNCTION)
    function_code = pdu[0]
    if function_code not in SUPPORTED:
        return exception_pdu(function_code, ILLEGAL_FUNCTION)
    try:
        if function_code in READS:
            return _read(function_code, pdu, model)
        return _write(function_code, pdu, model, by)
    except ModbusError as exc:
        return exception_pdu(function_code, exc.code)


def _read(function_code: int, pdu: bytes, model: DataModel) -> bytes:
    request_class, response_class, limit = READS[function_code]
    if len(pdu) != 5:
        raise ModbusError(ILLEGAL_VALUE, "a read request is 5 bytes")
    request = request_class()
    try:
        request.decode(pdu[1:])
    except (ValueError, struct.error):  # pymodbus checks the quantity while decoding
        raise ModbusError(ILLEGAL_VALUE, f"quantity must be 1..{limit}") from None
    if not 1 <= request.count <= limit:
        raise ModbusError(ILLEGAL_VALUE, f"quantity must be 1..{limit}")
    if function_code <= 2:
        return _encoded(response_class(bits=model.read_bits(request.address, request.count)))
    registers = model.read_registers(request.address, request.count)
    return _encoded(response_class(registers=registers))


def _write(function_code: int, pdu: bytes, model: DataModel, by: str) -> Answer:
    if function_code == 6:
        if len(pdu) != 5:
            raise ModbusError(ILLEGAL_VALUE, "a write single register request is 5 bytes")
        request: ModbusPDU = WriteSingleRegisterRequest()
        request.decode(pdu[1:])
        address, values = request.address, list(request.registers)
        response: ModbusPDU = WriteSingleRegisterResponse(address=address, registers=values)
    else:
        request = WriteMultipleRegistersRequest()
        if len(pdu) < 6:
            raise ModbusError(ILLEGAL_VALUE, "a write multiple registers request is short")
        request.decode(pdu[1:])
        count = request.count
        if not 1 <= count <= MAX_REGISTERS_WRITTEN or request.byte_count != 2 * count:
            raise ModbusError(ILLEGAL_VALUE, f"quantity must be 1..{MAX_REGISTERS_WRITTEN}")
        if len(pdu) != 6 + request.byte_count:
            raise ModbusError(ILLEGAL_VALUE, "byte count and data differ")
        address, values = request.address, list(request.registers)
        response = WriteMultipleRegistersResponse(address=address, count=count)
    model.check_write(address, values)  # refuse at once, before touching the device's loop

    async def write() -> bytes:
        try:
            await model.write_registers(address, values, by)
        except ModbusError as exc:
            return exception_pdu(function_code, exc.code)
        return _encoded(response)

    return write()
