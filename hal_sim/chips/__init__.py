"""Register-level models of the supported chips, one module per chip."""

from .ads131m04 import Ads131m04Model
from .adxl355 import Adxl355Model
from .base import ChipModel
from .iis3dwb import Iis3dwbModel
from .max31865 import Max31865Model

__all__ = ["Ads131m04Model", "Adxl355Model", "ChipModel", "Iis3dwbModel", "Max31865Model"]
