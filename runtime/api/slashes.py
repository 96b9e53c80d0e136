"""Paths with and without the trailing slash: integrators type both, and the guide uses the
slash. Both are served directly (no redirect, which some clients follow without the key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


def get(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Like ``router.get(path, ...)``, also serving the path with the slash toggled; only
    ``path`` (as the guide writes it) is in the OpenAPI document."""
    twin = path[:-1] if path.endswith("/") else path + "/"

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.get(path, **kwargs)(endpoint)
        router.get(twin, **{**kwargs, "include_in_schema": False})(endpoint)
        return endpoint

    return register
