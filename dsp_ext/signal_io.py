"""Reading recorded waveforms (WAV, CSV, NPY) into float arrays of shape (samples, channels).

Used by `esocore analyze` and by the simulator's replay source. Every problem with a file is a
SignalFileError whose message names the file and says what is wrong.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMATS = ("wav", "csv", "npy")


class SignalFileError(ValueError):
    """A waveform file that cannot be used, with a message for the user."""


@dataclass(frozen=True)
class Waveform:
    samples: np.ndarray  # (samples, channels) float64
    fs: float | None  # None when the file does not carry its rate (CSV, NPY)
    channel_names: tuple[str, ...]


def read_waveform(
    path: str | Path, columns: list[str] | None = None, fmt: str | None = None
) -> Waveform:
    """Read `path`; `columns` picks channels by name (CSV header) or 0-based index."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise SignalFileError(f"{path}: unknown format {fmt!r}; use a .wav, .csv or .npy file")
    if not path.is_file():
        raise SignalFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SignalFileError(f"{path}: file is empty")
    reader = {"wav": _read_wav, "csv": _read_csv, "npy": _read_npy}[fmt]
    wave = reader(path)
    if columns:
        wave = _select(wave, columns, path)
    if wave.samples.shape[1] == 0:
        raise SignalFileError(f"{path}: contains no channels")
    if wave.samples.shape[0] == 0:
        raise SignalFileError(f"{path}: contains no samples")
    bad = ~np.isfinite(wave.samples)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise SignalFileError(
            f"{path}: sample {row} of channel {wave.channel_names[col]!r} is not a finite number"
        )
    return wave


def _read_wav(path: Path) -> Waveform:
    from scipy.io import wavfile

    try:
        rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError) as exc:
        raise SignalFileError(f"{path}: not a readable WAV file ({exc})") from None
    data = np.asarray(data)
    if data.ndim == 1:
        data = data[:, np.newaxis]
    if np.issubdtype(data.dtype, np.integer):
        # Integer PCM is a fraction of full scale: normalise to [-1, 1); --scale gives units.
        info = np.iinfo(data.dtype)
        offset = 0 if info.min < 0 else (info.max + 1) // 2
        samples = (data.astype(np.float64) - offset) / float(info.max + 1 - offset)
    else:
        samples = data.astype(np.float64)
    names = tuple(str(i) for i in range(samples.shape[1]))
    return Waveform(samples, float(rate), names)


def _read_csv(path: Path) -> Waveform:
    try:
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SignalFileError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise SignalFileError(f"{path}: contains no samples")
    header: list[str] | None = None
    if not _is_numeric_row(rows[0]):
        header = [c.strip() for c in rows[0]]
        rows = rows[1:]
    width = len(header) if header else len(rows[0]) if rows else 0
    values = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            line = i + (2 if header else 1)
            raise SignalFileError(f"{path}: line {line} has {len(row)} columns, expected {width}")
        try:
            values[i] = [float(c) for c in row]
        except ValueError:
            line = i + (2 if header else 1)
            raise SignalFileError(
                f"{path}: line {line} holds a value that is not a number"
            ) from None
    names = tuple(header) if header else tuple(str(i) for i in range(width))
    return Waveform(values, None, names)


def _is_numeric_row(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


def _read_npy(path: Path) -> Waveform:
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise SignalFileError(f"{path}: not a readable NPY file ({exc})") from None
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "iuf":
        raise SignalFileError(
            f"{path}: must hold a numeric array, got {getattr(data, 'dtype', '?')}"
        )
    if data.ndim == 1:
        data = data[:, np.newaxis]
    if data.ndim != 2:
        raise SignalFileError(
            f"{path}: array of shape {data.shape}; expected (samples,) or (samples, channels)"
        )
    return Waveform(data.astype(np.float64), None, tuple(str(i) for i in range(data.shape[1])))


def _select(wave: Waveform, columns: list[str], path: Path) -> Waveform:
    picked: list[int] = []
    for column in columns:
        if column in wave.channel_names:
            picked.append(wave.channel_names.index(column))
        elif column.isdigit() and int(column) < len(wave.channel_names):
            picked.append(int(column))
        else:
            raise SignalFileError(
                f"{path}: no column {column!r}; columns are {', '.join(wave.channel_names)}"
            )
    names = tuple(wave.channel_names[i] for i in picked)
    return Waveform(wave.samples[:, picked], wave.fs, names)
