"""What queries return: plain, immutable records that front ends can serialise directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from ..readings import iso_utc

Resolution = Literal["raw", "1m", "1h"]
SpectrumKind = Literal["spectrum", "envelope"]

#: Rollup bucket widths in seconds (bucket start = floor(ts / width) * width).
BUCKET_SECONDS: dict[str, int] = {"1m": 60, "1h": 3600}


class _AllAxes:
    """Sentinel type: no filter on the axis (per-axis rows and the overall value)."""

    _instance: _AllAxes | None = None

    def __new__(cls) -> _AllAxes:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL_AXES"

    def __reduce__(self) -> str:
        return "ALL_AXES"


#: Pass as ``axes=`` for every axis. A collection filters instead; ``None`` inside it means
#: the overall value of the metric (``axes=[None]`` is "overall only").
ALL_AXES = _AllAxes()


class HistoryRow(NamedTuple):
    """One point of history. For rollups ``ts`` is the bucket start and ``value`` the mean;
    for raw readings ``min == max == value`` and ``count == 1``."""

    ts: float  # UTC epoch seconds
    device_id: str
    sensor_id: str
    metric: str
    axis: str | None  # None = the overall value
    unit: str
    value: float
    min: float
    max: float
    count: int

    @property
    def timestamp(self) -> str:
        """ISO 8601 UTC with a Z, millisecond precision, as on the wire."""
        return iso_utc(self.ts)


@dataclass(frozen=True)
class ColumnChunk:
    """A run of history rows as numpy arrays (same order and meaning as HistoryRow fields):
    the fast path for exports. ``series`` maps each ``series_id`` in the chunk to
    (device_id, sensor_id, metric, axis or None, unit); ids are stable for a database."""

    ts: np.ndarray  # float64 epoch seconds
    series_id: np.ndarray  # int64
    value: np.ndarray  # float64; the mean for rollups
    min: np.ndarray
    max: np.ndarray
    count: np.ndarray  # int64
    series: dict[int, tuple[str, str, str, str | None, str]]

    def __len__(self) -> int:
        return int(self.ts.size)


class Page(NamedTuple):
    """One page of a keyset-paged query; ``next_cursor`` is None on the last page."""

    rows: list[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class Event:
    id: int
    ts: float
    kind: str
    message: str
    device_id: str | None = None
    sensor_id: str | None = None
    data: dict[str, Any] | None = None

    @property
    def timestamp(self) -> str:
        return iso_utc(self.ts)


@dataclass(frozen=True)
class StoredSpectrum:
    sensor_id: str
    axis: str | None
    kind: SpectrumKind
    ts: float
    bin_width_hz: float
    amplitudes: np.ndarray  # float32, one value per bin from 0 Hz
    peaks: tuple[Any, ...]  # as given to add_spectrum; lists come back as tuples

    @property
    def frequencies(self) -> np.ndarray:
        return np.arange(self.amplitudes.size, dtype=np.float64) * self.bin_width_hz

    @property
    def timestamp(self) -> str:
        return iso_utc(self.ts)


@dataclass(frozen=True)
class SeriesInfo:
    """One stored series and its raw span; ``last`` is None once retention removed its raw data."""

    device_id: str
    sensor_id: str
    metric: str
    axis: str | None
    unit: str
    first_ts: float | None
    last: HistoryRow | None


@dataclass(frozen=True)
class Summary:
    """What ``esocore status`` prints: what is stored, how much, and how recent."""

    path: str
    schema_version: int
    machines: list[str]
    sensors: list[tuple[str, str]]  # (device_id, sensor_id)
    metrics: list[str]
    first_ts: float | None  # oldest raw reading
    last_ts: float | None  # newest raw reading
    counts: dict[str, int]  # rows per table
    series: list[SeriesInfo]
    recent_events: list[Event]  # newest first
    file_bytes: int  # database file plus its write-ahead log
    used_bytes: int  # pages in use (free pages are reused before the file grows)
    writer: dict[str, Any] | None = field(default=None)  # writer statistics when open read-write
