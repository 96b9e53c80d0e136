"""Markdown tables of the DSP benchmark: medians and ratios from pytest-benchmark's JSON.

    .venv/bin/python bench/report_dsp.py bench/dsp.json

Prints the full-analysis table (kernel against the reference and the plain numpy/scipy
analysis), the FFT table (kernel against numpy.fft.rfft and pyFFTW) and the issue's targets
with the margin by which each is met or missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

TARGETS_FULL = {(8192, 3): 5.0, (1024, 3): 10.0}  # reference / kernel at least
TARGET_FFT = 1.5  # kernel / numpy.fft.rfft at most


def load(path: Path) -> tuple[dict, dict]:
    doc = json.loads(path.read_text())
    medians: dict[tuple, dict[str, float]] = defaultdict(dict)
    for bench in doc["benchmarks"]:
        info = bench["extra_info"]
        key = (info["kind"], info["n"], info["channels"])
        medians[key][info["impl"]] = bench["stats"]["median"]
    return doc, medians


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.1f}x"


def full_table(medians: dict) -> list[str]:
    lines = [
        "| N | channels | kernel | reference | plain numpy/scipy | reference / kernel "
        "| plain / kernel |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (kind, n, ch), m in sorted(medians.items()):
        if kind != "full":
            continue
        k, r, p = m.get("kernel"), m.get("reference"), m.get("plain")
        lines.append(
            f"| {n} | {ch} | {fmt_time(k)} | {fmt_time(r)} | {fmt_time(p)} "
            f"| {ratio(r, k)} | {ratio(p, k)} |"
        )
    return lines


def fft_table(medians: dict) -> list[str]:
    lines = [
        "| N | kernel rfft | numpy.fft.rfft | pyFFTW | kernel / numpy | kernel / pyFFTW |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for (kind, n, _), m in sorted(medians.items()):
        if kind != "fft":
            continue
        k, npy, fftw = m.get("kernel"), m.get("numpy"), m.get("pyfftw")
        lines.append(
            f"| {n} | {fmt_time(k)} | {fmt_time(npy)} | {fmt_time(fftw)} "
            f"| {ratio(k, npy)} | {ratio(k, fftw)} |"
        )
    return lines


def targets(medians: dict) -> list[str]:
    lines = []
    for (n, ch), want in TARGETS_FULL.items():
        m = medians.get(("full", n, ch), {})
        if "kernel" not in m or "reference" not in m:
            lines.append(f"- full analysis N={n}, {ch} channels: not measured")
            continue
        got = m["reference"] / m["kernel"]
        verdict = "met" if got >= want else "MISSED"
        lines.append(
            f"- full analysis N={n}, {ch} channels: {got:.1f}x faster than the reference "
            f"(target >= {want:g}x): {verdict}, by a factor {got / want:.2f}"
        )
    worst = None
    for (kind, n, _), m in sorted(medians.items()):
        if kind == "fft" and "kernel" in m and "numpy" in m:
            r = m["kernel"] / m["numpy"]
            verdict = "met" if r <= TARGET_FFT else "MISSED"
            lines.append(
                f"- FFT N={n}: kernel takes {r:.2f}x numpy.fft.rfft's time "
                f"(target <= {TARGET_FFT:g}x): {verdict}"
            )
            worst = r if worst is None else max(worst, r)
    if worst is not None:
        verdict = "met" if worst <= TARGET_FFT else "MISSED"
        lines.append(f"- FFT, worst N: {worst:.2f}x numpy's time: {verdict}")
    return lines


def machine(doc: dict) -> list[str]:
    info = doc.get("machine_info", {})
    cpu = info.get("cpu", {})
    extra = next((b["extra_info"] for b in doc["benchmarks"]), {})
    arch = cpu.get("arch_string_raw", info.get("machine", "?"))
    return [
        f"- CPU: {cpu.get('brand_raw', '?')} ({arch}), {extra.get('cpu_count', '?')} logical cores",
        f"- Python {info.get('python_version', '?')} ({info.get('python_implementation', '?')}), "
        f"{info.get('system', '?')} {info.get('release', '?')}",
        f"- OPENBLAS_CORETYPE={extra.get('openblas_coretype') or '(unset)'}",
        f"- run at {doc.get('datetime', '?')}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, help="file written by --benchmark-json")
    args = parser.parse_args(argv)
    try:
        doc, medians = load(args.json)
    except (OSError, ValueError, KeyError) as exc:
        print(f"report_dsp: cannot read {args.json}: {exc}", file=sys.stderr)
        return 2
    out = ["Machine:", *machine(doc), "", "Full analysis (median per call):", ""]
    out += full_table(medians)
    out += ["", "FFT alone (median per call, float64 input):", ""]
    out += fft_table(medians)
    out += ["", "Targets:", *targets(medians)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
