"""/api/v1/session/ (log in and out, change the password) and /api/v1/users/ (admin).

Login takes JSON only: a cross-site form cannot send it without the browser asking first,
so logging in needs no CSRF token; everything after it does (see sessions.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..api.deps import Admin, Ctx
from ..api.errors import ApiError, not_found
from ..readings import iso_utc
from .sessions import clear_cookie, csrf_ok, session_of, set_cookie
from .users import API_ROLE, LOCK_S, Session, UiRole, User, UserError, UserStore

router = APIRouter(tags=["web UI sessions and users"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(max_length=256)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    role: UiRole
    password: str = Field(description="initial password; the user must change it at login")


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: UiRole | None = None
    password: str | None = Field(None, description="a new password the user must change")


def users_of(request: Request) -> UserStore:
    return request.app.state.users


async def current_session(request: Request, ctx: Ctx) -> Session:
    """The request's session (401 without one); CSRF checked for anything but GET."""
    session = session_of(request, users_of(request), ctx.utc_now())
    if session is None:
        raise ApiError(401, "not logged in (or the session expired): log in again")
    if request.method != "GET" and not csrf_ok(request, session):
        raise ApiError(403, "CSRF token missing or wrong (X-CSRF-Token)", code="csrf_failed")
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


def user_view(user: User, now: float) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "api_role": API_ROLE[user.role],
        "must_change_password": user.must_change,
        "created_at": iso_utc(user.created_at),
        "password_changed_at": iso_utc(user.password_changed_at),
        "locked_until": iso_utc(user.locked_until) if user.locked(now) else None,
    }


def _problem(exc: UserError) -> ApiError:
    return ApiError(422, str(exc), [str(exc)])


@router.post("/session/login", summary="Log in (web UI)")
def login(body: Login, request: Request, response: Response, ctx: Ctx) -> dict[str, Any]:
    """Checks the password and sets the session cookie. Five wrong passwords in a row lock
    the user for five minutes; failures count against the address like bad API keys."""
    users = users_of(request)
    client = request.client.host if request.client else "unknown"
    failures = ctx.auth.failures
    wait = failures.retry_after(client)
    if wait > 0:
        raise ApiError(429, "too many failed attempts from this address: wait and try again")
    now = ctx.utc_now()
    result = users.login(body.username, body.password, now)
    if result.user is None:
        data = {"client": client, "user": body.username}
        if result.locked_until is not None and not result.just_locked:
            ctx.log_event("login_refused", f"login of locked user {body.username}", data=data)
            raise _locked(result.locked_until, now)
        failures.failed(client)
        ctx.log_event(
            "login_failed", f"wrong user or password for {body.username!r} from {client}", data=data
        )
        if result.just_locked:
            ctx.log_event(
                "user_locked",
                f"user {body.username} locked for {LOCK_S:g} s after repeated failed logins",
                data=data,
            )
            raise _locked(result.locked_until, now)  # type: ignore[arg-type]
        raise ApiError(401, "wrong user name or password")
    user = result.user
    token, csrf = users.new_session(user.name, now)
    set_cookie(response, request, token)
    ctx.log_event("login", f"user {user.name} logged in from {client}", data={"user": user.name})
    return {**user_view(user, now), "csrf_token": csrf}


def _locked(until: float, now: float) -> ApiError:
    seconds = max(1, int(until - now + 0.999))
    return ApiError(
        429,
        f"this user is locked after repeated failed logins; try again in {seconds} s",
        {"retry_after_s": seconds},
        code="user_locked",
        headers={"Retry-After": str(seconds)},
    )


@router.get("/session/", summary="Who is logged in")
def whoami(request: Request, ctx: Ctx, session: CurrentSession) -> dict[str, Any]:
    user = users_of(request).get(session.user)
    if user is None:
        raise ApiError(401, "the user no longer exists")
    return {**user_view(user, ctx.utc_now()), "session_expires_at": iso_utc(session.expires_at)}


@router.post("/session/logout", summary="Log out", status_code=204)
def logout(request: Request, response: Response, ctx: Ctx, session: CurrentSession) -> None:
    users_of(request).end_session(request.cookies.get("esocore_session", ""))
    clear_cookie(response, request)
    ctx.log_event("logout", f"user {session.user} logged out", data={"user": session.user})


@router.post("/session/password", summary="Change your password")
def change_password(
    body: PasswordChange,
    request: Request,
    response: Response,
    ctx: Ctx,
    session: CurrentSession,
) -> dict[str, Any]:
    """Every session of the user ends; this one is replaced by a new one (new cookie and
    CSRF token in the answer)."""
    users = users_of(request)
    now = ctx.utc_now()
    checked = users.login(session.user, body.current_password, now)
    if checked.user is None:
        if checked.locked_until is not None:
            raise _locked(checked.locked_until, now)
        raise ApiError(
            422, "current_password: wrong password", ["current_password: wrong password"]
        )
    if body.new_password == body.current_password:
        message = "new_password: choose a password different from the current one"
        raise ApiError(422, message, [message])
    try:
        user = users.set_password(session.user, body.new_password, now, must_change=False)
    except UserError as exc:
        message = f"new_password: {exc.message}"
        raise ApiError(422, message, [message]) from None
    token, csrf = users.new_session(user.name, now)
    set_cookie(response, request, token)
    ctx.log_event("password_changed", f"user {user.name} changed the password")
    return {**user_view(user, now), "csrf_token": csrf}


@router.get("/users/", summary="Web UI users")
def list_users(request: Request, ctx: Ctx, _: Admin) -> list[dict[str, Any]]:
    now = ctx.utc_now()
    return [user_view(u, now) for u in users_of(request).list()]


@router.post("/users/", summary="Add a web UI user", status_code=201)
def create_user(body: NewUser, request: Request, ctx: Ctx, principal: Admin) -> dict[str, Any]:
    now = ctx.utc_now()
    try:
        user = users_of(request).create(body.name, body.role, body.password, now)
    except UserError as exc:
        raise _problem(exc) from None
    ctx.log_event(
        "user_created",
        f"user {user.name} ({user.role}) created by {principal.key_id}",
        data={"user": user.name, "role": user.role},
    )
    return user_view(user, now)


@router.put("/users/{name}", summary="Change a user's role or reset the password")
def change_user(
    name: str, body: UserChange, request: Request, ctx: Ctx, principal: Admin
) -> dict[str, Any]:
    users = users_of(request)
    now = ctx.utc_now()
    if users.get(name) is None:
        raise not_found("user", name)
    try:
        if body.role is not None:
            users.set_role(name, body.role)
        if body.password is not None:
            users.set_password(name, body.password, now, must_change=True)
    except UserError as exc:
        raise _problem(exc) from None
    ctx.log_event(
        "user_changed",
        f"user {name} changed by {principal.key_id}",
        data={"user": name, "role": body.role, "password_reset": body.password is not None},
    )
    return user_view(users.get(name), now)  # type: ignore[arg-type]


@router.delete("/users/{name}", summary="Delete a user", status_code=204)
def delete_user(name: str, request: Request, ctx: Ctx, principal: Admin) -> None:
    try:
        users_of(request).delete(name)
    except LookupError:
        raise not_found("user", name) from None
    except UserError as exc:
        raise ApiError(409, exc.message) from None
    ctx.log_event("user_deleted", f"user {name} deleted by {principal.key_id}", data={"user": name})
