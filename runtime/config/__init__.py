"""Device configuration: typed models, loading and validation."""

from .base import SECRET, Secret, Strict, check_id
from .loader import (
    ConfigError,
    default_config_path,
    dump_config,
    load_config,
    parse_config,
    validate_config,
)
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
    "SECRET",
    "AnalysisOptions",
    "BearingSpec",
    "ConfigError",
    "DeviceConfig",
    "HttpConfig",
    "MachineConfig",
    "Secret",
    "SensorMount",
    "Strict",
    "check_id",
    "default_config_path",
    "dump_config",
    "load_config",
    "parse_config",
    "validate_config",
]
