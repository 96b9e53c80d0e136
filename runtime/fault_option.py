"""The `--fault MACHINE:KIND:SEVERITY@OFFSET[-END][~RAMP]` option of `esocore run` and
`esocore sim`."""

from __future__ import annotations

from dataclasses import dataclass

from .durations import parse_duration
from .errors import UsageError


@dataclass(frozen=True)
class FaultSpec:
    machine_id: str
    kind: str
    severity: float
    offset_s: float  # after the start of the run
    ramp_s: float = 0.0
    end_s: float | None = None  # cleared this long after the start of the run


def parse_fault(text: str) -> FaultSpec:
    """`motor-1:bearing_outer:0.6@10m` (at 10 minutes), optional `-20m` end (cleared at 20
    minutes) and `~5m` ramp; `@` optional."""
    spec, _, ramp_text = text.partition("~")
    spec, _, offset_text = spec.partition("@")
    parts = spec.split(":")
    if len(parts) != 3 or not all(parts):
        raise UsageError(
            f"--fault {text!r}: expected MACHINE:KIND:SEVERITY[@OFFSET[-END]][~RAMP], "
            "e.g. motor-1:bearing_outer:0.6@10m"
        )
    machine_id, kind, severity_text = parts
    try:
        severity = float(severity_text)
    except ValueError:
        raise UsageError(f"--fault {text!r}: severity {severity_text!r} is not a number") from None
    if not 0 <= severity <= 1:
        raise UsageError(f"--fault {text!r}: severity must be from 0 to 1")
    offset_text, _, end_text = offset_text.partition("-")
    offset = parse_duration(offset_text, "--fault offset") if offset_text else 0.0
    end = parse_duration(end_text, "--fault end") if end_text else None
    if end is not None and end <= offset:
        raise UsageError(f"--fault {text!r}: the end must come after the start")
    ramp = parse_duration(ramp_text, "--fault ramp") if ramp_text else 0.0
    return FaultSpec(machine_id, kind, severity, offset, ramp, end)
