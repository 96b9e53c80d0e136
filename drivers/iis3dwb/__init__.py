"""IIS3DWB-class wideband 3-axis accelerometer (26.667 kHz, 16-bit, 3 KB FIFO).

regs.py   register map and values
driver.py identity, reset, configuration and self-test (the class the board instantiates)
fifo.py   FIFO streaming: level and overflow, bulk drain into RawBlocks
"""

from .driver import Iis3dwb

__all__ = ["Iis3dwb"]
