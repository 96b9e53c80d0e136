"""The device config as typed models: what the device monitors and how.

The board file says what hardware exists; this config says which machines are watched, which
sensor is mounted where, and how figures are computed, stored and (later) served. It is the one
source of truth for settings: the API and UI edit it through these same models.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dsp_ext import COMMON_BEARINGS, BearingGeometry

from ..alerts.rules import AlertsConfig
from ..fieldbus.config import ModbusConfig
from ..fieldbus.profibus.config import ProfibusConfig
from ..notify.config import NotificationsConfig
from .base import Strict, check_id

Mounting = Literal["radial_horizontal", "radial_vertical", "axial"]
Hz = Annotated[float, Field(ge=0)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("give a name (it labels the device and its machines everywhere)")
    return value


# Shown on every screen, report and tag list: never empty.
DisplayName = Annotated[str, Field(max_length=120), AfterValidator(_not_blank)]
# Analysing a frame more often than this only burns CPU (and a scheduler period must stay
# far above the clock's resolution).
MIN_UPDATE_INTERVAL_S = 0.05


class DeviceSection(Strict):
    name: DisplayName = "EsoCore Edge"
    board: str = "sim"
    timezone: str = "UTC"
    status_interval_s: float = Field(10.0, ge=0.1)
    # SCHED_FIFO priority of the FIFO-draining thread in `esocore run` (0: normal scheduling).
    # Used when the process may (root, or CAP_SYS_NICE from the systemd unit); otherwise the
    # thread runs at normal priority and a line says so.
    acquisition_rt_priority: int = Field(20, ge=0, le=99)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            raise ValueError(msg) from None
        return value


class AnalysisOptions(Strict):
    """How vibration frames are analysed; set in [analysis] and overridable per sensor."""

    frame_length: int | None = None
    update_interval_s: float | None = Field(None, ge=MIN_UPDATE_INTERVAL_S, le=3600)
    overlap: float | None = Field(None, ge=0, le=0.9)
    window: Literal["hann", "flattop"] | None = None
    velocity_band_hz: tuple[Hz, Hz] | None = None
    hf_band_hz: tuple[Hz, Hz] | None = None
    envelope_band_hz: tuple[Hz, Hz] | None = None
    envelope_fmax_hz: float | None = Field(None, ge=1.0)
    spectrum_snapshot_interval_s: float | None = Field(None, ge=1.0)

    @field_validator("frame_length")
    @classmethod
    def _power_of_two(cls, value: int | None) -> int | None:
        if value is not None and (value < 256 or value > 65536 or value & (value - 1)):
            raise ValueError("must be a power of two from 256 to 65536")
        return value

    @field_validator("overlap")
    @classmethod
    def _interval_or_overlap(cls, value: float | None, info: ValidationInfo) -> float | None:
        # A field validator (not a model one) so this is listed even beside other errors.
        if value is not None and info.data.get("update_interval_s") is not None:
            raise ValueError("give update_interval_s or overlap, not both")
        return value


ANALYSIS_DEFAULTS = AnalysisOptions(
    frame_length=16384,
    update_interval_s=1.0,
    window="hann",
    velocity_band_hz=(10.0, 1000.0),
    spectrum_snapshot_interval_s=60.0,
)


class BearingSpec(Strict):
    """A bearing by catalogue designation (known to the device) or by geometry."""

    designation: str | None = None
    balls: int | None = Field(None, ge=3)
    ball_diameter_mm: float | None = Field(None, gt=0)
    pitch_diameter_mm: float | None = Field(None, gt=0)
    contact_angle_deg: float = Field(0.0, ge=0, lt=90)

    @model_validator(mode="after")
    def _complete(self) -> BearingSpec:
        geometry = (self.balls, self.ball_diameter_mm, self.pitch_diameter_mm)
        if all(v is not None for v in geometry):
            self.geometry()  # raises ValueError with the reason
            return self
        if any(v is not None for v in geometry):
            raise ValueError("give all of balls, ball_diameter_mm and pitch_diameter_mm")
        if self.designation is None:
            raise ValueError("give a designation or the geometry")
        if self.designation not in COMMON_BEARINGS:
            known = ", ".join(sorted(COMMON_BEARINGS))
            raise ValueError(
                f"bearing {self.designation!r} is not in the device's table ({known}); "
                "give balls, ball_diameter_mm and pitch_diameter_mm"
            )
        return self

    def geometry(self) -> BearingGeometry:
        if self.balls is not None:
            return BearingGeometry(
                self.balls,
                float(self.ball_diameter_mm or 0),
                float(self.pitch_diameter_mm or 0),
                self.contact_angle_deg,
            )
        return COMMON_BEARINGS[str(self.designation)]


class SensorMount(Strict):
    """A board sensor mounted on a machine."""

    sensor: str
    name: str | None = None
    mounting: dict[str, Mounting] = Field(default_factory=dict)
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)
    # Slow inputs: "rms" for AC signals (motor current), "mean" for levels (temperature,
    # a 4-20 mA loop); by default current is "rms" and everything else "mean".
    measure: Literal["rms", "mean"] | None = None
    # The metric name reported (default: current_rms, temperature, or the sensor's kind).
    metric: str | None = None

    @field_validator("metric")
    @classmethod
    def _metric_name(cls, value: str | None) -> str | None:
        if value is not None and re.match(r"^[a-z][a-z0-9_]{0,62}$", value) is None:
            raise ValueError("use a snake_case name such as discharge_pressure")
        return value

    @field_validator("sensor")
    @classmethod
    def _id_format(cls, value: str) -> str:
        return check_id(value)


class MachineConfig(Strict):
    id: str
    name: DisplayName
    equipment_id: str = ""
    location: str = ""
    type: str = "motor"
    running_speed_rpm: float | None = Field(None, gt=0, le=120000)
    bearing: BearingSpec | None = None
    iso_group: Literal[1, 2, 3, 4] = 2
    foundation: Literal["rigid", "flexible"] = "rigid"
    thrust_bearing: bool = False
    sensors: list[SensorMount] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        return check_id(value)

    @field_validator("bearing", mode="before")
    @classmethod
    def _bearing_shorthand(cls, value: object) -> object:
        return {"designation": value} if isinstance(value, str) else value


class RetentionConfig(Strict):
    raw_days: float = Field(30, gt=0)
    rollup_1m_days: float = Field(365, gt=0)
    rollup_1h_days: float = Field(3650, gt=0)
    spectra_days: float = Field(90, gt=0)
    events_days: float = Field(365, gt=0)
    max_size_mb: float = Field(4096, gt=0)

    @model_validator(mode="after")
    def _rollups_outlive_raw(self) -> RetentionConfig:
        if not self.raw_days <= self.rollup_1m_days <= self.rollup_1h_days:
            raise ValueError("keep raw_days <= rollup_1m_days <= rollup_1h_days")
        return self


class StoreConfig(Strict):
    flush_interval_s: float = Field(1.0, gt=0, le=60)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    retention_check_interval_s: float = Field(600.0, ge=1.0)


class HttpConfig(Strict):
    """The HTTPS server (REST API, web UI)."""

    enabled: bool = True
    host: str = "0.0.0.0"
    # None: 443 when the process may bind it (a board service), otherwise 8443.
    port: int | None = Field(None, ge=1, le=65535)
    tls: bool = True
    cert_file: str | None = None  # a certificate (PEM) issued by the plant's CA; default:
    key_file: str | None = None  # a self-signed one generated in the data directory
    failed_auth_limit: int = Field(10, ge=1)  # failures per client address ...
    failed_auth_window_s: float = Field(60.0, gt=0)  # ... within this window -> 429
    key_rate_limit_per_s: float = Field(0.0, ge=0)  # per API key; 0 = unlimited
    key_rate_burst: int = Field(50, ge=1)

    @model_validator(mode="after")
    def _cert_and_key(self) -> HttpConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give both cert_file and key_file, or neither")
        return self


class DeviceConfig(Strict):
    device: DeviceSection = Field(default_factory=DeviceSection)
    http: HttpConfig = Field(default_factory=HttpConfig)
    analysis: AnalysisOptions = ANALYSIS_DEFAULTS
    store: StoreConfig = Field(default_factory=StoreConfig)
    machines: list[MachineConfig] = Field(default_factory=list)
    modbus: ModbusConfig = Field(default_factory=ModbusConfig)
    profibus: ProfibusConfig = Field(default_factory=ProfibusConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)

    def machine(self, machine_id: str) -> MachineConfig:
        for machine in self.machines:
            if machine.id == machine_id:
                return machine
        raise KeyError(machine_id)

    def analysis_for(self, mount: SensorMount) -> AnalysisOptions:
        """The device-wide analysis options with this sensor's overrides applied."""
        merged = ANALYSIS_DEFAULTS.model_dump()
        merged.update(self.analysis.model_dump(exclude_none=True))
        merged.update(mount.analysis.model_dump(exclude_none=True))
        if mount.analysis.overlap is not None:
            merged["update_interval_s"] = None
        elif mount.analysis.update_interval_s is not None:
            merged["overlap"] = None
        return AnalysisOptions(**merged)


def duplicate_id_problems(data: object) -> list[str]:
    """Machine ids and mounted sensors must be unique; checked on the raw data so these
    problems are listed together with every field error."""
    problems: list[str] = []
    machines = data.get("machines") if isinstance(data, dict) else None
    if not isinstance(machines, list):
        return problems
    seen_machines: dict[object, int] = {}
    seen_sensors: dict[object, str] = {}
    for i, machine in enumerate(machines):
        if not isinstance(machine, dict):
            continue
        machine_id = machine.get("id")
        if isinstance(machine_id, str) and machine_id in seen_machines:
            problems.append(
                f"machines[{i}].id: {machine_id!r} is already used by "
                f"machines[{seen_machines[machine_id]}]"
            )
        if isinstance(machine_id, str):
            seen_machines.setdefault(machine_id, i)
        mounts = machine.get("sensors")
        for j, mount in enumerate(mounts if isinstance(mounts, list) else []):
            sensor = mount.get("sensor") if isinstance(mount, dict) else None
            if not isinstance(sensor, str):
                continue
            here = f"machines[{i}].sensors[{j}]"
            if sensor in seen_sensors:
                problems.append(
                    f"{here}.sensor: {sensor!r} is already mounted at {seen_sensors[sensor]}"
                )
            seen_sensors.setdefault(sensor, here)
    return problems
