"""Serve a path with and without its trailing slash, for any method (like `..slashes.get`,
which the read endpoints use): integrators type both, and a redirect would make a PUT or
DELETE depend on how the client follows it. Only `path` is in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


def route(
    router: APIRouter, method: str, path: str, **kwargs: Any
) -> Callable[[Callable[..., Any]], Any]:
    twin = path[:-1] if path.endswith("/") else path + "/"

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=[method], **kwargs)
        router.add_api_route(
            twin, endpoint, methods=[method], **{**kwargs, "include_in_schema": False}
        )
        return endpoint

    return register
