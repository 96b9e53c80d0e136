"""ADS131M04 registers, commands and frame format (TI data sheet SBAS890), as used here.

Every SPI frame is made of 24-bit words (the reset word length): on DIN a command word (16-bit
command, MSB aligned) and, for WREG, register words; on DOUT the response to the PREVIOUS
frame's command, one conversion word per channel, then a CRC word. The output CRC is
CRC-16-CCITT (x^16 + x^12 + x^5 + 1, initial value 0xFFFF) over every earlier word of the
frame. Conversions are 24-bit two's complement, full scale +-1.2 V / gain. DRDY goes low when
a conversion is ready; each channel buffers at most two conversions, so the host must read a
frame per conversion.
"""

WORD_BYTES = 3
FRAME_WORDS = 6  # response, 4 channels, CRC
FRAME_BYTES = WORD_BYTES * FRAME_WORDS
CHANNELS = 4
FIFO_DEPTH = 2

# Commands (16 bits).
NULL = 0x0000
RESET = 0x0011
STANDBY = 0x0022
WAKEUP = 0x0033
LOCK = 0x0555
UNLOCK = 0x0655
RREG = 0xA000  # | address << 7 | (count - 1)
WREG = 0x6000  # | address << 7 | (count - 1)
WREG_ACK = 0x4000  # response to WREG: | address << 7 | (count - 1)
RESET_ACK = 0xFF24  # response to RESET of a 4-channel part (0xFF20 | channel count)

# Registers.
ID = 0x00  # CHANCNT[11:8]
STATUS = 0x01
MODE = 0x02
CLOCK = 0x03
GAIN1 = 0x04
CFG = 0x06
THRSHLD_MSB = 0x07
THRSHLD_LSB = 0x08
CH0_CFG = 0x09  # CHn_CFG = 0x09 + 5 n: PHASE[15:6] DCBLK_DIS[2] MUX[1:0]
REGMAP_CRC = 0x3E


def ch_cfg(channel: int) -> int:
    return CH0_CFG + 5 * channel


STATUS_LOCK = 1 << 15
STATUS_F_RESYNC = 1 << 14
STATUS_REG_MAP = 1 << 13
STATUS_CRC_ERR = 1 << 12
STATUS_RESET = 1 << 10
STATUS_WLENGTH_24 = 0b01 << 8
STATUS_DRDY_MASK = 0x000F
MODE_RESET = 1 << 10
MODE_WLENGTH_24 = 0b01 << 8
MODE_TIMEOUT = 1 << 4
MUX_INPUT = 0b00
MUX_SHORTED = 0b01
MUX_TEST_POSITIVE = 0b10
MUX_TEST_NEGATIVE = 0b11
CLOCK_PWR_HIGH_RESOLUTION = 0b10

CLKIN_HZ = 8.192e6
OSR = (128, 256, 512, 1024, 2048, 4096, 8192, 16256)  # by CLOCK.OSR code
GAINS = (1, 2, 4, 8, 16, 32, 64, 128)  # by PGAGAIN code
REFERENCE_V = 1.2
TEST_SIGNAL_V = 0.16  # the internal DC test signal, about REFERENCE_V / 7.5
SHORTED_MAX_V = 0.005  # offset allowed with the inputs shorted

RESET_VALUES: dict[int, int] = {
    ID: 0x2400,
    STATUS: 0x0500,
    MODE: 0x0510,
    CLOCK: 0x0F0E,
    GAIN1: 0x0000,
    CFG: 0x0600,
    **{ch_cfg(c) + 3: 0x8000 for c in range(CHANNELS)},  # CHn_GCAL_MSB
}


def output_rates(clkin_hz: float = CLKIN_HZ) -> dict[float, int]:
    """Output data rate (Hz) -> OSR code, with the modulator at CLKIN / 2."""
    return {clkin_hz / 2 / osr: code for code, osr in enumerate(OSR)}
