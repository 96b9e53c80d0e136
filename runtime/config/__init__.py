"""Device configuration: typed models, loading and validation."""

from .loader import ConfigError, default_config_path, load_config, parse_config, validate_config
from .models import (
    ANALYSIS_DEFAULTS,
    AnalysisOptions,
    BearingSpec,
    DeviceConfig,
    HttpConfig,
    MachineConfig,
    SensorMount,
)

__all__ = [
    "ANALYSIS_DEFAULTS",
    "AnalysisOptions",
    "BearingSpec",
    "ConfigError",
    "DeviceConfig",
    "HttpConfig",
    "MachineConfig",
    "SensorMount",
    "default_config_path",
    "load_config",
    "parse_config",
    "validate_config",
]
