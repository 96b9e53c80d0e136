"""FastAPI dependencies shared by the routes: the context and the role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .auth import Principal
from .context import ApiContext
from .errors import ApiError
from .fast_path import AUTH_ERROR, PRINCIPAL


async def context(request: Request) -> ApiContext:
    return request.app.state.ctx


def _principal(request: Request) -> Principal:
    failed = getattr(request.state, AUTH_ERROR, None)
    if failed is not None:  # checked already by the fast path: the same answer
        raise failed
    cached = getattr(request.state, PRINCIPAL, None)
    if cached is None:
        cached = request.app.state.ctx.auth.authenticate(request)
        setattr(request.state, PRINCIPAL, cached)
    return cached


# The checks are coroutines so FastAPI runs them on the loop: a plain function dependency
# is sent to a worker thread and back, which costs more than the check (keys are cached).
async def read_access(request: Request) -> Principal:
    return _principal(request)


async def write_access(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.may("read-write"):
        raise ApiError(403, "this needs a read-write or admin key")
    return principal


async def admin_access(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.may("admin"):
        raise ApiError(403, "this needs an admin key")
    return principal


Ctx = Annotated[ApiContext, Depends(context)]
Reader = Annotated[Principal, Depends(read_access)]
Writer = Annotated[Principal, Depends(write_access)]
Admin = Annotated[Principal, Depends(admin_access)]
