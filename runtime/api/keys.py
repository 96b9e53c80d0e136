"""API keys: generated once, shown once, stored only as a hash.

A key reads `esk_<id>_<secret>`: the id finds the record, the secret is checked against its
SHA-256 with a constant-time comparison. Keys are 32 random bytes, so a fast hash is safe here
(passwords, which people choose, use a slow hash instead). Keys live in their own small SQLite
file in the data directory, so `esocore keys ...` works whether or not the device is running.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["read-only", "read-write", "admin"]
ROLES: tuple[Role, ...] = ("read-only", "read-write", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
PREFIX = "esk"

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    last_used_at REAL,
    revoked_at REAL,
    previous_hash TEXT,
    previous_valid_until REAL
);
"""


@dataclass(frozen=True)
class ApiKey:
    id: str
    role: Role
    description: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class KeyError_(LookupError):
    """No such key (named to avoid shadowing the builtin KeyError)."""


# last_used_at is written at most this often per key: a write per request would cost every
# request a SQLite transaction (measured: 15 % of /telemetry/ throughput).
LAST_USED_RESOLUTION_S = 60.0


@dataclass(frozen=True)
class _Secrets:
    current: str
    previous: str | None
    previous_until: float | None
    record: ApiKey


class KeyStore:
    """Keys in SQLite, checked from an in-memory copy that is reloaded whenever the file
    changed (another process, `esocore keys ...`, bumps SQLite's data_version; our own
    writes mark it stale), so a revoked key fails at once without a query per request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._cache: dict[str, _Secrets] = {}
        self._cache_version: int | None = None  # None: stale
        self._last_written: dict[str, float] = {}

    def close(self) -> None:
        self._db.close()

    def create(
        self, role: str, description: str, now: float, expires_at: float | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret is available)."""
        check_role(role)
        if not description.strip():
            raise ValueError("description: say what the key is for, e.g. 'Integration with SAP PM'")
        if expires_at is not None and expires_at <= now:
            raise ValueError("expires_at: must be in the future")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (id, secret_hash, role, description, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, _hash(secret), role, description.strip(), now, expires_at),
            )
            self._cache_version = None
        return self.get(key_id), f"{PREFIX}_{key_id}_{secret}"

    def rotate(self, key_id: str, now: float, grace_s: float = 86400.0) -> tuple[ApiKey, str]:
        """A new secret for the same key; the old secret keeps working for grace_s seconds."""
        record = self.get(key_id)
        if not record.active(now):
            raise ValueError(f"key {key_id} is revoked or expired and cannot be rotated")
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET previous_hash = secret_hash, previous_valid_until = ?,"
                " secret_hash = ? WHERE id = ?",
                (now + grace_s, _hash(secret), key_id),
            )
            self._cache_version = None
        return self.get(key_id), f"{PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str, now: float) -> ApiKey:
        self.get(key_id)
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (now, key_id),
            )
            self._cache_version = None
        return self.get(key_id)

    def get(self, key_id: str) -> ApiKey:
        row = self._db.execute(
            "SELECT id, role, description, created_at, expires_at, last_used_at, revoked_at"
            " FROM api_keys WHERE id = ?",
            (key_id,),
        ).fetchone()
        if row is None:
            raise KeyError_(f"no API key with id {key_id!r}")
        return ApiKey(*row)

    def list(self) -> list[ApiKey]:
        rows = self._db.execute(
            "SELECT id, role, description, created_at, expires_at, last_used_at, revoked_at"
            " FROM api_keys ORDER BY created_at"
        ).fetchall()
        return [ApiKey(*row) for row in rows]

    def verify(self, presented: str, now: float) -> ApiKey | None:
        """The active key matching `presented`, or None. Records last use (to the minute)."""
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        key_id, secret = parts[1], parts[2]
        with self._lock:
            entry = self._secrets().get(key_id)
        if entry is None:
            return None
        digest = _hash(secret)
        ok = hmac.compare_digest(digest, entry.current)
        if (
            not ok
            and entry.previous is not None
            and entry.previous_until is not None
            and now < entry.previous_until
        ):
            ok = hmac.compare_digest(digest, entry.previous)
        if not ok or not entry.record.active(now):
            return None
        if now - self._last_written.get(key_id, -LAST_USED_RESOLUTION_S) >= LAST_USED_RESOLUTION_S:
            self._last_written[key_id] = now
            with self._lock:
                self._db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))
        return entry.record

    def _secrets(self) -> dict[str, _Secrets]:
        """The cached keys, reloaded if anyone changed the file (call with the lock held)."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._cache_version:
            rows = self._db.execute(
                "SELECT secret_hash, previous_hash, previous_valid_until, id, role, description,"
                " created_at, expires_at, last_used_at, revoked_at FROM api_keys"
            ).fetchall()
            self._cache = {row[3]: _Secrets(*row[:3], ApiKey(*row[3:])) for row in rows}
            self._cache_version = version
        return self._cache


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    return role  # type: ignore[return-value]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
