"""Encodings of what the store keeps as blobs or hands out as tokens.

Spectra are msgpack maps ``{"amplitudes": <float32 little-endian bytes>, "peaks": [...]}``;
event data is JSON text (so analysts can use SQLite's json_extract on it); paging cursors are
opaque url-safe strings carrying the keyset position and a fingerprint of the query's filters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np

from .errors import InvalidCursorError


def pack_spectrum(amplitudes: Any, peaks: Sequence[Any]) -> tuple[int, bytes]:
    """Copy now (callers reuse their buffers) and fail in the caller's thread, not the writer's."""
    array = np.asarray(amplitudes)
    if array.ndim != 1:
        raise ValueError(f"amplitudes must be one-dimensional, got shape {array.shape}")
    data = array.astype("<f4").tobytes()
    blob = msgpack.packb(
        {"amplitudes": data, "peaks": list(peaks)}, default=_msgpack_default, use_bin_type=True
    )
    return array.size, blob


def unpack_spectrum(blob: bytes) -> tuple[np.ndarray, tuple[Any, ...]]:
    content = msgpack.unpackb(blob, raw=False, use_list=False)
    amplitudes = np.frombuffer(content["amplitudes"], dtype="<f4").astype(np.float32)
    return amplitudes, tuple(content["peaks"])


def _msgpack_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in a spectrum's peaks")


def to_json(data: dict[str, Any] | None) -> str | None:
    """Event data as strict JSON: numpy scalars become numbers, NaN/inf become null."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"event data must be a dict or None, got {type(data).__name__}")
    return json.dumps(_jsonable(data), separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


def from_json(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def fingerprint(*parts: Any) -> str:
    """A short digest of a query's filters: a cursor is only valid for the query it came from."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


def encode_cursor(kind: str, fp: str, position: Sequence[int]) -> str:
    raw = json.dumps([1, kind, fp, *position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, kind: str, fp: str, size: int) -> tuple[int, ...]:
    """The keyset position in a cursor, or InvalidCursorError saying why it does not fit."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        content = json.loads(raw)
        version, got_kind, got_fp, *position = content
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursorError(
            "invalid cursor: pass back the next cursor of the previous page unchanged"
        ) from exc
    if version != 1 or got_kind != kind or len(position) != size:
        raise InvalidCursorError(f"invalid cursor: it does not belong to a {kind} query")
    if got_fp != fp:
        raise InvalidCursorError(
            "invalid cursor: it was issued for different filters or resolution; "
            "repeat the query that returned it"
        )
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in position):
        raise InvalidCursorError("invalid cursor: bad position")
    return tuple(position)
