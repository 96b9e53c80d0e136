"""IIS3DWB register map (ST datasheet DS13076), as far as this driver and its model use it.

SPI: the first byte is the register address with bit 7 set for a read; with IF_INC (reset
default) the address auto-increments, and reading the FIFO output registers 0x78..0x7E wraps
back to 0x78, so a whole FIFO drain is one transfer.
"""

WHO_AM_I_VALUE = 0x7B
READ = 0x80

PIN_CTRL = 0x02
FIFO_CTRL1 = 0x07  # WTM[7:0]
FIFO_CTRL2 = 0x08  # bit 0: WTM[8]; bit 7: STOP_ON_WTM
FIFO_CTRL3 = 0x09  # BDR_XL[3:0]
FIFO_CTRL4 = 0x0A  # FIFO_MODE[2:0], ODR_T_BATCH[5:4], DEC_TS_BATCH[7:6]
COUNTER_BDR_REG1 = 0x0B
COUNTER_BDR_REG2 = 0x0C
INT1_CTRL = 0x0D
INT2_CTRL = 0x0E
WHO_AM_I = 0x0F
CTRL1_XL = 0x10  # XL_EN[7:5], FS_XL[3:2], LPF2_XL_EN[1]
CTRL3_C = 0x12  # BOOT[7], BDU[6], H_LACTIVE[5], PP_OD[4], SIM[3], IF_INC[2], SW_RESET[0]
CTRL4_C = 0x13
CTRL5_C = 0x14  # ST_XL[1:0]
CTRL6_C = 0x15  # XL_AXIS_SEL[1:0]
CTRL7_C = 0x16
CTRL8_XL = 0x17
CTRL10_C = 0x19
ALL_INT_SRC = 0x1A
WAKE_UP_SRC = 0x1B
STATUS_REG = 0x1E  # XLDA[0], TDA[2]
OUT_TEMP_L = 0x20
OUTX_L_XL = 0x28  # ..0x2D: X, Y, Z int16 little-endian
FIFO_STATUS1 = 0x3A  # DIFF_FIFO[7:0]
FIFO_STATUS2 = 0x3B  # WTM_IA[7] OVR_IA[6] FULL_IA[5] COUNTER_BDR_IA[4] OVR_LATCHED[3] DIFF[9:8]
TIMESTAMP0 = 0x40
X_OFS_USR = 0x73
FIFO_DATA_OUT_TAG = 0x78
FIFO_DATA_OUT_END = 0x7E

# Values written or checked.
XL_EN_26K7 = 0b101 << 5
FS_BITS = {2: 0b00 << 2, 16: 0b01 << 2, 4: 0b10 << 2, 8: 0b11 << 2}
CTRL3_SW_RESET = 0x01
CTRL3_IF_INC = 0x04
CTRL3_BDU = 0x40
ST_POSITIVE = 0b01
ST_NEGATIVE = 0b10
STATUS_XLDA = 0x01
BDR_XL_26K7 = 0b1010
FIFO_MODE_BYPASS = 0b000
FIFO_MODE_CONTINUOUS = 0b110
FIFO_STATUS2_WTM = 0x80
FIFO_STATUS2_OVR = 0x40
FIFO_STATUS2_FULL = 0x20
FIFO_STATUS2_OVR_LATCHED = 0x08
TAG_ACCEL = 0x02  # TAG_SENSOR in bits 7:3 of the FIFO tag byte

ODR_HZ = 26667.0  # 26.667 kHz, the only output rate
FIFO_WORDS = 512  # 3 KB of data: 512 words of tag + X, Y, Z
WORD_BYTES = 7
RANGES_G = (2, 4, 8, 16)

# Self-test: positive electrostatic force at +-4 g, output change per axis (ST's limits).
SELF_TEST_MIN_MG = 800.0
SELF_TEST_MAX_MG = 3200.0
SELF_TEST_FS_G = 4
MG_PER_LSB = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}

RESET_VALUES: dict[int, int] = {
    PIN_CTRL: 0x3F,
    FIFO_CTRL1: 0x00,
    FIFO_CTRL2: 0x00,
    FIFO_CTRL3: 0x00,
    FIFO_CTRL4: 0x00,
    COUNTER_BDR_REG1: 0x00,
    COUNTER_BDR_REG2: 0x00,
    INT1_CTRL: 0x00,
    INT2_CTRL: 0x00,
    WHO_AM_I: WHO_AM_I_VALUE,
    CTRL1_XL: 0x00,
    CTRL3_C: 0x04,
    CTRL4_C: 0x00,
    CTRL5_C: 0x00,
    CTRL6_C: 0x00,
    CTRL7_C: 0x00,
    CTRL8_XL: 0x00,
    CTRL10_C: 0x00,
}
