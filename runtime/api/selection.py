"""Which history a request or an export means: range, series filters, resolution.

Shared by the history endpoints and `esocore export`, so the same words select the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..store import ALL_AXES

RESOLUTIONS = ("raw", "1m", "1h")
AXIS_WORDS = ("overall", "x", "y", "z", "all")
OVERALL_ONLY: tuple[str | None, ...] = (None,)


class SelectionError(ValueError):
    """A filter value that cannot be used (bad axis, unknown metric, ...)."""


class UnknownIdError(LookupError):
    """Sensor or machine ids that neither the device nor its history knows."""

    def __init__(self, what: str, ids: list[str]) -> None:
        self.what = what
        self.ids = ids
        names = ", ".join(repr(i) for i in ids)
        super().__init__(f"no {what} {names}" if len(ids) == 1 else f"no {what}s {names}")


def id_list(values: Iterable[str] | None) -> tuple[str, ...] | None:
    """Repeated parameters and comma-separated lists alike (ids never contain commas);
    None when nothing was given (no filter)."""
    if values is None:
        return None
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out) or None


def parse_axes(values: Iterable[str] | None) -> Any:
    """``overall`` (the default: the value with axis null), ``x``, ``y``, ``z`` or ``all``
    (every axis and the overall value); several may be combined. Returns what the store's
    ``axes=`` takes."""
    words = id_list(values)
    if not words:
        return OVERALL_ONLY
    axes: list[str | None] = []
    for word in words:
        word = word.lower()
        if word == "all":
            return ALL_AXES
        if word in ("overall", "none", "null"):
            value = None
        elif word in ("x", "y", "z"):
            value = word
        else:
            raise SelectionError(
                f"axis: {word!r} is not one of {', '.join(AXIS_WORDS)} "
                "(overall = the metric's overall value, axis null)"
            )
        if value not in axes:
            axes.append(value)
    return tuple(axes)


def axes_words(axes: Any) -> list[str]:
    if axes is ALL_AXES:
        return ["all"]
    return ["overall" if a is None else a for a in axes]


@dataclass(frozen=True)
class Selection:
    """Rows of history in [start, end) (epoch seconds), filtered; None = no filter."""

    start: float
    end: float
    device_ids: tuple[str, ...] | None = None
    sensor_ids: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    axes: Any = OVERALL_ONLY
    resolution: str = "raw"

    def store_filters(self) -> dict[str, Any]:
        """Keyword arguments for Store.query_readings / iter_reading_* / count_readings."""
        return {
            "device_ids": self.device_ids,
            "sensor_ids": self.sensor_ids,
            "metrics": self.metrics,
            "axes": self.axes,
            "resolution": self.resolution,
        }


def check_known(
    selection: Selection,
    store: Any,
    known_sensors: Iterable[str] = (),
    known_devices: Iterable[str] = (),
    known_metrics: Iterable[str] = (),
) -> None:
    """Raise UnknownIdError for ids that are neither configured nor in the history (a sensor
    removed from the config still has history worth reading), SelectionError for a metric
    nobody measures. Only ids missing from the configuration cost a store lookup (an index
    seek each)."""
    for what, given, known, column in (
        ("machine", selection.device_ids, set(known_devices), "device_ids"),
        ("sensor", selection.sensor_ids, set(known_sensors), "sensor_ids"),
    ):
        unknown = [i for i in given or () if i not in known and not _stored(store, column, i)]
        if unknown:
            raise UnknownIdError(what, unknown)
    metrics = set(known_metrics)
    unknown_metrics = [
        m for m in selection.metrics or () if m not in metrics and not _stored(store, "metrics", m)
    ]
    if unknown_metrics:
        listing = ", ".join(sorted(metrics)) or "none configured"
        raise SelectionError(
            f"metric: {', '.join(repr(m) for m in unknown_metrics)} is not measured by this "
            f"device (metrics: {listing})"
        )


def _stored(store: Any, column: str, value: str) -> bool:
    """Does the history hold any row of this id (raw, or hourly rollups once raw aged out)?"""
    for resolution in ("raw", "1h"):
        page = store.query_readings(
            None, None, **{column: [value]}, axes=ALL_AXES, limit=1, resolution=resolution
        )
        if page.rows:
            return True
    return False
