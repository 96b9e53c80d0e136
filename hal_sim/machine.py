"""Signal models of a rotating machine: vibration per mounting direction, motor current, and
bearing temperature, each shaped by the faults acting on the machine.

Vibration (m/s², per direction radial_horizontal / radial_vertical / axial):
- running-speed harmonics of a healthy machine and twice line frequency (magnetic pull);
- imbalance: 1x radial, vertical 90 degrees behind horizontal;
- misalignment: 2x and 1x with the axial direction strongest;
- looseness: harmonics up to 10x and half-order sub-harmonics (0.5x, 1.5x, ...), more noise;
- bearing defects as impact trains at their defect frequency (BPFO, BPFI, 2 x BSF, FTF, from
  the bearing geometry and the shaft speed), each impact ringing a lightly damped structural
  resonance, with random 1 % slip in the impact times; inner-race impacts are modulated by the
  shaft (1x sidebands in the envelope spectrum), ball impacts by the cage (FTF sidebands);
- broadband noise.
Levels of the harmonic faults are set in velocity (mm/s RMS per component at severity 1), the
unit ISO 20816 judges, and converted to acceleration.

Current (A): line frequency scaled with load, small odd harmonics, rotor-bar sidebands at
f_line (1 +- 2 s) growing with the broken_rotor_bar severity, eccentricity sidebands at
f_line +- 1x growing with imbalance, misalignment and looseness.

Temperature (°C): first-order thermal model of the bearing housing towards ambient + load rise
+ heat from bearing defects and from `overheating`, integrated on a fixed 1 s grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp_ext.bearing import BearingGeometry, bearing_frequencies

from .faults import FaultTimeline
from .signal import (
    SINE_TABLES,
    LruCache,
    hashed_normal_pair,
    hashed_uniform,
    mix64,
    noise_bank,
    ringdown_kernel,
    stable_key,
)

DIRECTIONS: tuple[str, ...] = ("radial_horizontal", "radial_vertical", "axial")
H, V, A = 0, 1, 2
ANTI_ALIAS = 0.45  # components above this fraction of the sample rate are filtered by the chip

# Peak ringing acceleration (m/s²) of one impact at severity 1, and per-direction gains.
IMPACT_M_S2 = {"bearing_outer": 25.0, "bearing_inner": 20.0, "bearing_ball": 15.0, "cage": 4.0}
IMPACT_GAIN = np.array([0.75, 1.0, 0.4], dtype=np.float32)
SLIP_JITTER = 0.01  # standard deviation of an impact's time, as a fraction of its period
BEARING_KINDS = ("bearing_outer", "bearing_inner", "bearing_ball", "cage")


@dataclass(frozen=True)
class MachineSpec:
    """A simulated machine as the board file describes it."""

    id: str
    name: str
    rpm: float
    bearing: BearingGeometry
    bearing_name: str = ""
    poles: int = 4
    line_hz: float = 50.0
    load: float = 0.75  # fraction of rated load
    rated_current_a: float = 28.0
    ambient_c: float = 25.0
    temperature_rise_c: float = 20.0  # bearing rise over ambient at full load
    thermal_time_constant_s: float = 600.0
    resonance_hz: float = 3200.0
    damping: float = 0.04
    vibration_mm_s: float = 1.0  # healthy overall velocity, scales the healthy harmonics
    noise_m_s2: float = 0.05  # broadband acceleration noise, RMS per axis

    @property
    def shaft_hz(self) -> float:
        return self.rpm / 60.0

    @property
    def sync_rpm(self) -> float:
        return 120.0 * self.line_hz / self.poles

    @property
    def slip(self) -> float:
        return max(0.0, (self.sync_rpm - self.rpm) / self.sync_rpm)


def _v2a(v_rms_mm_s: float, freq: float) -> float:
    """Peak acceleration (m/s²) of a sinusoid with RMS velocity v (mm/s) at freq (Hz)."""
    return v_rms_mm_s * 1e-3 * math.sqrt(2.0) * 2.0 * math.pi * freq


class MachineModel:
    """Signals of one machine for every sensor mounted on it."""

    def __init__(self, spec: MachineSpec, faults: FaultTimeline, seed: int, t_start: float):
        self.spec = spec
        self.faults = faults
        self.seed = seed
        self.key = stable_key("machine", seed, spec.id)
        self._targets = (spec.id,)
        fr = spec.shaft_hz
        self.defects = bearing_frequencies(spec.bearing, fr)
        self._impact_rates = {
            "bearing_outer": self.defects.bpfo,
            "bearing_inner": self.defects.bpfi,
            "bearing_ball": 2.0 * self.defects.bsf,
            "cage": self.defects.ftf,
        }
        self._build_components()
        self._kernels = LruCache(8)
        self._mixes = LruCache(32)
        self._streams = {k: self.key ^ stable_key(k) for k in BEARING_KINDS}
        self.thermal = ThermalModel(self, t_start)

    # -- vibration --------------------------------------------------------------------------

    def _build_components(self) -> None:
        """Every sinusoid the machine can show, with a velocity table per source of it."""
        s = self.spec
        fr, ftf, line = s.shaft_hz, self.defects.ftf, s.line_hz
        freqs: list[float] = []
        tables: dict[str, list[tuple[int, tuple[float, float, float]]]] = {}

        def add(source: str, freq: float, velocity: tuple[float, float, float]) -> int:
            freqs.append(freq)
            tables.setdefault(source, []).append((len(freqs) - 1, velocity))
            return len(freqs) - 1

        k = s.vibration_mm_s
        add("healthy", fr, (0.75 * k, 0.6 * k, 0.3 * k))
        add("healthy", 2 * fr, (0.3 * k, 0.25 * k, 0.15 * k))
        add("healthy", 3 * fr, (0.1 * k, 0.08 * k, 0.06 * k))
        add("healthy", 2 * line, (0.15 * k, 0.15 * k, 0.05 * k))
        self._imbalance_index = add("imbalance", fr, (9.0, 7.0, 1.2))
        add("misalignment", fr, (2.0, 1.5, 5.0))
        add("misalignment", 2 * fr, (4.0, 3.0, 8.0))
        add("misalignment", 3 * fr, (1.0, 0.8, 2.0))
        for j, order in enumerate((0.5, 1.5, 2.5, 3.5)):
            g = (1.0, 0.8, 0.6, 0.5)[j]
            add("looseness", order * fr, (1.0 * g, 1.6 * g, 0.4 * g))
        for order in range(1, 11):
            g = 0.8 ** (order - 1)
            add("looseness", order * fr, (1.5 * g, 2.4 * g, 0.6 * g))
        for order, g in ((1, 1.0), (2, 0.5), (3, 0.3)):
            add("cage", order * ftf, (0.8 * g, 1.0 * g, 0.4 * g))
        add("cage", fr - ftf, (0.5, 0.6, 0.2))
        add("cage", fr + ftf, (0.5, 0.6, 0.2))

        self.freqs = np.array(freqs, dtype=np.float64)
        n = len(freqs)
        self._amp_tables: dict[str, np.ndarray] = {}
        for source, entries in tables.items():
            table = np.zeros((n, 3), dtype=np.float64)
            for index, velocity in entries:
                table[index] = [_v2a(v, freqs[index]) for v in velocity]
            self._amp_tables[source] = table
        idx = np.arange(n * 3).reshape(n, 3)
        self.phases = 2.0 * np.pi * hashed_uniform(self.key, idx.ravel(), 7).reshape(n, 3)
        # Imbalance: a rotating force, seen 90 degrees later by the vertical direction.
        i = self._imbalance_index
        self.phases[i, V] = self.phases[i, H] - math.pi / 2

    def vibration_levels(self, t: float) -> dict[str, float]:
        return self.faults.levels(self._targets, t)

    def accel_block(
        self, sensor_key: int, directions: tuple[int, ...], rate: float, index: int, size: int
    ) -> np.ndarray:
        """Acceleration (size, len(directions)) float32 m/s² for block `index` at `rate`."""
        first = index * size
        t0 = first / rate
        levels = self.vibration_levels(t0)
        freqs, amps, phases, gains = self._mix(levels, directions, rate)
        out = SINE_TABLES.synth(freqs, amps, phases, rate, first, size)
        impacts = self._impacts(t0, rate, first, size)
        if impacts is not None:
            out += impacts[:, None] * IMPACT_GAIN[list(directions)][None, :]
        noise = noise_bank(self.seed).block(sensor_key, index, size, len(directions))
        out += noise * gains[None, :]
        return out

    def _mix(
        self, levels: dict[str, float], directions: tuple[int, ...], rate: float
    ) -> tuple[tuple[float, ...], np.ndarray, np.ndarray, np.ndarray]:
        """Sinusoids (frequencies, amplitudes, phases per axis) and noise gains for a set of
        fault levels; cached, since levels change far less often than blocks are made."""
        key = (tuple(sorted(levels.items())), tuple(directions), rate)

        def make() -> tuple[tuple[float, ...], np.ndarray, np.ndarray, np.ndarray]:
            amps = self._amp_tables["healthy"].copy()
            for kind in ("imbalance", "misalignment", "looseness", "cage"):
                sev = levels.get(kind, 0.0)
                if sev > 0.0:
                    amps += sev * self._amp_tables[kind]
            dirs = list(directions)
            amps_d = amps[:, dirs]
            active = np.nonzero((amps_d.max(axis=1) > 0.0) & (self.freqs < ANTI_ALIAS * rate))[0]
            sigma = self.spec.noise_m_s2 * (
                1.0
                + 1.5 * levels.get("looseness", 0.0)
                + 0.5 * max((levels.get(k, 0.0) for k in BEARING_KINDS), default=0.0)
            )
            gains = np.array([sigma, sigma, 0.8 * sigma], dtype=np.float32)[dirs]
            freqs = tuple(float(f) for f in self.freqs[active])
            return freqs, amps_d[active], self.phases[active][:, dirs], gains

        return self._mixes.get(key, make)  # type: ignore[return-value]

    def _kernel(self, rate: float) -> np.ndarray | None:
        s = self.spec
        if s.resonance_hz >= ANTI_ALIAS * rate:
            return None  # the sensor's own filter removes the ringing
        return self._kernels.get(rate, lambda: ringdown_kernel(s.resonance_hz, s.damping, rate))  # type: ignore[return-value]

    def _impacts(self, t0: float, rate: float, first: int, size: int) -> np.ndarray | None:
        """Sum of every defect impact ringing into this block (mono, before direction gains).

        Impact k of a defect happens at (k + jitter_k) / f_defect: a property of the machine,
        so every sensor on it sees the same impacts. Each impact adds the ring-down kernel
        scaled by the fault's severity at its own time; the tails of impacts from the previous
        block are included, so blocks join seamlessly however they are requested.
        """
        faults = {k: self.faults.of(self.spec.id, k) for k in BEARING_KINDS}
        if not any(faults.values()):
            return None
        kernel = self._kernel(rate)
        if kernel is None:
            return None
        length = len(kernel)
        t_end = (first + size) / rate
        fr = self.spec.shaft_hz
        positions, amplitudes = [], []
        for kind, kind_faults in faults.items():
            if not kind_faults:
                continue
            f_d = self._impact_rates[kind]
            ks = np.arange(math.floor((t0 - length / rate) * f_d) - 1, math.ceil(t_end * f_d) + 1)
            stream = self._streams[kind]
            jitter, spread = hashed_normal_pair(stream, ks, 1)
            times = (ks + SLIP_JITTER * jitter) / f_d
            pos = np.rint(times * rate).astype(np.int64) - first
            keep = (pos > -length) & (pos < size)
            if not keep.any():
                continue
            times, pos, spread = times[keep], pos[keep], spread[keep]
            level = np.zeros(len(times))
            for fault in kind_faults:
                np.maximum(level, fault.levels_at(times), out=level)
            amp = IMPACT_M_S2[kind] * level * (1.0 + 0.15 * spread)
            if kind == "bearing_inner":
                amp *= (1.0 + 0.8 * np.cos(2 * np.pi * fr * times)) / 1.8
            elif kind == "bearing_ball":
                amp *= (1.0 + 0.8 * np.cos(2 * np.pi * self.defects.ftf * times)) / 1.8
            hit = amp != 0.0
            positions.append(pos[hit])
            amplitudes.append(amp[hit])
        if not positions or not sum(len(p) for p in positions):
            return None
        pos = np.concatenate(positions) + length  # shifted: tails from before the block
        amp = np.concatenate(amplitudes)
        index = (pos[:, None] + np.arange(length)[None, :]).ravel()
        values = (amp[:, None] * kernel[None, :]).ravel()
        buf = np.bincount(index, weights=values, minlength=size + 2 * length)
        return buf[length : length + size].astype(np.float32)

    # -- current ----------------------------------------------------------------------------

    def current_rms(self) -> float:
        return self.spec.rated_current_a * (0.3 + 0.7 * self.spec.load)

    def current_block(self, sensor_key: int, rate: float, index: int, size: int) -> np.ndarray:
        """Phase current (size,) float32 A for block `index` at `rate`."""
        s = self.spec
        first = index * size
        levels = self.faults.levels(self._targets, first / rate)
        peak = math.sqrt(2.0) * self.current_rms()
        f, fr, slip = s.line_hz, s.shaft_hz, s.slip
        bars = 0.002 + 0.03 * levels.get("broken_rotor_bar", 0.0)
        ecc = 0.001 + 0.01 * max(
            levels.get("imbalance", 0.0),
            levels.get("misalignment", 0.0),
            levels.get("looseness", 0.0),
        )
        comps = [
            (f, 1.0),
            (3 * f, 0.02),
            (5 * f, 0.03),
            (7 * f, 0.01),
            (f * (1 - 2 * slip), bars),
            (f * (1 + 2 * slip), bars),
            (f - fr, ecc),
            (f + fr, ecc),
        ]
        comps = [(fq, a) for fq, a in comps if 0 < fq < ANTI_ALIAS * rate]
        freqs = [fq for fq, _ in comps]
        amps = np.array([[peak * a] for _, a in comps])
        phases = 2 * np.pi * hashed_uniform(self.key, np.arange(len(comps)), 11)[:, None]
        out = SINE_TABLES.synth(freqs, amps, phases, rate, first, size)[:, 0]
        noise = noise_bank(self.seed).block(sensor_key, index, size, 1)[:, 0]
        out += np.float32(0.002 * peak) * noise
        return out

    # -- temperature ------------------------------------------------------------------------

    def heat_target(self, t: float) -> float:
        """Steady bearing temperature (°C) the housing heads for under the faults at time t."""
        s = self.spec
        levels = self.faults.levels(self._targets, t)
        bearing = max((levels.get(k, 0.0) for k in BEARING_KINDS), default=0.0)
        return (
            s.ambient_c
            + s.temperature_rise_c * s.load
            + 60.0 * levels.get("overheating", 0.0)
            + 15.0 * bearing
            + 6.0 * levels.get("misalignment", 0.0)
            + 3.0 * levels.get("looseness", 0.0)
        )

    def bearing_temperature(self, t: float) -> float:
        return self.thermal.temperature(t)


class ThermalModel:
    """First-order lag towards `heat_target`, stepped on a fixed 1 s grid from the plant's start.

    The state at a grid point is computed only once the clock has passed it, and faults can
    only start at or after the current time, so a temperature never changes after the fact.
    """

    STEP = 1.0
    CHECKPOINT_EVERY = 3600

    def __init__(self, machine: MachineModel, t_start: float) -> None:
        self.machine = machine
        self.t_start = t_start
        self.decay = math.exp(-self.STEP / machine.spec.thermal_time_constant_s)
        self._k = 0
        self._temp = machine.heat_target(t_start)
        self._checkpoints: dict[int, float] = {0: self._temp}

    def temperature(self, t: float) -> float:
        if t <= self.t_start:
            return self._checkpoints[0]
        k = int((t - self.t_start) // self.STEP)
        if k < self._k:  # an earlier time than the state: step again from a checkpoint
            base = (k // self.CHECKPOINT_EVERY) * self.CHECKPOINT_EVERY
            self._k, self._temp = base, self._checkpoints[base]
        while self._k < k:
            target = self.machine.heat_target(self.t_start + self._k * self.STEP)
            self._temp = target + (self._temp - target) * self.decay
            self._k += 1
            if self._k % self.CHECKPOINT_EVERY == 0:
                self._checkpoints[self._k] = self._temp
        t_k = self.t_start + self._k * self.STEP
        target = self.machine.heat_target(t_k)
        tau = self.machine.spec.thermal_time_constant_s
        return target + (self._temp - target) * math.exp(-(t - t_k) / tau)


def direction_index(name: str) -> int:
    try:
        return DIRECTIONS.index(name)
    except ValueError:
        raise ValueError(
            f"mounting: unknown direction {name!r}; use one of {', '.join(DIRECTIONS)}"
        ) from None


def unit_key(*parts: object) -> int:
    """Key of a noise stream (a sensor's axes, a current clamp) within a plant."""
    return mix64(stable_key(*parts))
