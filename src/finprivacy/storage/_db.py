"""A thin, typed layer over ``sqlite3`` and psycopg 3 shared by every SQL store.

Stores write their SQL once with ``?`` placeholders and ``{name}`` type slots
(``{blob}``, ``{bigint}``, ``{autoid}``, ``{text}``); :class:`Database` adapts both to
the dialect. SQLite is the embedded default (WAL, ``synchronous=FULL``, created on
first use); PostgreSQL needs the ``postgres`` extra.

Each thread gets its own connection. Schemas are versioned per component in the
``finprivacy_schema`` table and migrated forward under a lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Protocol

from .._stores import redact_url
from ..errors import ConfigurationError, SchemaError, StoreError

__all__ = ["Database", "Dialect", "Tx", "database_exists", "database_has", "open_database"]

Dialect = Literal["sqlite", "postgresql"]

_TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "blob": "BLOB",
        "bigint": "INTEGER",
        "autoid": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "text": "TEXT",
        "real": "REAL",
    },
    "postgresql": {
        "blob": "BYTEA",
        "bigint": "BIGINT",
        "autoid": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "text": "TEXT",
        "real": "DOUBLE PRECISION",
    },
}


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Tx:
    """One transaction on one connection; obtained from :meth:`Database.transaction`."""

    __slots__ = ("_conn", "dialect")

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self._conn = conn
        self.dialect: Dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        """Run one statement with ``?`` placeholders and return its cursor."""
        try:
            cur: _Cursor = self._conn.execute(self._sql(sql), tuple(params))
        except sqlite3.IntegrityError as exc:
            from ..errors import ConflictError

            raise ConflictError(f"constraint violated: {_first_line(exc)}") from None
        except Exception as exc:
            if _is_pg_integrity(exc):
                from ..errors import ConflictError

                raise ConflictError(f"constraint violated: {_first_line(exc)}") from None
            raise
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        if not rows:
            return
        try:
            if self.dialect == "postgresql":
                with self._conn.cursor() as cur:
                    cur.executemany(self._sql(sql), [tuple(r) for r in rows])
            else:
                self._conn.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            from ..errors import ConflictError

            raise ConflictError(f"constraint violated: {_first_line(exc)}") from None
        except Exception as exc:
            if _is_pg_integrity(exc):
                from ..errors import ConflictError

                raise ConflictError(f"constraint violated: {_first_line(exc)}") from None
            raise

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query and return its first row, or ``None``."""
        return self.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a query and return all rows."""
        return self.execute(sql, params).fetchall()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _is_pg_integrity(exc: BaseException) -> bool:
    return type(exc).__name__ in {"UniqueViolation", "IntegrityError", "ForeignKeyViolation",
                                  "CheckViolation", "NotNullViolation", "ExclusionViolation"}


Migration = str | Callable[[Tx], None]
"""A migration step: SQL text (``;``-separated, with ``{type}`` slots) or a function of a Tx."""


class Database:
    """A SQLite file or a PostgreSQL database, with per-thread connections.

    Use :func:`open_database` rather than constructing one directly.
    """

    def __init__(self, url: str, dialect: Dialect, target: str, *,
                 synchronous: str = "FULL") -> None:
        self.url = url
        self.dialect: Dialect = dialect
        self._target = target
        self._synchronous = synchronous
        self._local = threading.local()
        self._pid = os.getpid()
        self._migrated: set[str] = set()
        self._lock = threading.Lock()
        self._all_conns: list[Any] = []

    def __repr__(self) -> str:
        return f"Database({self.dialect!r}, {redact_url(self.url)!r})"

    # -- connections -------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            if self._target != ":memory:":
                parent = os.path.dirname(os.path.abspath(self._target))
                os.makedirs(parent, exist_ok=True)
            conn = sqlite3.connect(self._target, timeout=60.0, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 60000")
            if self._target != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        try:
            import psycopg
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "PostgreSQL stores need psycopg: pip install 'finprivacy[postgres]'"
            ) from None
        try:
            return psycopg.connect(self._target, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact_url(self.url)}: {_first_line(exc)}"
            ) from None

    def _conn(self) -> Any:
        if os.getpid() != self._pid:  # forked: never share a parent's connection
            self._local = threading.local()
            self._pid = os.getpid()
            self._all_conns = []
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all_conns.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """Run a block in one transaction; commit on success, roll back on error.

        On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so concurrent
        writers queue instead of failing at commit.
        """
        conn = self._conn()
        depth = getattr(self._local, "depth", 0)
        if depth:
            # Nested use joins the outer transaction.
            self._local.depth = depth + 1
            try:
                yield Tx(conn, self.dialect)
            finally:
                self._local.depth = depth
            return
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        else:
            conn.execute("BEGIN")
        self._local.depth = 1
        try:
            yield Tx(conn, self.dialect)
        except BaseException:
            self._local.depth = 0
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
        else:
            self._local.depth = 0
            conn.execute("COMMIT")

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read-only statement on its own and return all rows.

        Outside a transaction the statement is its own (autocommit) transaction: one
        round trip instead of ``BEGIN``/query/``COMMIT``, and a single statement always
        sees one consistent snapshot. Inside :meth:`transaction` on the same thread it
        joins that transaction.
        """
        return Tx(self._conn(), self.dialect).fetchall(sql, params)

    def close_thread(self) -> None:
        """Close the calling thread's connection, if it has one.

        A helper thread calls it as it ends, so short-lived threads leave no
        connection behind.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock, contextlib.suppress(ValueError):
            self._all_conns.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        """Close every connection this object opened in this process."""
        with self._lock:
            conns, self._all_conns = self._all_conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
        # The file or database may be replaced while closed: check schemas again on reuse.
        self._migrated.clear()

    # -- schema ------------------------------------------------------------------
    def sql(self, text: str) -> str:
        """Fill the ``{blob}``/``{bigint}``/``{autoid}``/``{text}``/``{real}`` slots."""
        return text.format(**_TYPES[self.dialect])

    def migrate(self, component: str, migrations: Sequence[Migration]) -> None:
        """Bring ``component``'s schema to ``len(migrations)``, applying missing steps.

        Safe to call from several processes at once; a database whose schema is newer
        than this library raises :class:`SchemaError` and is left untouched.
        """
        if component in self._migrated:
            return
        target = len(migrations)
        with self.transaction() as tx:
            if self.dialect == "postgresql":
                lock_id = int.from_bytes(hashlib.sha256(b"finprivacy.schema").digest()[:7], "big")
                tx.execute("SELECT pg_advisory_xact_lock(?)", (lock_id,))
            tx.execute(
                "CREATE TABLE IF NOT EXISTS finprivacy_schema ("
                "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = tx.fetchone(
                "SELECT version FROM finprivacy_schema WHERE component = ?", (component,)
            )
            current = int(row[0]) if row else 0
            if current > target:
                raise SchemaError(
                    f"the {component!r} schema is at version {current}, newer than this "
                    f"finprivacy release supports ({target}); upgrade finprivacy"
                )
            for step in migrations[current:]:
                if callable(step):
                    step(tx)
                else:
                    for statement in self.sql(step).split(";"):
                        if statement.strip():
                            tx.execute(statement)
            if row is None:
                tx.execute(
                    "INSERT INTO finprivacy_schema (component, version) VALUES (?, ?)",
                    (component, target),
                )
            elif current != target:
                tx.execute(
                    "UPDATE finprivacy_schema SET version = ? WHERE component = ?",
                    (target, component),
                )
        self._migrated.add(component)

    def schema_version(self, component: str) -> int:
        """Return the stored schema version of ``component`` (0 when absent)."""
        with self.transaction(write=False) as tx:
            try:
                row = tx.fetchone(
                    "SELECT version FROM finprivacy_schema WHERE component = ?", (component,)
                )
            except Exception:
                return 0
        return int(row[0]) if row else 0


_CACHE: dict[tuple[int, str], Database] = {}
_CACHE_LOCK = threading.Lock()


def open_database(url: str, *, synchronous: str = "FULL") -> Database:
    """Open (or reuse, within this process) the database named by ``url``.

    ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:`` (one
    private database per thread: tests only), ``postgresql://user@host/db`` or
    ``postgresql:///db?host=/socket/dir``.
    """
    if not isinstance(url, str):
        raise ConfigurationError("a database URL must be a string")
    if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA", "OFF"):
        raise ConfigurationError("synchronous must be FULL, NORMAL, EXTRA or OFF")
    key = (os.getpid(), url)
    with _CACHE_LOCK:
        db = _CACHE.get(key)
        if db is not None:
            return db
        lower = url.lower()
        if lower.startswith("sqlite:///"):
            path = url[len("sqlite:///"):]
            if not path:
                raise ConfigurationError("sqlite URL needs a path: 'sqlite:///app.db'")
            db = Database(url, "sqlite", path, synchronous=synchronous.upper())
        elif lower.startswith(("postgresql://", "postgres://")):
            db = Database(url, "postgresql", url)
        elif lower.startswith("postgresql+psycopg://"):
            db = Database(url, "postgresql", "postgresql://" + url.split("://", 1)[1])
        else:
            raise ConfigurationError(
                f"unsupported database URL scheme in {redact_url(url)!r}; "
                "use 'sqlite:///path.db' or 'postgresql://…'"
            )
        _CACHE[key] = db
        return db


def database_exists(url: str) -> bool:
    """Return whether there is a database at ``url``, creating nothing.

    A SQLite URL names an existing file; a PostgreSQL URL is connected to (a missing
    database is ``False``; a server that cannot be reached raises :class:`StoreError`).
    """
    lower = url.lower()
    if lower.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return bool(path) and path != ":memory:" and os.path.isfile(path)
    if lower.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        try:
            with open_database(url).transaction(write=False) as tx:
                tx.fetchone("SELECT 1")
        except StoreError as exc:
            if "does not exist" in str(exc):
                return False
            raise
        return True
    raise ConfigurationError(
        f"unsupported database URL scheme in {redact_url(url)!r}; "
        "use 'sqlite:///path.db' or 'postgresql://…'")


def database_has(url: str, component: str) -> bool:
    """Return whether the database at ``url`` exists and holds ``component``'s schema.

    Creates nothing: a SQLite file is opened read-only (a missing file or folder is
    ``False``), a PostgreSQL database is asked for its ``finprivacy_schema`` table.
    ``sqlite:///:memory:`` never holds anything yet. For readers and verifiers, which
    must never create the store they were asked to read (a typo in a URL would
    otherwise verify an empty new database).
    """
    lower = url.lower()
    if lower.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path or path == ":memory:" or not os.path.isfile(path):
            return False
        uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=60.0)) as conn:
                row = conn.execute("SELECT version FROM finprivacy_schema WHERE component = ?",
                                   (component,)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None
    if lower.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        db = open_database(url)
        with db.transaction(write=False) as tx:
            if tx.fetchone("SELECT to_regclass('finprivacy_schema')")[0] is None:
                return False
            return tx.fetchone("SELECT version FROM finprivacy_schema WHERE component = ?",
                               (component,)) is not None
    raise ConfigurationError(
        f"unsupported database URL scheme in {redact_url(url)!r}; "
        "use 'sqlite:///path.db' or 'postgresql://…'")
