"""`esocore analyze`: the vibration figures of a recorded waveform (or a demo signal)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from dsp_ext import (
    COMMON_BEARINGS,
    METRIC_UNITS,
    METRICS,
    AnalysisSettings,
    Analyzer,
    bearing_frequencies,
)
from dsp_ext.settings import MAX_N, MIN_N
from dsp_ext.signal_io import SignalFileError, Waveform, read_waveform

from .errors import UsageError

DEMO_FS = 26667.0
FLOAT32_MAX = float(np.finfo(np.float32).max)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "analyze",
        help="analyse a recorded waveform (WAV, CSV, NPY) and print every vibration figure",
        description=(
            "Analyse one frame of a recorded acceleration waveform in m/s² (WAV rate from the "
            "file; CSV one column per axis; NPY (samples,) or (samples, channels)). Integer WAV "
            "samples are read as fractions of full scale: give --scale in m/s² per full scale."
        ),
    )
    p.add_argument("file", nargs="?", help="waveform file (.wav, .csv, .npy)")
    p.add_argument("--demo", action="store_true", help="analyse a generated demo signal instead")
    p.add_argument("--fs", type=float, help="sample rate in Hz (required for CSV and NPY)")
    p.add_argument("--format", choices=("wav", "csv", "npy"), help="override the file suffix")
    p.add_argument(
        "--axis-columns",
        help="comma-separated columns to analyse, by CSV header name or 0-based index",
    )
    p.add_argument("--scale", type=float, default=1.0, help="multiply samples by this factor")
    p.add_argument("--n", type=int, help="frame length (power of two; default: largest fitting)")
    p.add_argument("--offset", type=float, default=0.0, help="start of the frame in seconds")
    p.add_argument("--window", choices=("hann", "flattop"), default="hann")
    p.add_argument(
        "--band",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="velocity RMS band in Hz (default 10 1000, ISO 20816)",
    )
    p.add_argument(
        "--envelope-band",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="envelope band-pass in Hz (default 1000 Hz to fs/2.56)",
    )
    p.add_argument("--peaks", type=int, default=5, help="peaks listed per spectrum")
    p.add_argument("--rpm", type=float, help="shaft speed, to list bearing defect frequencies")
    p.add_argument("--bearing", choices=sorted(COMMON_BEARINGS), help="bearing designation")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    _check_numbers(args)
    wave, source = _load(args)
    fs = args.fs or wave.fs
    if fs is None:
        raise UsageError(f"{source}: the file does not carry a sample rate; give --fs HZ")
    total = wave.samples.shape[0]
    start = round(args.offset * fs)
    if not 0 <= start < total:
        raise UsageError(
            f"--offset {args.offset} s lies outside the recording ({total / fs:.3f} s)"
        )
    available = total - start
    n = args.n or _largest_frame(available)
    if n < MIN_N or available < MIN_N:
        raise UsageError(
            f"{source}: {available} samples from the offset; at least {MIN_N} are needed"
        )
    if n > available:
        raise UsageError(f"{source}: --n {n} needs {n} samples but only {available} are available")
    try:
        settings = AnalysisSettings(
            fs=fs,
            n=n,
            window=args.window,
            velocity_band=tuple(args.band) if args.band else None,
            envelope_band=tuple(args.envelope_band) if args.envelope_band else None,
            n_peaks=args.peaks,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    scaled = wave.samples[start : start + n] * args.scale
    if not np.all(np.abs(scaled) <= FLOAT32_MAX):
        what = f"--scale {args.scale:g} makes samples" if args.scale != 1 else "samples are"
        raise UsageError(f"{source}: {what} too large for the analysis (beyond ±3.4e38)")
    frames = np.ascontiguousarray(scaled.T, np.float32)
    result = Analyzer(settings).analyze(frames)
    report = _report(source, wave, settings, result, start, args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
    return 0


def _check_numbers(args: argparse.Namespace) -> None:
    if args.fs is not None and not (math.isfinite(args.fs) and args.fs > 0):
        raise UsageError(f"--fs: must be a positive sample rate in Hz, got {args.fs}")
    if not (math.isfinite(args.offset) and args.offset >= 0):
        raise UsageError(f"--offset: must be a time of 0 s or more, got {args.offset}")
    if not (math.isfinite(args.scale) and args.scale != 0):
        raise UsageError(f"--scale: must be a finite factor other than 0, got {args.scale}")
    if args.rpm is not None and not (math.isfinite(args.rpm) and args.rpm > 0):
        raise UsageError(f"--rpm: must be a positive speed, got {args.rpm}")


def _load(args: argparse.Namespace) -> tuple[Waveform, str]:
    if args.demo:
        if args.file:
            raise UsageError("give either a file or --demo, not both")
        return demo_waveform(), "demo signal"
    if not args.file:
        raise UsageError("give a waveform file (or --demo)")
    columns = [c.strip() for c in args.axis_columns.split(",")] if args.axis_columns else None
    try:
        return read_waveform(args.file, columns, args.format), args.file
    except SignalFileError as exc:
        raise UsageError(str(exc)) from None


def _largest_frame(available: int) -> int:
    if available < MIN_N:
        return MIN_N
    return min(MAX_N, 1 << (available.bit_length() - 1))


def demo_waveform(seconds: float = 2.5, seed: int = 7) -> Waveform:
    """A pump motor at 1480 rpm with imbalance and an outer-race defect on its 6205 bearing."""
    rng = np.random.default_rng(seed)
    fs = DEMO_FS
    t = np.arange(int(seconds * fs)) / fs
    shaft = 1480 / 60
    bpfo = bearing_frequencies(COMMON_BEARINGS["6205"], shaft).bpfo
    radial = 3.0 * np.sin(2 * np.pi * shaft * t) + 0.8 * np.sin(2 * np.pi * 2 * shaft * t + 0.4)
    impulses = np.zeros_like(t)
    impulses[(np.arange(0, seconds, 1 / bpfo) * fs).astype(int)] = 1.0
    ring = np.exp(-t[:200] * 1500) * np.sin(2 * np.pi * 4200 * t[:200])
    bearing = 25.0 * np.convolve(impulses, ring)[: len(t)]
    x = radial + bearing + rng.normal(0, 0.3, len(t))
    y = 0.8 * radial + rng.normal(0, 0.3, len(t))
    z = 0.3 * radial + rng.normal(0, 0.3, len(t)) + 9.80665
    return Waveform(np.stack([x, y, z], axis=1), fs, ("x", "y", "z"))


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


def _report(
    source: str,
    wave: Waveform,
    settings: AnalysisSettings,
    result: Any,
    start: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    s = result.settings
    report: dict[str, Any] = {
        "source": source,
        "fs_hz": s.fs,
        "n": s.n,
        "offset_s": start / s.fs,
        "duration_s": s.n / s.fs,
        "window": s.window,
        "bin_width_hz": s.bin_width,
        "velocity_band_hz": list(s.velocity_band),
        "hf_band_hz": list(s.hf_band) if s.hf_enabled else None,
        "envelope_band_hz": list(s.envelope_band),
        "units": dict(METRIC_UNITS),
        "channels": [],
    }
    if args.rpm:
        geometry = COMMON_BEARINGS[args.bearing or "6205"]
        report["bearing"] = {
            "designation": args.bearing or "6205",
            "frequencies_hz": bearing_frequencies(geometry, args.rpm / 60).as_dict(),
        }
    for i, name in enumerate(wave.channel_names):
        summary = result.channel_summary(i)
        report["channels"].append({"name": name, **summary})
    return report


def _print_text(report: dict[str, Any]) -> None:
    print(
        f"{report['source']}: fs {report['fs_hz']:g} Hz, frame of {report['n']} samples "
        f"({report['duration_s']:.3f} s) from {report['offset_s']:.3f} s, "
        f"{report['window']} window, bin {report['bin_width_hz']:.3f} Hz"
    )
    lo, hi = report["velocity_band_hz"]
    print(
        f"velocity band {lo:g}-{hi:g} Hz; envelope band "
        f"{report['envelope_band_hz'][0]:g}-{report['envelope_band_hz'][1]:g} Hz"
    )
    if "bearing" in report:
        freqs = report["bearing"]["frequencies_hz"]
        listed = ", ".join(f"{k.upper()} {v:.2f}" for k, v in freqs.items())
        print(f"bearing {report['bearing']['designation']}: {listed} Hz")
    units = report["units"]
    for channel in report["channels"]:
        print(f"\nchannel {channel['name']}")
        for name in METRICS:
            value = channel["metrics"][name]
            shown = "not reported" if value is None else f"{value:.4g} {units[name]}".rstrip()
            print(f"  {name:<15} {shown}")
        for label, key in (("spectrum peaks", "peaks"), ("envelope peaks", "envelope_peaks")):
            peaks = ", ".join(
                f"{p['frequency_hz']:.2f} Hz {p['amplitude']:.3g}" for p in channel[key]
            )
            print(f"  {label:<15} {peaks or 'none'} (m/s² peak)")
