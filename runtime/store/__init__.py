"""History store: SQLite in WAL mode with one batched writer (readings, rollups, spectra,
events), retention by age and size, keyset-paged queries and documented read-only views.

Modules, one job each: ``schema`` (tables, views, migrations, connections), ``writer`` (the
batching writer thread), ``retention`` (chunked deletes by age and size), ``queries`` (the
read side), ``codec`` (blobs and cursors), ``records`` (what queries return), ``store`` (the
facade below). Analysts' view of the file: docs/database.md.
"""

from .errors import (
    InvalidCursorError,
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StoreVersionError,
)
from .records import (
    ALL_AXES,
    ColumnChunk,
    Event,
    HistoryRow,
    Page,
    SeriesInfo,
    StoredSpectrum,
    Summary,
)
from .retention import RetentionPolicy, RetentionReport
from .schema import SCHEMA_VERSION
from .store import DB_FILENAME, Store

__all__ = [
    "ALL_AXES",
    "DB_FILENAME",
    "SCHEMA_VERSION",
    "ColumnChunk",
    "Event",
    "HistoryRow",
    "InvalidCursorError",
    "Page",
    "RetentionPolicy",
    "RetentionReport",
    "SeriesInfo",
    "Store",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StoreVersionError",
    "StoredSpectrum",
    "Summary",
]
