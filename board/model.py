"""Board files: TOML parsed into typed, validated models.

A board file says which chip sits on which bus (the devicetree's job in Zephyr) and, for a
simulated board, which machines the simulated sensors are mounted on. Every problem is
reported at once, by path: `board.sensors[2].bus: no SPI bus 'spi3' on this board`.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.ads131m04 import regs as ads_regs
from drivers.adxl355 import regs as adxl_regs
from drivers.iis3dwb import regs as iis_regs
from dsp_ext.bearing import COMMON_BEARINGS, BearingGeometry
from dsp_ext.rtd import PT100, PT1000
from hal_sim.machine import DIRECTIONS, MachineSpec

PLATFORMS = ("sim", "linux")
CHIPS = ("iis3dwb", "adxl355", "ads131m04", "max31865")
CHIP_KIND = {"iis3dwb": "accel", "adxl355": "accel", "max31865": "temperature"}
ADC_KINDS = ("current", "voltage")
RTD_TYPES = {"pt100": PT100, "pt1000": PT1000}
AXES = ("x", "y", "z")
DEFAULT_MOUNTING = {"x": "radial_horizontal", "y": "radial_vertical", "z": "axial"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_BUS = re.compile(r"^spi(\d+)$")
MAX_SWITCH_BITS = 7  # 0..127: every PROFIBUS station address (0..125) and the two reserved
MAX_GPIO_LINE = 1023


class BoardError(ValueError):
    """An invalid board file; `problems` lists every error with its path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid board file:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class SpiBusSpec:
    name: str
    chip_selects: int
    device: str  # Linux node prefix: "<device>.<cs>", e.g. /dev/spidev0.1
    max_speed_hz: int = 10_000_000
    hint: str = ""


@dataclass(frozen=True)
class ReplaySpec:
    path: Path
    loop: bool = True
    scale: float = 1.0
    fs: float | None = None


@dataclass(frozen=True)
class SensorSpec:
    """One sensor as the board describes it. Fields that do not apply to its chip are None."""

    id: str
    name: str
    chip: str
    kind: str
    bus: str
    cs: int
    unit: str
    machine: str | None = None
    mounting: dict[str, str] = field(default_factory=dict)  # accelerometers: axis -> direction
    # accelerometers
    range_g: int | None = None
    odr_hz: float | None = None
    # MAX31865
    rtd: str | None = None
    r0: float | None = None
    r_ref: float | None = None
    wires: int | None = None
    filter_hz: int | None = None
    range_c: tuple[float, float] | None = None
    sample_interval_s: float | None = None
    # ADS131M04
    channel: int | None = None
    gain: int | None = None
    units_per_volt: float | None = None
    drdy: int | None = None
    # simulated boards
    replay: ReplaySpec | None = None


@dataclass(frozen=True)
class AddressSwitchSpec:
    """A DIP switch that sets the fieldbus station address, one GPIO line per bit.

    `lines` are least significant bit first. With `active_low` (a switch closing its line to
    ground against a pull-up, the usual wiring) a closed switch reads low and counts as 1.
    `value` is the setting of a simulated board's switch; a real board reads its lines."""

    lines: tuple[int, ...]
    active_low: bool = True
    value: int | None = None

    @property
    def bits(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class BoardSpec:
    name: str
    description: str
    platform: str
    spi: dict[str, SpiBusSpec]
    gpio_chip: str
    machines: tuple[MachineSpec, ...]
    sensors: tuple[SensorSpec, ...]
    path: Path | None = None
    address_switch: AddressSwitchSpec | None = None

    def sensor(self, sensor_id: str) -> SensorSpec:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)


# -- parsing ---------------------------------------------------------------------------------


class _Checker:
    """Collects problems while reading a TOML table, so all of them are reported at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def table(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.add(path, f"must be a table, got {_kind(data)}")
            return {}
        return data

    def unknown(self, data: dict[str, Any], known: set[str], path: str) -> None:
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(f"{path}.{key}", f"unknown key{hint}")

    def string(self, data: dict, key: str, path: str, default: str | None = None) -> str | None:
        if key not in data:
            if default is None:
                self.add(f"{path}.{key}", "is required")
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.add(f"{path}.{key}", f"must be a non-empty string, got {value!r}")
            return default
        return value

    def choice(self, data: dict, key: str, path: str, options: tuple, default: Any = None) -> Any:
        if key not in data:
            if default is None:
                self.add(f"{path}.{key}", f"is required; one of {', '.join(map(str, options))}")
            return default
        value = data[key]
        if value not in options or isinstance(value, bool):
            self.add(
                f"{path}.{key}",
                f"must be one of {', '.join(map(repr, options))}, got {value!r}",
            )
            return default
        return value

    def number(
        self,
        data: dict,
        key: str,
        path: str,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
        integer: bool = False,
        required: bool = False,
    ) -> Any:
        if key not in data:
            if required:
                self.add(f"{path}.{key}", "is required")
            return default
        value = data[key]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if (
            isinstance(value, bool)
            or not ok
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            self.add(
                f"{path}.{key}", f"must be {'an integer' if integer else 'a number'}, got {value!r}"
            )
            return default
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = (
                f"from {lo:g} to {hi:g}"
                if lo is not None and hi is not None
                else (f"at least {lo:g}" if lo is not None else f"at most {hi:g}")
            )
            self.add(f"{path}.{key}", f"must be {span}, got {value!r}")
            return default
        return value

    def boolean(self, data: dict, key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.add(f"{path}.{key}", f"must be true or false, got {value!r}")
            return default
        return value

    def ident(self, data: dict, key: str, path: str) -> str | None:
        value = self.string(data, key, path)
        if value is not None and not _ID.match(value):
            self.add(
                f"{path}.{key}",
                f"{value!r} is not a valid id: use lower-case letters, digits, '-' and '_'",
            )
            return None
        return value


def _kind(value: object) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def parse_board(
    data: dict[str, Any], source: str = "<board>", base: Path | None = None
) -> BoardSpec:
    """Validate parsed TOML into a BoardSpec, or raise BoardError with every problem."""
    c = _Checker()
    top = c.table(data, "<root>")
    c.unknown(top, {"board"}, "")
    if "board" not in top:
        c.add("board", "is required (a [board] table)")
    b = c.table(top.get("board", {}), "board")
    known = {
        "name",
        "description",
        "platform",
        "spi",
        "gpio",
        "machines",
        "sensors",
        "address_switch",
    }
    c.unknown(b, known, "board")
    name = c.string(b, "name", "board") or ""
    description = b.get("description", "")
    if not isinstance(description, str):
        c.add("board.description", "must be a string")
        description = ""
    platform = c.choice(b, "platform", "board", PLATFORMS) or "sim"

    spi = _parse_spi(c, b.get("spi", {}), platform)
    gpio = c.table(b.get("gpio", {}), "board.gpio")
    c.unknown(gpio, {"chip"}, "board.gpio")
    gpio_chip = c.string(gpio, "chip", "board.gpio", default="/dev/gpiochip0") or "/dev/gpiochip0"

    machines_raw = b.get("machines", [])
    if platform != "sim" and machines_raw:
        c.add("board.machines", "only a simulated board has a simulated plant; remove it")
        machines_raw = []
    machines = _parse_machines(c, machines_raw)
    sensors = _parse_sensors(c, b.get("sensors", []), platform, spi, machines, base)
    switch = None
    if "address_switch" in b:
        switch = _parse_address_switch(c, b["address_switch"], platform, sensors)
    if c.problems:
        raise BoardError(source, c.problems)
    return BoardSpec(
        name=name,
        description=description,
        platform=platform,
        spi=spi,
        gpio_chip=gpio_chip,
        machines=tuple(machines),
        sensors=tuple(sensors),
        path=None,
        address_switch=switch,
    )


def _parse_address_switch(
    c: _Checker, raw: Any, platform: str, sensors: list[SensorSpec]
) -> AddressSwitchSpec | None:
    """[board.address_switch]: lines (LSB first), active_low, and on a simulated board the
    switch's setting. Lines must be distinct and not a sensor's DRDY line."""
    path = "board.address_switch"
    table = c.table(raw, path)
    if not table:
        if isinstance(raw, dict):
            c.add(path, "give lines = [GPIO line of bit 0, bit 1, ...]")
        return None
    c.unknown(table, {"lines", "active_low", "value"}, path)
    before = len(c.problems)
    lines = _switch_lines(c, table.get("lines"), f"{path}.lines", sensors)
    active_low = c.boolean(table, "active_low", path, True)
    value = None
    if platform == "sim":
        hi = (1 << len(lines)) - 1 if lines else (1 << MAX_SWITCH_BITS) - 1
        value = c.number(table, "value", path, lo=0, hi=hi, integer=True, required=True)
    elif "value" in table:
        c.add(f"{path}.value", "only a simulated board sets its switch here; a real one is read")
    if len(c.problems) > before or not lines:
        return None
    return AddressSwitchSpec(tuple(lines), active_low, value)


def _switch_lines(c: _Checker, raw: Any, path: str, sensors: list[SensorSpec]) -> list[int]:
    """The switch's GPIO lines, checked one by one (every problem by its index)."""
    if raw is None:
        c.add(path, "is required: the GPIO line of each bit, least significant first")
        return []
    if not isinstance(raw, list) or not raw:
        c.add(path, f"must be a non-empty array of GPIO line numbers, got {raw!r}")
        return []
    if len(raw) > MAX_SWITCH_BITS:
        c.add(
            path,
            f"at most {MAX_SWITCH_BITS} bits (addresses 0..127), got {len(raw)} lines",
        )
    drdy: dict[int, str] = {}
    for s in sensors:
        if s.drdy is not None:
            drdy.setdefault(s.drdy, s.id)
    seen: dict[int, int] = {}
    for i, line in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(line, bool) or not isinstance(line, int):
            c.add(where, f"must be a GPIO line number, got {line!r}")
        elif not 0 <= line <= MAX_GPIO_LINE:
            c.add(where, f"must be from 0 to {MAX_GPIO_LINE}, got {line}")
        elif line in seen:
            c.add(where, f"line {line} is already bit {seen[line]} of the switch")
        elif line in drdy:
            c.add(where, f"line {line} is the DRDY line of sensor {drdy[line]!r}")
        else:
            seen[line] = i
    if len(seen) != len(raw):
        return []
    return list(raw)


def _parse_spi(c: _Checker, raw: Any, platform: str) -> dict[str, SpiBusSpec]:
    buses: dict[str, SpiBusSpec] = {}
    table = c.table(raw, "board.spi")
    if not table:
        c.add("board.spi", "no SPI bus defined; add e.g. [board.spi.spi0]")
    for bus_name, conf in table.items():
        path = f"board.spi.{bus_name}"
        m = _BUS.match(bus_name)
        if not m:
            c.add(path, "an SPI bus is named spiN (spi0, spi1, ...)")
            continue
        conf = c.table(conf, path)
        c.unknown(conf, {"chip_selects", "device", "max_speed_hz", "hint"}, path)
        cs = c.number(conf, "chip_selects", path, 1, lo=1, hi=16, integer=True)
        device = c.string(conf, "device", path, default=f"/dev/spidev{m.group(1)}") or ""
        speed = c.number(
            conf, "max_speed_hz", path, 10_000_000, lo=10_000, hi=125_000_000, integer=True
        )
        hint = conf.get("hint", "")
        buses[bus_name] = SpiBusSpec(bus_name, cs, device, speed, str(hint))
    return buses


def _parse_bearing(c: _Checker, raw: Any, path: str) -> tuple[BearingGeometry | None, str]:
    if isinstance(raw, str):
        geometry = COMMON_BEARINGS.get(raw)
        if geometry is None:
            c.add(
                path,
                f"unknown bearing {raw!r}; known: {', '.join(COMMON_BEARINGS)}, or give "
                "{ balls, ball_diameter_mm, pitch_diameter_mm, contact_angle_deg }",
            )
        return geometry, raw
    table = c.table(raw, path)
    if not table:
        return None, ""
    c.unknown(
        table, {"name", "balls", "ball_diameter_mm", "pitch_diameter_mm", "contact_angle_deg"}, path
    )
    try:
        geometry = BearingGeometry(
            balls=table.get("balls"),  # type: ignore[arg-type]
            ball_diameter_mm=float(table.get("ball_diameter_mm", 0)),
            pitch_diameter_mm=float(table.get("pitch_diameter_mm", 0)),
            contact_angle_deg=float(table.get("contact_angle_deg", 0.0)),
        )
    except (ValueError, TypeError) as exc:
        c.add(path, str(exc))
        return None, ""
    return geometry, str(table.get("name", "custom"))


def _parse_machines(c: _Checker, raw: Any) -> list[MachineSpec]:
    if not isinstance(raw, list):
        c.add("board.machines", "must be an array of tables ([[board.machines]])")
        return []
    out: list[MachineSpec] = []
    seen: set[str] = set()
    fields = {
        "id",
        "name",
        "type",
        "rpm",
        "poles",
        "line_hz",
        "bearing",
        "load",
        "rated_current_a",
        "ambient_c",
        "temperature_rise_c",
        "thermal_time_constant_s",
        "resonance_hz",
        "damping",
        "vibration_mm_s",
        "noise_m_s2",
    }
    for i, item in enumerate(raw):
        path = f"board.machines[{i}]"
        m = c.table(item, path)
        if not m:
            continue
        c.unknown(m, fields, path)
        mid = c.ident(m, "id", path)
        if mid is not None:
            if mid in seen:
                c.add(f"{path}.id", f"machine id {mid!r} is used twice")
            seen.add(mid)
        name = c.string(m, "name", path, default=mid or "")
        rpm = c.number(m, "rpm", path, lo=1, hi=100_000, required=True)
        poles = c.number(m, "poles", path, 4, lo=2, hi=48, integer=True)
        if poles % 2:
            c.add(f"{path}.poles", f"a motor has an even number of poles, got {poles}")
        line = c.number(m, "line_hz", path, 50.0, lo=1, hi=1000)
        if rpm is not None and line and poles and rpm >= 120 * line / poles:
            c.add(
                f"{path}.rpm",
                f"{rpm:g} rpm is not below the synchronous speed {120 * line / poles:g} rpm of a "
                f"{poles}-pole motor at {line:g} Hz (an induction motor runs with slip)",
            )
        geometry, bearing_name = (None, "")
        if "bearing" in m:
            geometry, bearing_name = _parse_bearing(c, m["bearing"], f"{path}.bearing")
        else:
            c.add(f"{path}.bearing", 'is required (e.g. "6205")')
        values = {
            "load": c.number(m, "load", path, 0.75, lo=0, hi=1.5),
            "rated_current_a": c.number(m, "rated_current_a", path, 28.0, lo=0.01, hi=10_000),
            "ambient_c": c.number(m, "ambient_c", path, 25.0, lo=-50, hi=80),
            "temperature_rise_c": c.number(m, "temperature_rise_c", path, 20.0, lo=0, hi=150),
            "thermal_time_constant_s": c.number(
                m, "thermal_time_constant_s", path, 600.0, lo=1, hi=1e6
            ),
            "resonance_hz": c.number(m, "resonance_hz", path, 3200.0, lo=10, hi=20_000),
            "damping": c.number(m, "damping", path, 0.04, lo=0.001, hi=0.5),
            "vibration_mm_s": c.number(m, "vibration_mm_s", path, 1.0, lo=0, hi=100),
            "noise_m_s2": c.number(m, "noise_m_s2", path, 0.05, lo=0, hi=100),
        }
        if (
            mid is None
            or rpm is None
            or geometry is None
            or (c.problems and any(p.startswith(path + ".") for p in c.problems))
        ):
            continue
        out.append(
            MachineSpec(
                id=mid,
                name=name or mid,
                rpm=float(rpm),
                bearing=geometry,
                bearing_name=bearing_name,
                poles=int(poles),
                line_hz=float(line),
                **{k: float(v) for k, v in values.items()},
            )
        )
    return out


_COMMON = {"id", "name", "chip", "bus", "cs", "machine", "kind", "unit", "replay"}
_BY_CHIP = {
    "iis3dwb": {"range_g", "odr_hz", "mounting"},
    "adxl355": {"range_g", "odr_hz", "mounting"},
    "max31865": {"rtd", "r_ref", "wires", "filter_hz", "range_c", "sample_interval_s"},
    "ads131m04": {"channel", "gain", "units_per_volt", "drdy", "odr_hz"},
}


def _parse_sensors(
    c: _Checker,
    raw: Any,
    platform: str,
    spi: dict[str, SpiBusSpec],
    machines: list[MachineSpec],
    base: Path | None,
) -> list[SensorSpec]:
    if not isinstance(raw, list):
        c.add("board.sensors", "must be an array of tables ([[board.sensors]])")
        return []
    if not raw:
        c.add("board.sensors", "no sensors: a board needs at least one [[board.sensors]]")
    machine_ids = {m.id for m in machines}
    out: list[SensorSpec] = []
    seen_ids: dict[str, int] = {}
    slots: dict[tuple[str, int], int] = {}  # (bus, cs) -> index of the first sensor there
    for i, item in enumerate(raw):
        path = f"board.sensors[{i}]"
        s = c.table(item, path)
        if not s:
            continue
        before = len(c.problems)
        chip = c.choice(s, "chip", path, CHIPS)
        c.unknown(s, _COMMON | _BY_CHIP.get(chip, set().union(*_BY_CHIP.values())), path)
        sid = c.ident(s, "id", path)
        if sid is not None:
            if sid in seen_ids:
                c.add(f"{path}.id", f"{sid!r} is already the id of board.sensors[{seen_ids[sid]}]")
            seen_ids.setdefault(sid, i)
        name = c.string(s, "name", path, default=sid or "") or ""
        bus = c.string(s, "bus", path)
        if bus is not None and bus not in spi:
            have = ", ".join(spi) or "none"
            c.add(f"{path}.bus", f"no SPI bus {bus!r} on this board (it has {have})")
            bus = None
        cs = c.number(s, "cs", path, lo=0, hi=15, integer=True, required=True)
        if bus is not None and cs is not None and cs >= spi[bus].chip_selects:
            c.add(
                f"{path}.cs",
                f"{bus} has chip selects 0..{spi[bus].chip_selects - 1}, got {cs}",
            )
        machine = s.get("machine")
        if machine is not None:
            if not isinstance(machine, str):
                c.add(f"{path}.machine", f"must be a machine id string, got {machine!r}")
                machine = None
            elif platform == "sim" and machine not in machine_ids:
                have = ", ".join(sorted(machine_ids)) or "none"
                c.add(
                    f"{path}.machine", f"no machine {machine!r} in board.machines (it has {have})"
                )
        replay = _parse_replay(c, s.get("replay"), f"{path}.replay", platform, base)
        spec_args: dict[str, Any] = {}
        if chip in ("iis3dwb", "adxl355"):
            spec_args = _accel_fields(c, s, path, chip)
        elif chip == "max31865":
            spec_args = _rtd_fields(c, s, path)
        elif chip == "ads131m04":
            spec_args = _adc_fields(c, s, path, platform)
        if chip == "max31865" and replay is not None:
            c.add(f"{path}.replay", "replay feeds accelerometers and ADC channels, not an RTD")
        # Two sensors on one chip select must be channels of one ADC that agree.
        if bus is not None and cs is not None and chip is not None:
            first = slots.setdefault((bus, cs), i)
            if first != i:
                other = raw[first] if isinstance(raw[first], dict) else {}
                if chip != "ads131m04" or other.get("chip") != "ads131m04":
                    c.add(f"{path}.cs", f"{bus} cs {cs} is already taken by board.sensors[{first}]")
                else:
                    for key in ("odr_hz", "drdy"):
                        if other.get(key) != s.get(key):
                            c.add(
                                f"{path}.{key}",
                                f"{s.get(key)!r} differs from {other.get(key)!r} of "
                                f"board.sensors[{first}] on the same ADS131M04 ({bus} cs {cs})",
                            )
                    if other.get("channel") == s.get("channel"):
                        c.add(
                            f"{path}.channel",
                            f"channel {s.get('channel')!r} is already used by "
                            f"board.sensors[{first}] on the same ADS131M04",
                        )
        if len(c.problems) > before or sid is None or chip is None or bus is None or cs is None:
            continue
        kind = spec_args.pop("kind", CHIP_KIND.get(chip, "voltage"))
        out.append(
            SensorSpec(
                id=sid,
                name=name,
                chip=chip,
                kind=kind,
                bus=bus,
                cs=cs,
                machine=machine,
                replay=replay,
                **spec_args,
            )
        )
    return out


def _accel_fields(c: _Checker, s: dict, path: str, chip: str) -> dict[str, Any]:
    if chip == "iis3dwb":
        range_g = c.choice(s, "range_g", path, iis_regs.RANGES_G, default=16)
        odr = c.choice(s, "odr_hz", path, (iis_regs.ODR_HZ, 26667), default=iis_regs.ODR_HZ)
    else:
        range_g = c.choice(s, "range_g", path, tuple(adxl_regs.RANGE_BITS), default=2)
        odr = c.choice(s, "odr_hz", path, tuple(adxl_regs.ODR_CODES), default=4000.0)
    mounting = dict(DEFAULT_MOUNTING)
    raw = s.get("mounting", {})
    table = c.table(raw, f"{path}.mounting")
    for axis, direction in table.items():
        if axis not in AXES:
            c.add(f"{path}.mounting.{axis}", f"unknown axis; axes are {', '.join(AXES)}")
        elif direction not in DIRECTIONS:
            c.add(
                f"{path}.mounting.{axis}",
                f"must be one of {', '.join(DIRECTIONS)}, got {direction!r}",
            )
        else:
            mounting[axis] = direction
    unit = s.get("unit", "m/s²")
    if unit != "m/s²":
        c.add(f"{path}.unit", "accelerometers report m/s²")
    if "kind" in s and s["kind"] != "accel":
        c.add(f"{path}.kind", f"an {chip} is an accelerometer: kind is 'accel'")
    return {"range_g": range_g, "odr_hz": float(odr), "mounting": mounting, "unit": "m/s²"}


def _rtd_fields(c: _Checker, s: dict, path: str) -> dict[str, Any]:
    rtd = c.choice(s, "rtd", path, tuple(RTD_TYPES), default="pt100")
    r0 = RTD_TYPES[rtd]
    r_ref = c.number(s, "r_ref", path, 4.3 * r0, lo=1, hi=100_000)
    if r_ref is not None and r_ref <= r0:
        c.add(
            f"{path}.r_ref", f"must be above the RTD's {r0:g} ohm (typically 4 x R0), got {r_ref!r}"
        )
    wires = c.choice(s, "wires", path, (2, 3, 4), default=3)
    filter_hz = c.choice(s, "filter_hz", path, (50, 60), default=50)
    interval = c.number(s, "sample_interval_s", path, 1.0, lo=0.05, hi=3600)
    range_c = s.get("range_c", [-50.0, 200.0])
    if (
        not isinstance(range_c, list)
        or len(range_c) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in range_c)
        or not -200 <= range_c[0] < range_c[1] <= 850
    ):
        c.add(f"{path}.range_c", f"must be [low, high] in °C within -200..850, got {range_c!r}")
        range_c = [-50.0, 200.0]
    if s.get("unit", "°C") != "°C":
        c.add(f"{path}.unit", "temperatures are reported in °C")
    if "kind" in s and s["kind"] != "temperature":
        c.add(f"{path}.kind", "a max31865 measures temperature: kind is 'temperature'")
    return {
        "rtd": rtd,
        "r0": r0,
        "r_ref": float(r_ref or 4.3 * r0),
        "wires": wires,
        "filter_hz": filter_hz,
        "range_c": (float(range_c[0]), float(range_c[1])),
        "sample_interval_s": float(interval),
        "unit": "°C",
    }


def _adc_fields(c: _Checker, s: dict, path: str, platform: str) -> dict[str, Any]:
    kind = c.choice(s, "kind", path, ADC_KINDS)
    channel = c.number(s, "channel", path, lo=0, hi=3, integer=True, required=True)
    gain = c.choice(s, "gain", path, ads_regs.GAINS, default=1)
    rates = tuple(ads_regs.output_rates())
    odr = s.get("odr_hz", 1000.0)
    if (
        not isinstance(odr, int | float)
        or isinstance(odr, bool)
        or not any(abs(odr - r) <= 1e-6 * r for r in rates)
    ):
        c.add(
            f"{path}.odr_hz",
            f"must be one of {', '.join(f'{r:g}' for r in rates)} (CLKIN 8.192 MHz), got {odr!r}",
        )
        odr = 1000.0
    per_volt = c.number(s, "units_per_volt", path, lo=1e-9, hi=1e9, required=True)
    unit = c.string(s, "unit", path, default="A" if kind == "current" else "V")
    drdy = c.number(s, "drdy", path, lo=0, hi=1023, integer=True, required=platform == "linux")
    return {
        "kind": kind or "current",
        "channel": channel,
        "gain": gain,
        "odr_hz": float(odr),
        "units_per_volt": float(per_volt or 1.0),
        "unit": unit or "A",
        "drdy": drdy,
    }


def _parse_replay(
    c: _Checker, raw: Any, path: str, platform: str, base: Path | None
) -> ReplaySpec | None:
    if raw is None:
        return None
    if platform != "sim":
        c.add(path, "replay is for simulated boards")
        return None
    table = c.table(raw, path)
    if not table:
        return None
    c.unknown(table, {"file", "loop", "scale", "fs"}, path)
    file = c.string(table, "file", path)
    loop = c.boolean(table, "loop", path, True)
    scale = c.number(table, "scale", path, 1.0)
    fs = c.number(table, "fs", path, None, lo=1e-3)
    if file is None:
        return None
    p = Path(file)
    if not p.is_absolute() and base is not None:
        p = base / p
    if not p.is_file():
        c.add(f"{path}.file", f"no such file {str(p)!r}")
        return None
    return ReplaySpec(p, loop, float(scale), None if fs is None else float(fs))


def read_board_file(path: Path) -> BoardSpec:
    """Parse and validate a board file (TOML syntax errors are reported with their line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BoardError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(str(path), [f"not valid TOML: {exc}"]) from None
    spec = parse_board(data, str(path), path.parent)
    return BoardSpec(**{**spec.__dict__, "path": path})
