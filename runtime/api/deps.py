"""FastAPI dependencies shared by the routes: the context and the role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .auth import Principal
from .context import ApiContext
from .errors import ApiError


def context(request: Request) -> ApiContext:
    return request.app.state.ctx


def _principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is None:
        cached = context(request).auth.authenticate(request)
        request.state.principal = cached
    return cached


def read_access(request: Request) -> Principal:
    return _principal(request)


def write_access(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.may("read-write"):
        raise ApiError(403, "this needs a read-write or admin key")
    return principal


def admin_access(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.may("admin"):
        raise ApiError(403, "this needs an admin key")
    return principal


Ctx = Annotated[ApiContext, Depends(context)]
Reader = Annotated[Principal, Depends(read_access)]
Writer = Annotated[Principal, Depends(write_access)]
Admin = Annotated[Principal, Depends(admin_access)]
