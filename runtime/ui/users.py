"""People who log in to the web UI: users, roles, password hashes, lockout and sessions.

Users live in their own SQLite file in the data directory (users.db, beside keys.db), so
`esocore admin set-password` works whether or not the device is running. Passwords are hashed
with scrypt (memory-hard, in the standard library); session tokens and CSRF tokens are random
and only the token's SHA-256 is stored, like API keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

UiRole = Literal["viewer", "operator", "admin"]
UI_ROLES: tuple[UiRole, ...] = ("viewer", "operator", "admin")
# The API's role for each UI role: a session gets exactly what a key of that role gets.
API_ROLE = {"viewer": "read-only", "operator": "read-write", "admin": "admin"}

USERS_FILE = "users.db"
INITIAL_ADMIN = "admin"
MIN_PASSWORD = 10
LOCK_AFTER = 5  # failed logins in a row ...
LOCK_S = 300.0  # ... lock the user for this long
SESSION_S = 12 * 3600.0  # absolute lifetime of a session
IDLE_S = 2 * 3600.0  # a session unused this long ends
TOUCH_RESOLUTION_S = 60.0  # last use written at most this often

# scrypt with N=2^14, r=8: 16 MB and ~50 ms per hash on a Pi 4 class board.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change INTEGER NOT NULL,
    created_at REAL NOT NULL,
    password_changed_at REAL NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
"""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    name: str
    role: UiRole
    must_change: bool
    created_at: float
    password_changed_at: float
    failed_logins: int
    locked_until: float | None

    def locked(self, now: float) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class Session:
    user: str
    role: UiRole
    csrf: str
    must_change: bool
    expires_at: float


@dataclass(frozen=True)
class LoginResult:
    user: User | None  # set when the password was right and the user not locked
    locked_until: float | None = None  # set when the user is (now) locked
    just_locked: bool = False  # this failure locked the user


class UserError(ValueError):
    """A request about users that cannot be done; the message says why (and `field`
    which form field it is about)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
            dklen=len(want),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_dummy_hash: list[str] = []  # made at first need: an unknown user costs the same work


def _dummy() -> str:
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


def password_problem(password: str, name: str | None = None) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if len(password) > 256:
        return "use at most 256 characters"
    if name and password.lower() == name.lower():
        return "the password cannot be the user name"
    if len(set(password)) < 4:
        return "use more different characters"
    return None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(
            "name",
            "1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return name


def check_ui_role(role: str) -> UiRole:
    if role not in UI_ROLES:
        raise UserError("role", f"must be one of {', '.join(UI_ROLES)}")
    return role  # type: ignore[return-value]


class UserStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._touched: dict[str, float] = {}

    def close(self) -> None:
        self._db.close()

    # users ---------------------------------------------------------------------------

    def ensure_initial_admin(self, now: float) -> str | None:
        """On a store without users: create `admin` with a random password that must be
        changed at first login, and return the password (the only time it is known)."""
        with self._lock:
            if self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0]:
                return None
            password = secrets.token_urlsafe(12)
            self._db.execute(
                "INSERT INTO users (name, role, password_hash, must_change, created_at,"
                " password_changed_at) VALUES (?, 'admin', ?, 1, ?, ?)",
                (INITIAL_ADMIN, hash_password(password), now, now),
            )
        return password

    def get(self, name: str) -> User | None:
        row = self._db.execute(
            "SELECT name, role, must_change, created_at, password_changed_at, failed_logins,"
            " locked_until FROM users WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        rows = self._db.execute(
            "SELECT name, role, must_change, created_at, password_changed_at, failed_logins,"
            " locked_until FROM users ORDER BY name"
        ).fetchall()
        return [_user(row) for row in rows]

    def create(
        self, name: str, role: str, password: str, now: float, must_change: bool = True
    ) -> User:
        check_name(name)
        check_ui_role(role)
        problem = password_problem(password, name)
        if problem:
            raise UserError("password", problem)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users (name, role, password_hash, must_change, created_at,"
                    " password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, role, hash_password(password), int(must_change), now, now),
                )
            except sqlite3.IntegrityError:
                raise UserError("name", f"a user named {name!r} exists") from None
        return self.get(name)  # type: ignore[return-value]

    def set_password(
        self,
        name: str,
        password: str,
        now: float,
        must_change: bool = False,
        create_role: str | None = None,
    ) -> User:
        """Set a password (and unlock). With `create_role`, a missing user is created."""
        problem = password_problem(password, name)
        if problem:
            raise UserError("password", problem)
        if self.get(name) is None:
            if create_role is None:
                raise UserError("name", f"no user named {name!r}")
            return self.create(name, create_role, password, now, must_change)
        with self._lock:
            self._db.execute(
                "UPDATE users SET password_hash = ?, must_change = ?, password_changed_at = ?,"
                " failed_logins = 0, locked_until = NULL WHERE name = ?",
                (hash_password(password), int(must_change), now, name),
            )
            # Every other session of the user ends with the old password.
            self._db.execute("DELETE FROM sessions WHERE user = ?", (name,))
        return self.get(name)  # type: ignore[return-value]

    def set_role(self, name: str, role: str) -> User:
        check_ui_role(role)
        user = self._existing(name)
        if user.role == "admin" and role != "admin" and self._admins() <= 1:
            raise UserError("role", "the last admin cannot lose the admin role")
        with self._lock:
            self._db.execute("UPDATE users SET role = ? WHERE name = ?", (role, name))
        return self.get(name)  # type: ignore[return-value]

    def delete(self, name: str) -> None:
        user = self._existing(name)
        if user.role == "admin" and self._admins() <= 1:
            raise UserError("name", "the last admin cannot be deleted")
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            self._db.execute("DELETE FROM users WHERE name = ?", (name,))

    def _existing(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise LookupError(f"no user named {name!r}")
        return user

    def _admins(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0]

    # logins --------------------------------------------------------------------------

    def login(self, name: str, password: str, now: float) -> LoginResult:
        """Check a password. LOCK_AFTER failures in a row lock the user for LOCK_S; a locked
        user is refused without looking at the password."""
        row = self._db.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        user = self.get(name) if row else None
        if user is not None and user.locked(now):
            return LoginResult(None, user.locked_until)
        ok = check_password(password, row[0] if row else _dummy())
        if user is None:
            return LoginResult(None)
        if ok:
            with self._lock:
                self._db.execute(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?",
                    (name,),
                )
            return LoginResult(self.get(name))
        failed = user.failed_logins + 1
        locked_until = now + LOCK_S if failed >= LOCK_AFTER else None
        with self._lock:
            self._db.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?",
                (0 if locked_until else failed, locked_until, name),
            )
        return LoginResult(None, locked_until, just_locked=locked_until is not None)

    # sessions ------------------------------------------------------------------------

    def new_session(self, name: str, now: float) -> tuple[str, str]:
        """(session token, CSRF token) for a user who has just logged in."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            self._db.execute(
                "INSERT INTO sessions (token_hash, user, csrf, created_at, expires_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_hash(token), name, csrf, now, now + SESSION_S, now),
            )
        return token, csrf

    def session(self, token: str, now: float) -> Session | None:
        """The live session of `token`, or None (unknown, expired or idle too long)."""
        key = _hash(token)
        row = self._db.execute(
            "SELECT s.user, u.role, s.csrf, u.must_change, s.expires_at, s.last_seen"
            " FROM sessions s JOIN users u ON u.name = s.user WHERE s.token_hash = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        user, role, csrf, must_change, expires_at, last_seen = row
        if now >= expires_at or now - max(last_seen, self._touched.get(key, 0.0)) >= IDLE_S:
            self.end_session(token)
            return None
        if now - self._touched.get(key, last_seen) >= TOUCH_RESOLUTION_S:
            self._touched[key] = now
            with self._lock:
                self._db.execute(
                    "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, key)
                )
        return Session(user, role, csrf, bool(must_change), expires_at)

    def end_session(self, token: str) -> None:
        key = _hash(token)
        self._touched.pop(key, None)
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))


def _user(row: tuple) -> User:
    name, role, must_change, created, changed, failed, locked = row
    return User(name, role, bool(must_change), created, changed, failed, locked)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user_store(data_dir: str | Path) -> UserStore:
    return UserStore(Path(data_dir) / USERS_FILE)
