"""Store implementations: memory, SQLite (the embedded default) and PostgreSQL.

Each domain module (consent, retention, audit, crypto) defines the store Protocol it
needs; this package implements them and registers each implementation with
:func:`finprivacy._stores.register_store`, so ``"sqlite:///app.db"`` works wherever a
store is accepted.
"""

from __future__ import annotations

from .._stores import register_exists
from . import _audit as _audit  # registers the "audit" stores
from . import _retention as _retention  # registers the "retention" stores
from . import _rights as _rights  # registers the "rights" stores
from . import _subject_keys as _subject_keys  # registers the "subject_keys" stores
from ._consent import MemoryConsentStore as MemoryConsentStore
from ._consent import SqlConsentStore as SqlConsentStore
from ._db import Database as Database
from ._db import database_exists as database_exists
from ._db import database_has as database_has
from ._db import open_database as open_database
from ._grants import SqlGrantStore as SqlGrantStore
from ._incidents import SqlIncidentStore as SqlIncidentStore

__all__ = [
    "Database",
    "MemoryConsentStore",
    "SqlConsentStore",
    "SqlGrantStore",
    "SqlIncidentStore",
    "database_exists",
    "database_has",
    "open_database",
]

register_exists("sqlite", database_has)
register_exists("postgresql", database_has)
