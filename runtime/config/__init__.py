"""Device configuration: typed models, loading and validation."""

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
    SECRET,
    AnalysisOptions,
    BearingSpec,
    DeviceConfig,
    HttpConfig,
    MachineConfig,
    Secret,
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
    "default_config_path",
    "dump_config",
    "load_config",
    "parse_config",
    "validate_config",
]
