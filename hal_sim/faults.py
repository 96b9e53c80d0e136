"""Faults injected into the simulated plant at run time: what they are and when they act.

A fault acts on a machine (mechanical, thermal and electrical kinds) or on the sensors of a
machine or one sensor (sensor kinds). Its severity (0..1) can ramp up linearly over `ramp_s`
seconds from its start time. Faults are never forgotten once injected: a signal block that is
made later (chips make samples only when they are read) must still see a fault that was active
at its time, or the same run would not give the same bytes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

MACHINE_FAULTS: tuple[str, ...] = (
    "imbalance",
    "misalignment",
    "looseness",
    "bearing_outer",
    "bearing_inner",
    "bearing_ball",
    "cage",
    "overheating",
    "broken_rotor_bar",
)
SENSOR_FAULTS: tuple[str, ...] = ("sensor_disconnect", "wrong_identity", "fifo_stall")
FAULT_KINDS: tuple[str, ...] = MACHINE_FAULTS + SENSOR_FAULTS

FAULT_DESCRIPTIONS: dict[str, str] = {
    "imbalance": "mass imbalance: 1x running speed, radial",
    "misalignment": "shaft misalignment: 2x (and 1x) running speed, strong axial",
    "looseness": "mechanical looseness: many harmonics and half-order sub-harmonics",
    "bearing_outer": "outer-race defect: impacts at BPFO ringing a structural resonance",
    "bearing_inner": "inner-race defect: impacts at BPFI, modulated by the shaft (1x sidebands)",
    "bearing_ball": "rolling-element defect: impacts at 2x BSF, modulated by the cage (FTF)",
    "cage": "cage defect: FTF and its harmonics, weak impacts at FTF",
    "overheating": "bearing overheating: temperature rises towards +60 C at severity 1",
    "broken_rotor_bar": "broken rotor bars: motor current sidebands at f_line (1 +- 2 slip)",
    "sensor_disconnect": "sensor unplugged: the chip stops answering (RTD: open circuit; "
    "current clamp: reads zero)",
    "wrong_identity": "another chip answers on the sensor's chip select",
    "fifo_stall": "the chip stops producing samples although it still answers",
}


class FaultError(ValueError):
    """A fault request that cannot be honoured; the message says why and what is allowed."""


@dataclass(frozen=True)
class Fault:
    """One injected fault. `at` and `cleared_at` are clock times in seconds."""

    id: str
    target: str  # machine id, or sensor id for sensor kinds
    kind: str
    severity: float
    ramp_s: float
    at: float
    cleared_at: float | None = None

    def level(self, t: float) -> float:
        """Severity in effect at clock time t (0 outside the fault's life)."""
        if t < self.at or (self.cleared_at is not None and t >= self.cleared_at):
            return 0.0
        if self.ramp_s > 0.0:
            return self.severity * min(1.0, (t - self.at) / self.ramp_s)
        return self.severity

    def levels_at(self, times: np.ndarray) -> np.ndarray:
        """Severity in effect at each of `times` (vectorised `level`)."""
        end = math.inf if self.cleared_at is None else self.cleared_at
        live = (times >= self.at) & (times < end)
        if self.ramp_s > 0.0:
            ramp = np.minimum(1.0, (times - self.at) / self.ramp_s)
            return np.where(live, self.severity * ramp, 0.0)
        return np.where(live, self.severity, 0.0)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["active"] = self.cleared_at is None
        return out


class FaultTimeline:
    """Every fault ever injected into one plant, queried by machine/sensor, kind and time.

    Changes replace the dict instead of changing it, so the chips' synthesis may read on the
    acquisition thread while faults are injected from another one.
    """

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self.version = 0  # bumps on every change, so callers can cache lookups
        self.has_sensor_faults = False
        self._of_cache: dict[tuple[str, str], list[Fault]] = {}
        self._of_version = -1

    def add(self, target: str, kind: str, severity: float, ramp_s: float, at: float) -> Fault:
        if kind not in FAULT_KINDS:
            raise FaultError(f"kind: unknown fault {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if not _finite(severity) or not 0.0 <= severity <= 1.0:
            raise FaultError(f"severity: must be a number from 0 to 1, got {severity!r}")
        if not _finite(ramp_s) or ramp_s < 0:
            raise FaultError(f"ramp_s: must be a number of seconds >= 0, got {ramp_s!r}")
        fault = Fault(f"f{next(self._ids)}", target, kind, float(severity), float(ramp_s), at)
        self._faults = {**self._faults, fault.id: fault}
        self.has_sensor_faults |= kind in SENSOR_FAULTS
        self.version += 1
        return fault

    def clear(self, fault_id: str, at: float) -> Fault:
        fault = self._faults.get(fault_id)
        if fault is None:
            known = ", ".join(self._faults) or "none"
            raise FaultError(f"no fault {fault_id!r} (faults: {known})")
        if fault.cleared_at is not None:
            return fault
        cleared = replace(fault, cleared_at=max(at, fault.at))
        self._faults = {**self._faults, fault_id: cleared}
        self.version += 1
        return cleared

    def active(self) -> list[Fault]:
        return [f for f in self._faults.values() if f.cleared_at is None]

    def all(self) -> list[Fault]:
        return list(self._faults.values())

    def level(self, targets: tuple[str, ...], kind: str, t: float) -> float:
        """Largest severity of `kind` acting at time t on any of `targets`."""
        best = 0.0
        for fault in self._faults.values():
            if fault.kind == kind and fault.target in targets:
                value = fault.level(t)
                if value > best:
                    best = value
        return best

    def of(self, target: str, kind: str) -> list[Fault]:
        """Every fault of `kind` ever injected into `target` (cached until the next change)."""
        key = (target, kind)
        if self._of_version != self.version:
            self._of_cache.clear()
            self._of_version = self.version
        found = self._of_cache.get(key)
        if found is None:
            found = [f for f in self._faults.values() if f.target == target and f.kind == kind]
            self._of_cache[key] = found
        return found

    def levels(self, targets: tuple[str, ...], t: float) -> dict[str, float]:
        """Severity per kind at time t (kinds with no effect are left out)."""
        out: dict[str, float] = {}
        for fault in self._faults.values():
            if fault.target in targets:
                value = fault.level(t)
                if value > out.get(fault.kind, 0.0):
                    out[fault.kind] = value
        return out


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
