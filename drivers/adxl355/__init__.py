"""ADXL355-class low-noise 3-axis accelerometer (20-bit, up to 4 kHz, 96-entry FIFO).

regs.py   register map and values
driver.py identity, reset, configuration and self-test (the class the board instantiates)
fifo.py   FIFO streaming: entry count, overflow flag, sample-aligned bulk drain
"""

from .driver import Adxl355

__all__ = ["Adxl355"]
