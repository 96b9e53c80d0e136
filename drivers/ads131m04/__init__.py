"""ADS131M04-class 4-channel 24-bit simultaneous-sampling ADC (clamp CTs, 4-20 mA inputs).

regs.py     commands, registers, frame format
driver.py   identity, reset, configuration, test-signal self-check (the chip driver)
frames.py   data delivery: a frame per DRDY, CRC check, lost-frame accounting
channel.py  one channel of a shared ADC as a sensor of its own
"""

from .channel import AdcChannel
from .driver import Ads131m04

__all__ = ["AdcChannel", "Ads131m04"]
