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


class KeyStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

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
        return self.get(key_id), f"{PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str, now: float) -> ApiKey:
        self.get(key_id)
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (now, key_id),
            )
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
        """The active key matching `presented`, or None. Records last use."""
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        key_id, secret = parts[1], parts[2]
        row = self._db.execute(
            "SELECT secret_hash, previous_hash, previous_valid_until FROM api_keys WHERE id = ?",
            (key_id,),
        ).fetchone()
        if row is None:
            return None
        current, previous, previous_until = row
        digest = _hash(secret)
        ok = hmac.compare_digest(digest, current)
        if not ok and previous is not None and previous_until is not None and now < previous_until:
            ok = hmac.compare_digest(digest, previous)
        if not ok:
            return None
        record = self.get(key_id)
        if not record.active(now):
            return None
        with self._lock:
            self._db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))
        return record


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    return role  # type: ignore[return-value]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
