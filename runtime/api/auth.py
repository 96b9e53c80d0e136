"""Who is calling: API keys (X-API-Key, or Authorization: Bearer for scrapers), roles, and
rate limits on failed authentication (per client address) and on requests (per key)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from .errors import ApiError
from .keys import ROLE_RANK, KeyStore, Role


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: Role
    via: str = "api-key"

    def may(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class FailedAuthLimiter:
    """After `limit` failures from one address within `window` seconds, that address gets 429
    until the oldest failure leaves the window."""

    def __init__(self, limit: int, window: float, now: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.now = limit, window, now
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        with self._lock:
            recent = self._prune(client)
            if len(recent) < self.limit:
                return 0.0
            return max(0.0, recent[0] + self.window - self.now())

    def failed(self, client: str) -> None:
        with self._lock:
            self._prune(client).append(self.now())

    def _prune(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        cutoff = self.now() - self.window
        while recent and recent[0] <= cutoff:
            recent.popleft()
        if not recent and len(self._failures) > 10000:  # bound memory under a scan
            self._failures.pop(client, None)
            recent = self._failures.setdefault(client, deque())
        return recent


class KeyRateLimiter:
    """Token bucket per key: `rate` requests per second with bursts of `burst`."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.now = rate, burst, now
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self.now()
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0.0


class Authenticator:
    def __init__(
        self,
        keys: KeyStore,
        failures: FailedAuthLimiter,
        rates: KeyRateLimiter,
        utc_now: Callable[[], float],
        on_failure: Callable[[str, str, str | None], None],
    ) -> None:
        self.keys = keys
        self.failures = failures
        self.rates = rates
        self.utc_now = utc_now
        self.on_failure = on_failure  # (client address, reason, key id or None)
        # The web UI's sessions (runtime.ui.sessions): given a request without an API key,
        # None if it has no session cookie, else its principal (or an ApiError).
        self.sessions: Callable[[Request], Principal | None] | None = None

    def authenticate(self, request: Request, allow_bearer: bool = False) -> Principal:
        client = request.client.host if request.client else "unknown"
        wait = self.failures.retry_after(client)
        if wait > 0:
            raise _too_many(wait, "too many failed authentications from this address")
        presented = request.headers.get("x-api-key")
        if presented is None and allow_bearer:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token:
                presented = token.strip()
        if not presented and self.sessions is not None:
            principal = self.sessions(request)
            if principal is not None:
                return principal
        if not presented:
            self._fail(client, "no API key", None)
            raise ApiError(
                401,
                "authentication required: send your API key in the X-API-Key header",
                headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'},
            )
        record = self.keys.verify(presented, self.utc_now())
        if record is None:
            key_id = presented.split("_")[1] if presented.count("_") >= 2 else None
            self._fail(client, "unknown, revoked or expired API key", key_id)
            raise ApiError(
                401,
                "the API key is not valid (unknown, revoked or expired)",
                headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'},
            )
        wait = self.rates.take(record.id)
        if wait > 0:
            raise _too_many(wait, "request rate limit of this API key exceeded")
        return Principal(record.id, record.role)

    def _fail(self, client: str, reason: str, key_id: str | None) -> None:
        self.failures.failed(client)
        self.on_failure(client, reason, key_id)


def _too_many(wait: float, message: str) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(429, message, {"retry_after_s": seconds}, headers={"Retry-After": str(seconds)})
