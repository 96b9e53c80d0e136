"""MAX31865-class RTD-to-digital converter (PT100/PT1000, 2/3/4-wire, fault detection).

regs.py    register map and fault bits
driver.py  bring-up (plausibility of the register file, thresholds, fault detection cycle)
           and conversions read from the result register, faults decoded into SensorFault
"""

from .driver import Max31865

__all__ = ["Max31865"]
