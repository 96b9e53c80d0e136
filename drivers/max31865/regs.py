"""MAX31865 registers and bits (Maxim/Analog Devices data sheet), as used here.

SPI: address byte first; reads use addresses 0x00..0x07, writes 0x80..0x86; multi-byte
accesses auto-increment. The RTD result is a 15-bit ratio to Rref in RTD MSB/LSB (bits 15:1),
bit 0 of the LSB flags a fault. The chip has no identity register.
"""

CONFIG = 0x00
RTD_MSB = 0x01
RTD_LSB = 0x02
HIGH_FAULT_MSB = 0x03
HIGH_FAULT_LSB = 0x04
LOW_FAULT_MSB = 0x05
LOW_FAULT_LSB = 0x06
FAULT_STATUS = 0x07
WRITE = 0x80
REGISTERS = 8

CFG_VBIAS = 0x80
CFG_AUTO = 0x40
CFG_ONE_SHOT = 0x20
CFG_3WIRE = 0x10
CFG_FAULT_CYCLE_AUTO = 0x04  # fault detection with automatic delay (D3:D2 = 01)
CFG_FAULT_CYCLE_MASK = 0x0C
CFG_FAULT_CLEAR = 0x02
CFG_FILTER_50HZ = 0x01
SELF_CLEARING = CFG_ONE_SHOT | CFG_FAULT_CYCLE_MASK | CFG_FAULT_CLEAR

FAULT_HIGH = 0x80  # RTD above the high fault threshold
FAULT_LOW = 0x40  # RTD below the low fault threshold
FAULT_REFIN_HIGH = 0x20  # REFIN- > 0.85 x VBIAS
FAULT_REFIN_LOW = 0x10  # REFIN- < 0.85 x VBIAS, FORCE- open
FAULT_RTDIN_LOW = 0x08  # RTDIN- < 0.85 x VBIAS, FORCE- open
FAULT_VOLTAGE = 0x04  # over- or undervoltage on an input

FAULT_TEXT = {
    FAULT_HIGH: "RTD above the high fault threshold",
    FAULT_LOW: "RTD below the low fault threshold",
    FAULT_REFIN_HIGH: "REFIN- above 0.85 x VBIAS (open RTD element or broken lead)",
    FAULT_REFIN_LOW: "REFIN- below 0.85 x VBIAS (FORCE- open)",
    FAULT_RTDIN_LOW: "RTDIN- below 0.85 x VBIAS (FORCE- open)",
    FAULT_VOLTAGE: "over- or undervoltage on an input (wiring touching a supply?)",
}

CODE_MAX = 0x7FFF
OPEN_CODE = 0x7FF0  # at or above: the RTD reads as (nearly) Rref, an open circuit
CONVERSION_S = {50: 0.0625, 60: 0.0521}  # first conversion after enabling auto mode
RESET_VALUES = bytes((0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00))
