"""Paging headers: the next page's URL in `Link: <...>; rel="next"` (RFC 8288) and the total
in `X-Total-Count` where it is known."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from starlette.datastructures import URL

NEXT_CURSOR_HEADER = "X-Next-Cursor"
TOTAL_HEADER = "X-Total-Count"


def next_url(url: URL, params: Sequence[tuple[str, str]], overrides: Mapping[str, str]) -> str:
    """``url`` with its query replaced: ``params`` (repeats kept, in order) with every name in
    ``overrides`` set to that single value."""
    kept = [(k, v) for k, v in params if k not in overrides]
    kept += list(overrides.items())
    return str(url.replace(query=urlencode(kept)))


def paging_headers(
    url: URL,
    params: Sequence[tuple[str, str]],
    next_cursor: str | None,
    pinned: Mapping[str, str],
    total: int | None = None,
) -> dict[str, str]:
    """Headers of one page. ``pinned`` are parameters the next page must repeat exactly as
    this one resolved them (e.g. a defaulted end_time), so every page reads the same range."""
    headers: dict[str, str] = {}
    if next_cursor is not None:
        link = next_url(url, params, {**pinned, "cursor": next_cursor})
        headers["Link"] = f'<{link}>; rel="next"'
        headers[NEXT_CURSOR_HEADER] = next_cursor
    if total is not None:
        headers[TOTAL_HEADER] = str(total)
    return headers
