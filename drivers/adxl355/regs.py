"""ADXL355 register map (Analog Devices data sheet), as this driver and its model use it.

SPI: the command byte is the register address shifted left by one, bit 0 set for a read.
Multi-byte reads auto-increment, except at FIFO_DATA, which stays put so that the FIFO can be
drained in one transfer. Each FIFO entry is one axis: 20-bit two's complement left-justified in
3 bytes; bit 0 of the third byte marks an X entry, bit 1 an empty FIFO.
"""

DEVID_AD = 0x00
DEVID_MST = 0x01
PARTID = 0x02
REVID = 0x03
STATUS = 0x04  # DATA_RDY[0] FIFO_FULL[1] FIFO_OVR[2] ACTIVITY[3] NVM_BUSY[4]
FIFO_ENTRIES = 0x05
TEMP2 = 0x06
TEMP1 = 0x07
XDATA3 = 0x08  # .. ZDATA1 = 0x10
FIFO_DATA = 0x11
OFFSET_X_H = 0x1E
ACT_EN = 0x24
ACT_THRESH_H = 0x25
ACT_THRESH_L = 0x26
ACT_COUNT = 0x27
FILTER = 0x28  # HPF_CORNER[6:4] ODR_LPF[3:0]
FIFO_SAMPLES = 0x29  # watermark, in entries
INT_MAP = 0x2A
SYNC = 0x2B
RANGE = 0x2C  # I2C_HS[7] INT_POL[6] RANGE[1:0]
POWER_CTL = 0x2D  # DRDY_OFF[2] TEMP_OFF[1] STANDBY[0]
SELF_TEST = 0x2E  # ST2[1] ST1[0]
RESET = 0x2F  # write 0x52 for a power-on reset

IDENTITY = (0xAD, 0x1D, 0xED)  # DEVID_AD, DEVID_MST, PARTID
RESET_CODE = 0x52
STATUS_DATA_RDY = 0x01
STATUS_FIFO_FULL = 0x02
STATUS_FIFO_OVR = 0x04
STATUS_NVM_BUSY = 0x10
POWER_STANDBY = 0x01
POWER_TEMP_OFF = 0x02
ST1 = 0x01
ST2 = 0x02
ENTRY_X_MARKER = 0x01
ENTRY_EMPTY = 0x02

FIFO_ENTRIES_MAX = 96  # 32 samples of X, Y, Z
ENTRY_BYTES = 3
SAMPLE_BYTES = 9
RANGE_BITS = {2: 0b01, 4: 0b10, 8: 0b11}
ODR_CODES = {
    4000.0: 0,
    2000.0: 1,
    1000.0: 2,
    500.0: 3,
    250.0: 4,
    125.0: 5,
    62.5: 6,
    31.25: 7,
    15.625: 8,
    7.8125: 9,
    3.90625: 10,
}
UG_PER_LSB = {2: 3.9, 4: 7.8, 8: 15.6}

# Self-test: output change from ST1 alone to ST1+ST2 (g). Generous bounds around the data
# sheet's typical response (about 0.3 g on X and Y, 1.5 g on Z).
SELF_TEST_LIMITS_G = ((0.1, 0.6), (0.1, 0.6), (0.5, 3.0))

RESET_VALUES: dict[int, int] = {
    DEVID_AD: 0xAD,
    DEVID_MST: 0x1D,
    PARTID: 0xED,
    REVID: 0x01,
    ACT_COUNT: 0x01,
    FILTER: 0x00,
    FIFO_SAMPLES: 0x60,
    RANGE: 0x81,
    POWER_CTL: 0x01,
}
