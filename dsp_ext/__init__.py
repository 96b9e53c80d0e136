"""EsoCore vibration DSP: a C kernel (cffi) and the numpy/scipy reference that defines its numbers.

Imports nothing of the rest of EsoCore, so it can be used (and tested) on its own.
"""

from .bearing import COMMON_BEARINGS, BearingGeometry, DefectFrequencies, bearing_frequencies
from .decode import (
    adxl355_scale,
    decode_adxl355,
    decode_be24,
    decode_iis3dwb,
    iis3dwb_scale,
)
from .kernel import Analyzer
from .results import METRIC_UNITS, METRICS, BatchAnalysis
from .settings import AnalysisSettings

__all__ = [
    "COMMON_BEARINGS",
    "METRICS",
    "METRIC_UNITS",
    "AnalysisSettings",
    "Analyzer",
    "BatchAnalysis",
    "BearingGeometry",
    "DefectFrequencies",
    "adxl355_scale",
    "bearing_frequencies",
    "decode_adxl355",
    "decode_be24",
    "decode_iis3dwb",
    "iis3dwb_scale",
]
