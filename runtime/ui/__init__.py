"""The web UI: users and sessions, and pages served at / by the device's HTTP server.

`install(app, ctx, data_dir)` adds it to the API's app: the session and user endpoints under
/api/v1, the pages and their assets at /, and sessions as the API's alternative to X-API-Key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .users import UserStore, user_store


def install(app: Any, ctx: Any, data_dir: str | Path) -> str | None:
    """Returns the initial admin password when this data directory had no users yet (print
    it once); None otherwise. Also kept in app.state.initial_admin_password."""
    from . import api_routes, pages
    from .sessions import session_authenticator

    users: UserStore = user_store(data_dir)
    app.state.users = users
    ctx.auth.sessions = session_authenticator(users, ctx.utc_now)
    app.include_router(api_routes.router, prefix="/api/v1")
    app.include_router(pages.router)
    password = users.ensure_initial_admin(ctx.utc_now())
    app.state.initial_admin_password = password
    return password
