"""Errors of the store: each names the database file and says what to do."""

from __future__ import annotations


class StoreError(Exception):
    """Any problem with the database that the caller should report, not crash on."""


class StoreCorruptError(StoreError):
    """The file is not a readable EsoCore database (damaged, truncated or something else)."""


class StoreVersionError(StoreError):
    """The database schema is newer than this software (or older, for a read-only open)."""


class StoreLockedError(StoreError):
    """Another process already writes to this database: there is one writer per data directory."""


class StoreClosedError(StoreError):
    """The store was closed; nothing more can be queued."""


class InvalidCursorError(ValueError):
    """A paging cursor that this query did not produce (garbled, or from other filters)."""
