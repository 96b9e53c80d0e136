"""Browser sessions as the API's second way in, beside X-API-Key.

A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure over TLS). With it
a request gets the user's role mapped to the API's roles; a request that changes state
(anything but GET, HEAD, OPTIONS) must also carry the session's CSRF token in X-CSRF-Token,
so another site cannot make the browser act for the user. An API key never needs the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request, Response

from ..api.auth import Principal
from ..api.errors import ApiError
from .users import API_ROLE, SESSION_S, Session, UserStore

COOKIE = "esocore_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths a user who must change the initial password may still use.
PASSWORD_PATHS = frozenset(
    {"/api/v1/session/", "/api/v1/session", "/api/v1/session/password", "/api/v1/session/logout"}
)


def session_of(request: Request, users: UserStore, now: float) -> Session | None:
    token = request.cookies.get(COOKIE)
    return users.session(token, now) if token else None


def csrf_ok(request: Request, session: Session) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())


def principal_for(session: Session) -> Principal:
    return Principal(f"user:{session.user}", API_ROLE[session.role], via="session")  # type: ignore[arg-type]


def session_authenticator(
    users: UserStore, utc_now: Callable[[], float]
) -> Callable[[Request], Principal | None]:
    """For Authenticator.sessions: None when the request has no session cookie (so the usual
    'send your API key' answer applies), else the principal or an ApiError."""

    def authenticate(request: Request) -> Principal | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = users.session(token, utc_now())
        if session is None:
            raise ApiError(401, "the session has ended or expired: log in again")
        if request.method not in SAFE_METHODS and not csrf_ok(request, session):
            raise ApiError(
                403,
                "CSRF token missing or wrong: a request with the session cookie that changes "
                "something needs the session's token in the X-CSRF-Token header",
                code="csrf_failed",
            )
        if session.must_change and request.url.path not in PASSWORD_PATHS:
            raise ApiError(
                403,
                "change the initial password first (POST /api/v1/session/password)",
                code="password_change_required",
            )
        return principal_for(session)

    return authenticate


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_S),
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, secure=request.url.scheme == "https", samesite="strict"
    )
