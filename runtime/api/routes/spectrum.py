"""Spectra: the latest amplitude and envelope spectrum of each axis of a vibration sensor.

From the live state (updated with every analysis frame); right after a start, before the
first frame, from the last snapshot in the store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ...catalog import SensorEntry
from ...readings import iso_utc
from .. import slashes
from ..context import ApiContext
from ..deps import Ctx, Reader
from ..errors import ApiError
from ..selection import id_list
from .sensors import find_sensor

router = APIRouter(tags=["spectrum"])

KINDS = ("spectrum", "envelope")
AMPLITUDE_UNIT = "m/s²"  # peak amplitude per bin


class Peak(BaseModel):
    frequency_hz: float
    amplitude: float


class SpectrumBlock(BaseModel):
    kind: Literal["spectrum", "envelope"]
    timestamp: str
    bin_width_hz: float
    n_bins: int
    fmax_hz: float
    decimation: int
    amplitudes: list[float]
    frequencies: list[float] | None = None
    peaks: list[Peak]


class AxisSpectra(BaseModel):
    axis: str
    spectrum: SpectrumBlock | None = None  # left out when not asked for (kind=)
    envelope: SpectrumBlock | None = None


class SensorSpectra(BaseModel):
    sensor_id: str
    sensor_name: str
    device_id: str
    unit: str
    source: Literal["live", "stored"]
    axes: list[AxisSpectra]


class SpectrumSummary(BaseModel):
    axis: str
    timestamp: str
    bin_width_hz: float
    peaks: list[Peak]
    envelope_peaks: list[Peak]


def latest_spectra(ctx: ApiContext, sensor: SensorEntry) -> tuple[str, dict[tuple[str, str], Any]]:
    """{(axis, kind): snapshot} of the sensor, from the live state or else the store."""
    live = {
        (axis, kind): snap
        for axis in sensor.axes
        for kind in KINDS
        if (snap := ctx.live.spectrum(sensor.id, axis, kind)) is not None
    }
    if live:
        return "live", live
    stored = {(s.axis or "", s.kind): s for s in ctx.store.latest_spectra(sensor.id)}
    return "stored", stored


def _peaks(peaks: Any, n: int, fmax: float | None = None) -> list[dict[str, float]]:
    pairs = [(float(f), float(a)) for f, a in peaks if fmax is None or float(f) <= fmax]
    pairs.sort(key=lambda p: -p[1])
    return [{"frequency_hz": _short(f), "amplitude": _short(a)} for f, a in pairs[:n]]


def _short(x: float) -> float:
    return float(f"{x:.6g}")


def spectrum_summary(
    ctx: ApiContext, sensor: SensorEntry, peaks: int = 5
) -> list[dict[str, Any]] | None:
    """The strongest peaks per axis of the latest spectra; None for a sensor without any."""
    _, spectra = latest_spectra(ctx, sensor)
    if not spectra:
        return None
    out = []
    for axis in sorted({axis for axis, _ in spectra}):
        spectrum, envelope = spectra.get((axis, "spectrum")), spectra.get((axis, "envelope"))
        first = spectrum or envelope
        out.append(
            {
                "axis": axis,
                "timestamp": iso_utc(first.ts),
                "bin_width_hz": first.bin_width_hz,
                "peaks": _peaks(spectrum.peaks, peaks) if spectrum else [],
                "envelope_peaks": _peaks(envelope.peaks, peaks) if envelope else [],
            }
        )
    return out


def spectrum_block(
    snap: Any,
    fmax: float | None,
    max_bins: int | None,
    frequencies: bool,
    peaks: int,
) -> dict[str, Any]:
    amplitudes = np.asarray(snap.amplitudes, dtype=np.float32)
    width = float(snap.bin_width_hz)
    if fmax is not None:
        amplitudes = amplitudes[: int(np.floor(fmax / width + 1e-9)) + 1]
    step = 1
    if max_bins is not None and amplitudes.size > max_bins:
        # Peak hold: bin i of the result is the largest of the original bins
        # [i*step, (i+1)*step), so no line disappears from the plot.
        step = -(-amplitudes.size // max_bins)
        padded = np.zeros(-(-amplitudes.size // step) * step, dtype=np.float32)
        padded[: amplitudes.size] = amplitudes
        amplitudes = padded.reshape(-1, step).max(axis=1)
    bin_width = width * step
    n = int(amplitudes.size)
    block: dict[str, Any] = {
        "kind": snap.kind,
        "timestamp": iso_utc(snap.ts),
        "bin_width_hz": bin_width,
        "n_bins": n,
        "fmax_hz": bin_width * (n - 1) if n else 0.0,
        "decimation": step,
        "amplitudes": [float(v) for v in np.char.mod("%.6g", amplitudes).tolist()] if n else [],
        "peaks": _peaks(snap.peaks, peaks, fmax),
    }
    if frequencies:
        block["frequencies"] = [_short(f) for f in (np.arange(n) * bin_width).tolist()]
    return block


@slashes.get(
    router,
    "/spectrum/{sensor_id}/",
    summary="Latest spectra of a vibration sensor",
    description="The latest amplitude spectrum and envelope spectrum of each axis "
    f"(amplitudes in {AMPLITUDE_UNIT}, peak per bin). Bin `i` is at `i * bin_width_hz` Hz; "
    "`frequencies=true` also lists them. `fmax` cuts the spectrum above that frequency; "
    "`max_bins` decimates it by peak hold (each bin is the largest of the bins it replaces; "
    "`decimation` says how many). 404 for an unknown sensor or one without spectra "
    "(temperature, current).",
    response_model=SensorSpectra,
    response_model_exclude_none=True,
)
def sensor_spectrum(
    sensor_id: str,
    ctx: Ctx,
    _: Reader,
    axis: Annotated[list[str] | None, Query(description="x, y or z; may repeat")] = None,
    kind: Annotated[list[Literal["spectrum", "envelope"]] | None, Query()] = None,
    fmax: Annotated[float | None, Query(gt=0, description="highest frequency, Hz")] = None,
    max_bins: Annotated[int | None, Query(ge=2, le=65536, description="at most this many")] = None,
    frequencies: bool = Query(False, description="also list each bin's frequency"),
    peaks: int = Query(10, ge=0, le=100, description="peaks listed per spectrum"),
) -> dict[str, Any]:
    sensor = find_sensor(ctx, sensor_id)
    source, spectra = latest_spectra(ctx, sensor)
    if not spectra:
        if not sensor.axes:
            raise ApiError(404, f"sensor {sensor.id!r} ({sensor.kind}) has no spectra")
        raise ApiError(404, f"sensor {sensor.id!r} has no spectrum yet (no frame analysed)")
    axes = id_list(axis)
    for a in axes or ():
        if a not in sensor.axes:
            raise ApiError(
                400,
                f"axis: sensor {sensor.id!r} has no axis {a!r} (it has {', '.join(sensor.axes)})",
            )
    kinds = tuple(kind) if kind else KINDS
    return {
        "sensor_id": sensor.id,
        "sensor_name": sensor.name,
        "device_id": sensor.device_id,
        "unit": AMPLITUDE_UNIT,
        "source": source,
        "axes": [
            {
                "axis": a,
                **{
                    k: spectrum_block(spectra[(a, k)], fmax, max_bins, frequencies, peaks)
                    if k in kinds and (a, k) in spectra
                    else None
                    for k in KINDS
                },
            }
            for a in sensor.axes
            if (axes is None or a in axes) and any((a, k) in spectra for k in KINDS)
        ],
    }
