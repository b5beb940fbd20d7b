"""Audit log stores: memory, SQLite and PostgreSQL (domain ``"audit"``).

One table holds every entry. A writer inserts its rows with ``seq`` NULL: a plain
insert with an autoincrement id, no application lock, idempotent on the entry's
random id. The sequencer takes one lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT …
FOR UPDATE`` of the single state row on PostgreSQL), reads a batch of pending rows in
id order, and in the same transaction sets their ``seq``, leaf and chain hashes,
inserts the new tree nodes and moves the head. Tree nodes (level >= 1) live in
``audit_nodes`` keyed by ``level << 56 | index``; leaf hashes stay on the entry row.
One audit log per database.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._stores import register_store
from ..audit._merkle import GENESIS_CHAIN
from ..audit._store import (
    AuditQuery,
    Integrate,
    PendingRow,
    SegmentRecord,
    StoredCheckpoint,
    StoredEntry,
    TreeState,
    duplicate_id_error,
)
from ..errors import AuditIntegrityError, ConflictError, NotFoundError, StoreError
from ._db import Database, Tx, open_database

__all__ = ["MemoryAuditStore", "SqlAuditStore"]

_CHUNK = 20_000
_COLUMN_WINDOW = 100_000  # rows per column-check query
_SMALL = 32
_RAW = operator.itemgetter(1)  # a pending row's raw bytes
_new_entry = tuple.__new__  # builds a StoredEntry without its Python-level __new__


def _as_entry(row: tuple[int, bytes, bytes, bytes]) -> StoredEntry:
    """Return a stored ``(seq, raw, leaf, chain)`` row as a :class:`StoredEntry`."""
    return _new_entry(StoredEntry, row)


def _key(level: int, index: int) -> int:
    return (level << 56) | index


def _pack(frontier: Sequence[bytes]) -> bytes:
    return b"".join(frontier)


def _unpack(blob: bytes) -> tuple[bytes, ...]:
    if len(blob) % 32:
        raise AuditIntegrityError("stored frontier is corrupt")
    return tuple(blob[i:i + 32] for i in range(0, len(blob), 32))


def _matches(row: PendingRow, seq: int, q: AuditQuery) -> bool:
    return ((q.actor is None or row.actor == q.actor)
            and (q.subject is None or row.subject == q.subject)
            and (q.purpose is None or row.purpose == q.purpose)
            and (q.action is None or row.action == q.action)
            and (q.tenant is None or row.tenant == q.tenant)
            and (q.decision is None or row.decision == q.decision)
            and (q.key_id is None or row.key_id == q.key_id)
            and (q.break_glass is None or row.break_glass == q.break_glass)
            and (q.start_us is None or row.time_us >= q.start_us)
            and (q.end_us is None or row.time_us < q.end_us)
            and (q.after_seq is None or seq > q.after_seq))


class MemoryAuditStore:
    """An audit store in this process's memory: for tests, demos and benchmarks.

    Rows and entries are kept as plain tuples of text, bytes and numbers, which the
    garbage collector stops tracking: a store of millions of entries adds nothing to
    each collection (named tuples would be traversed by every full collection).
    """

    group_commit = False
    """Appends are already cheap here: the log skips its group-commit queue."""

    private_to_process = True
    """No other process can write here (a copy of this process gets a copy of the
    store): the log may draw entry ids from a pool instead of one system call each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq_lock = threading.Lock()
        self._pending: list[tuple[Any, ...]] = []
        self._ids: dict[str, int | None] = {}
        self._rows: dict[int, tuple[Any, ...]] = {}
        self._entries: dict[int, tuple[int, bytes, bytes, bytes]] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._state = TreeState(0, GENESIS_CHAIN, ())
        self._checkpoints: list[tuple[int, StoredCheckpoint]] = []
        self._segments: list[SegmentRecord] = []

    def __repr__(self) -> str:
        return f"MemoryAuditStore(size={self._state.size}, pending={len(self._pending)})"

    def add_pending(self, rows: Sequence[PendingRow]) -> None:
        """Queue rows for the sequencer.

        A row whose entry id is already known with the same bytes is a retry and is
        skipped; with other bytes it raises :class:`AuditIntegrityError` and nothing of
        the batch is queued.
        """
        ids, pending = self._ids, self._pending
        add = pending.append
        lock = self._lock
        # acquire/try/finally: the same as ``with lock:`` at half its cost (once per append).
        lock.acquire()
        try:
            start = len(pending)
            known = False
            for row in rows:
                entry_id = row[0]
                if entry_id in ids:
                    known = True  # a retry, or a clash: told apart below (rare)
                    continue
                ids[entry_id] = None
                add(tuple(row))
            if known:
                try:
                    self._check_known(rows, start)
                except AuditIntegrityError:
                    for added in pending[start:]:  # nothing of this batch stays queued
                        del ids[added[0]]
                    del pending[start:]
                    raise
        finally:
            lock.release()

    def _check_known(self, rows: Sequence[PendingRow], start: int) -> None:
        """Raise if a row reuses a known entry id with other bytes (the rare path).

        ``start`` is where this batch's own rows begin in the pending list: the bytes
        stored before it are the ones a row must match.
        """
        seen: dict[str, bytes] = {}
        for seq in {self._ids.get(r[0]) for r in rows} - {None}:
            entry = self._entries.get(seq)  # type: ignore[arg-type]
            if entry is not None:
                seen[self._rows[entry[0]][0]] = entry[1]
        wanted = {r[0] for r in rows}
        for pending in self._pending[:start]:
            if pending[0] in wanted:
                seen[pending[0]] = pending[1]
        for row in rows:
            known = seen.setdefault(row[0], row[1])
            if known != row[1]:
                raise duplicate_id_error(row[0])

    def pending_count(self) -> int:
        """Return the number of rows not yet sequenced."""
        return len(self._pending)

    def sequence(self, integrate: Integrate, limit: int) -> int:
        """Place up to ``limit`` pending rows under the sequencer lock."""
        with self._seq_lock:
            with self._lock:
                batch = self._pending[:limit]
            if not batch:
                return 0
            # The row itself is its key (integrate hands keys back untouched): nothing
            # to look up afterwards. Only the sequencer (holding _seq_lock) removes
            # pending rows, and writers only add at the end, so the batch is still the
            # list's first rows below.
            result = integrate(self._state, list(zip(batch, map(_RAW, batch), strict=True)))
            with self._lock:
                del self._pending[:len(batch)]
                rows, ids, entries = self._rows, self._ids, self._entries
                for row, seq, leaf, chain in result.assigned:
                    rows[seq] = row
                    ids[row[0]] = seq  # entry_id
                    entries[seq] = (seq, row[1], leaf, chain)
                # Leaf hashes (level 0) are served from the entries, as on SQL stores.
                nodes = self._nodes
                for level, index, h in result.nodes:
                    nodes[(level, index)] = h
                self._state = result.state
            return len(result.assigned)

    def state(self) -> TreeState:
        """Return the current sequenced head."""
        return self._state

    def entries(self, start: int, stop: int) -> Iterator[StoredEntry]:
        """Yield stored entries with ``start <= seq < stop``, in order."""
        return map(_as_entry, self.entry_tuples(start, stop))

    def entry_tuples(self, start: int, stop: int) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        """Like :meth:`entries`, as plain ``(seq, raw, leaf, chain)`` tuples (for verify)."""
        hi = stop if stop - start <= 4096 else min(stop, self.max_seq() + 1)
        # Looked up lazily, one by one, like a generator would, but without its frames.
        return filter(None, map(self._entries.get, range(max(start, 0), hi)))

    def max_seq(self) -> int:
        """Return the largest stored sequence number, or -1."""
        return max(self._entries, default=-1)

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Return stored perfect subtree hashes by key."""
        found: dict[tuple[int, int], bytes] = {}
        nodes, entries = self._nodes, self._entries
        for key in keys:
            h = nodes.get(key)
            if h is None and key[0] == 0:
                entry = entries.get(key[1])
                if entry is not None:
                    h = entry[2]  # leaf
            if h is not None:
                found[key] = h
        return found

    def seq_of(self, entry_id: str) -> int | None:
        """Return the sequence number of an entry id, if sequenced."""
        return self._ids.get(entry_id)

    def query(self, query: AuditQuery) -> Iterator[tuple[int, bytes]]:
        """Yield matching sequenced entries, in order."""
        count = 0
        for seq in sorted(self._rows):
            row = _new_entry(PendingRow, self._rows[seq])
            if _matches(row, seq, query):
                entry = self._entries.get(seq)
                if entry is None:
                    continue
                yield seq, entry[1]
                count += 1
                if query.limit is not None and count >= query.limit:
                    return

    def add_checkpoint(self, checkpoint: StoredCheckpoint, size: int) -> None:
        """Store a checkpoint."""
        with self._lock:
            self._checkpoints.append((size, checkpoint))

    def checkpoints(self) -> list[tuple[int, StoredCheckpoint]]:
        """All checkpoints, oldest first."""
        return list(self._checkpoints)

    def add_segment(self, segment: SegmentRecord) -> None:
        """Record a closed segment."""
        with self._lock:
            self._segments.append(segment)

    def segments(self) -> list[SegmentRecord]:
        """All segments, oldest first."""
        return list(self._segments)

    def prune(self, segment: int, keep: Sequence[tuple[int, int, bytes]]) -> None:
        """Drop a closed segment's entries and inner nodes, keeping ``keep``."""
        with self._seq_lock, self._lock:
            found = [s for s in self._segments if s.number == segment]
            if not found:
                raise NotFoundError(f"no audit segment {segment}")
            seg = found[0]
            for seq in [s for s in self._entries if s < seg.end]:
                del self._entries[seq]
                row = self._rows.pop(seq, None)
                if row is not None:
                    self._ids.pop(row[0], None)  # entry_id
            for key in [k for k in self._nodes if (k[1] + 1) << k[0] <= seg.end]:
                del self._nodes[key]
            for level, index, h in keep:
                self._nodes[(level, index)] = h
            self._segments = [
                s if s.number != segment else SegmentRecord(
                    s.number, s.start, s.end, s.closed_us, s.checkpoint, s.chain, s.frontier,
                    True)
                for s in self._segments]
            st = self._state
            self._state = TreeState(st.size, st.chain, st.frontier, max(st.start, seg.end))

    def close(self) -> None:
        """Nothing to release."""


_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE audit_pending (
        id {autoid},
        entry_id {text} NOT NULL UNIQUE,
        time_us {bigint} NOT NULL,
        tenant {text} NOT NULL,
        actor {text} NOT NULL,
        subject {text} NOT NULL,
        purpose {text} NOT NULL,
        action {text} NOT NULL,
        decision {text} NOT NULL,
        break_glass {bigint} NOT NULL,
        key_id {text} NOT NULL,
        raw {blob} NOT NULL
    );
    CREATE TABLE audit_entries (
        seq {bigint} PRIMARY KEY,
        entry_id {text} NOT NULL UNIQUE,
        time_us {bigint} NOT NULL,
        tenant {text} NOT NULL,
        actor {text} NOT NULL,
        subject {text} NOT NULL,
        purpose {text} NOT NULL,
        action {text} NOT NULL,
        decision {text} NOT NULL,
        break_glass {bigint} NOT NULL,
        key_id {text} NOT NULL,
        raw {blob} NOT NULL,
        leaf {blob} NOT NULL,
        chain {blob} NOT NULL
    );
    CREATE INDEX audit_entries_actor ON audit_entries (actor, time_us);
    CREATE INDEX audit_entries_subject ON audit_entries (subject, time_us);
    CREATE INDEX audit_entries_purpose ON audit_entries (purpose, time_us);
    CREATE INDEX audit_entries_time ON audit_entries (time_us);
    CREATE INDEX audit_entries_key ON audit_entries (key_id, time_us);
    CREATE TABLE audit_nodes (k {bigint} PRIMARY KEY, hash {blob} NOT NULL);
    CREATE TABLE audit_state (
        id {bigint} PRIMARY KEY,
        size {bigint} NOT NULL,
        chain {blob} NOT NULL,
        frontier {blob} NOT NULL,
        start_seq {bigint} NOT NULL
    );
    CREATE TABLE audit_checkpoints (
        id {autoid},
        size {bigint} NOT NULL,
        body {blob} NOT NULL,
        signature {blob} NOT NULL
    );
    CREATE TABLE audit_segments (
        number {bigint} PRIMARY KEY,
        start_seq {bigint} NOT NULL,
        end_seq {bigint} NOT NULL,
        closed_us {bigint} NOT NULL,
        body {blob} NOT NULL,
        signature {blob} NOT NULL,
        chain {blob} NOT NULL,
        frontier {blob} NOT NULL,
        pruned {bigint} NOT NULL
    )
    """,
    lambda tx: tx.execute(
        "INSERT INTO audit_state (id, size, chain, frontier, start_seq) VALUES (1, 0, ?, ?, 0)",
        (GENESIS_CHAIN, b""),
    ),
    lambda tx: _lighter_indexes(tx),
]


def _lighter_indexes(tx: Tx) -> None:
    """Migration 3: cheaper index upkeep per entry, the same queries indexed.

    * The key id index holds only entries that name a key (most name none);
      :meth:`SqlAuditStore.query` adds ``key_id <> ''`` to a search for a key id so
      the planner may use it. A search for entries that name *no* key is served by
      the other filters' indexes, or is a scan, which is what an index on a value most
      entries share would do anyway.
    * PostgreSQL: the time index becomes a BRIN index (min and max time per block
      range). Entries are stored in sequence order and their time follows it (it is
      taken when they are appended, in batches placed soon after), so block ranges
      stay narrow; an entry appended with an earlier explicit ``time=`` only widens
      its range, and results stay exact either way (the rows are rechecked).
      SQLite has no BRIN: it keeps its B-tree.

    On PostgreSQL the new indexes are built first, under other names, while the table
    stays readable (``CREATE INDEX`` takes a lock that lets queries and verification
    go on); only then are the old ones dropped and the new ones renamed, which takes
    the table's exclusive lock for an instant before the commit. (Dropping first would
    hold that lock, blocking every reader, for both builds.) On SQLite one writer holds
    the database throughout and readers keep their snapshot, so the order is plain.
    """
    if tx.dialect == "postgresql":
        tx.execute("CREATE INDEX audit_entries_key_new ON audit_entries (key_id, time_us) "
                   "WHERE key_id <> ''")
        tx.execute("CREATE INDEX audit_entries_time_new ON audit_entries USING brin (time_us)")
        tx.execute("DROP INDEX audit_entries_key")
        tx.execute("DROP INDEX audit_entries_time")
        tx.execute("ALTER INDEX audit_entries_key_new RENAME TO audit_entries_key")
        tx.execute("ALTER INDEX audit_entries_time_new RENAME TO audit_entries_time")
        return
    tx.execute("DROP INDEX audit_entries_key")
    tx.execute("CREATE INDEX audit_entries_key ON audit_entries (key_id, time_us) "
               "WHERE key_id <> ''")


_COLUMNS = ("entry_id, time_us, tenant, actor, subject, purpose, action, decision, "
            "break_glass, key_id, raw")
_P_COLUMNS = ", ".join(f"p.{c.strip()}" for c in _COLUMNS.split(","))
_ROW_TYPES = ("text", "int8", "text", "text", "text", "text", "text", "text", "int8", "text",
              "bytea")
"""PostgreSQL types of ``_COLUMNS``, for binary COPY."""
_NODE_TYPES = ("int8", "bytea")


def _pg_binary(tx: Tx, sql: str, params: Sequence[Any]) -> int:
    """Run a PostgreSQL statement with binary parameters (arrays dump much faster).

    Returns the number of rows it changed.
    """
    try:
        return int(tx._conn.execute(sql.replace("?", "%s"), params, binary=True).rowcount)
    except Exception as exc:
        if type(exc).__name__ in ("UniqueViolation", "IntegrityError"):
            raise ConflictError("constraint violated in the audit store") from None
        raise


def _pg_fetch(tx: Tx, sql: str, params: Sequence[Any]) -> list[Any]:
    """Run a PostgreSQL query with binary results (``bytea`` arrives as bytes, not hex)."""
    cur = tx._conn.execute(sql.replace("?", "%s"), params, binary=True)
    return list(cur.fetchall())


def _state_of(row: Sequence[Any]) -> TreeState:
    """Read the tree head from an ``audit_state`` row (size, chain, frontier, start_seq)."""
    return TreeState(int(row[0]), bytes(row[1]), _unpack(bytes(row[2])), int(row[3]))


def _fast_bytea(cur: Any) -> None:
    """Dump ``bytes`` for ``bytea`` columns with the driver's fastest dumper, on ``cur`` only.

    psycopg maps the ``bytea`` type to its DB-API ``Binary`` dumper (pure Python, two
    calls per value), which ``set_types`` would pick; the dumper the driver uses for
    ``bytes`` objects (C with psycopg's binary package) writes the same bytes.
    """
    from psycopg.adapt import PyFormat

    adapters = cur.adapters
    adapters.register_dumper(bytes, adapters.get_dumper(bytes, PyFormat.BINARY))


def _pg_copy(tx: Tx, sql: str, rows: Sequence[Sequence[Any]],
             types: Sequence[str] | None = None) -> None:
    """Stream rows into PostgreSQL with ``COPY`` (psycopg's C row writer).

    With ``types`` (one PostgreSQL type per column) the copy is binary: bytes go as
    they are instead of as hex text that the server must parse back.
    """
    if types is not None:
        sql += " (FORMAT BINARY)"
    try:
        with tx._conn.cursor() as cur:
            if types is not None:
                _fast_bytea(cur)
            with cur.copy(sql) as copy:
                if types is not None:
                    copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
    except Exception as exc:
        if type(exc).__name__ in ("UniqueViolation", "IntegrityError"):
            raise ConflictError("constraint violated in the audit store") from None
        raise


def _lit(text: str) -> str:
    """Quote ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# The indexed columns, in the order the column check compares them with the entry's
# fields: (JSON field, column, SQL type of the field for PostgreSQL's json_to_record).
_INDEXED = (("id", "entry_id", "text"), ("action", "action", "text"),
            ("decision", "decision", "text"), ("actor", "actor", "text"),
            ("subject", "subject", "text"), ("purpose", "purpose", "text"),
            ("tenant", "tenant", "text"), ("key_id", "key_id", "text"),
            ("time", "time_us", "text"), ("break_glass", "break_glass", "boolean"))
_REQUIRED_FIELDS = frozenset({"id", "action", "decision", "time"})
_SUSPECT_COLUMNS = ("seq, raw, entry_id, time_us, tenant, actor, subject, purpose, action, "
                    "decision, break_glass, key_id")


def _column_check(dialect: str) -> str:
    """Build the query behind :meth:`SqlAuditStore.column_suspects` for ``dialect``.

    The database parses each entry's JSON once (SQLite ``json_extract`` with every
    path, PostgreSQL ``json_to_record``) and compares each field with its column: an
    optional field left out of the entry must have an empty column, the time is
    formatted from ``time_us`` as the entry writes it, and the break-glass flag is
    ``true`` exactly when the column is non-zero. A row whose bytes are not a JSON
    object makes PostgreSQL raise; the caller then looks at every row of the window.
    """
    if dialect == "postgresql":
        time = ("to_char(to_timestamp(a.time_us / 1000000) AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS') || '.' || lpad(mod(a.time_us, 1000000)::text, 6,"
                " '0') || 'Z'")
        checks = []
        for field, column, _ in _INDEXED:
            if field == "time":
                checks.append(f"r.time = {time}")
            elif field == "break_glass":
                checks.append("COALESCE(r.break_glass, FALSE) = (a.break_glass <> 0)")
            elif field in _REQUIRED_FIELDS:
                checks.append(f"r.{field} = a.{column}")
            else:
                checks.append(f"r.{field} IS NOT DISTINCT FROM NULLIF(a.{column}, '')")
        record = ", ".join(f"{field} {kind}" for field, _, kind in _INDEXED)
        columns = ", ".join(f"a.{c.strip()}" for c in _SUSPECT_COLUMNS.split(","))
        return (f"SELECT {columns} FROM audit_entries a "  # noqa: S608
                "CROSS JOIN LATERAL json_to_record(convert_from(a.raw, 'UTF8')::json) "
                f"AS r({record}) WHERE a.seq >= ? AND a.seq < ? "
                f"AND NOT COALESCE(({' AND '.join(checks)}), FALSE) ORDER BY a.seq LIMIT ?")
    time = ("strftime('%Y-%m-%dT%H:%M:%S', time_us / 1000000, 'unixepoch') || '.' || "
            "printf('%06d', time_us % 1000000) || 'Z'")
    text = "CAST(raw AS TEXT)"
    paths = ", ".join(_lit("$." + field) for field, _, _ in _INDEXED)
    values = []
    for field, column, _ in _INDEXED:
        if field == "time":
            values.append(time)
        elif field == "break_glass":
            values.append("CASE WHEN break_glass <> 0 THEN json('true') END")
        elif field in _REQUIRED_FIELDS:
            values.append(column)
        else:
            values.append(f"NULLIF({column}, '')")
    # With several paths json_extract returns a JSON array of the fields, typed as in
    # the entry; json_array builds the same text from the columns.
    ok = (f"CASE WHEN json_valid({text}) THEN json_extract({text}, {paths}) = "
          f"json_array({', '.join(values)}) END")
    return (f"SELECT {_SUSPECT_COLUMNS} FROM audit_entries "  # noqa: S608
            f"WHERE seq >= ? AND seq < ? AND NOT COALESCE(({ok}), 0) ORDER BY seq LIMIT ?")


# A few rows (one request, or a group commit) in one INSERT of arrays. A row whose id
# the log already holds is left out by a correlated subquery: one index probe per row,
# whatever the plan. (With NOT EXISTS, the generic plan PostgreSQL caches for this
# prepared statement, made while the log is small, hash-joins a scan of the whole log
# on every insert: 4 writer processes lost a quarter to a third of their throughput.)
_PG_SMALL_INSERT = (
    f"INSERT INTO audit_pending ({_COLUMNS}) SELECT * FROM unnest("  # noqa: S608
    "?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], "
    "?::text[], ?::text[], ?::bigint[], ?::text[], ?::bytea[]) AS u "
    f"({_COLUMNS}) WHERE (SELECT 1 FROM audit_entries AS e "
    "WHERE e.entry_id = u.entry_id LIMIT 1) IS NULL "
    "ON CONFLICT (entry_id) DO NOTHING")


def _row_tuple(row: PendingRow) -> tuple[Any, ...]:
    return (row.entry_id, row.time_us, row.tenant, row.actor, row.subject, row.purpose,
            row.action, row.decision, int(row.break_glass), row.key_id, row.raw)


class SqlAuditStore:
    """An audit store in a SQLite file or a PostgreSQL database (one log per database)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("audit", _MIGRATIONS)

    @classmethod
    def open(cls, url: str) -> SqlAuditStore:
        """Open (creating or migrating the schema) the store at ``url``."""
        return cls(open_database(url))

    def __repr__(self) -> str:
        return f"SqlAuditStore({self.db!r})"

    @property
    def reopen_url(self) -> str | None:
        """The URL another process opens this store by (``None`` for in-memory SQLite)."""
        if self.db.dialect == "sqlite" and self.db.url.endswith(":memory:"):
            return None
        return self.db.url

    @property
    def threads_share_data(self) -> bool:
        """Whether a connection opened by another thread sees this store's rows.

        Not for in-memory SQLite, where each thread has a private database.
        """
        return self.reopen_url is not None

    def end_thread(self) -> None:
        """Close the calling thread's connection (a helper thread's, before it ends)."""
        self.db.close_thread()

    # -- writers --------------------------------------------------------------------------
    def add_pending(self, rows: Sequence[PendingRow]) -> None:
        """Durably insert rows into ``audit_pending`` in one transaction.

        No lock beyond the insert itself. An entry id already pending is skipped; one
        already sequenced is dropped by the sequencer, so retries never duplicate.
        """
        if not rows:
            return
        if self.db.dialect == "postgresql" and len(rows) > _SMALL:
            # COPY streams a large batch fastest; a few rows (one request, or a group
            # commit) go in one INSERT of arrays below: its text never changes, so
            # psycopg parses and prepares it once (a VALUES list per row count would
            # be re-parsed on every commit).
            try:
                with self.db.transaction() as tx:
                    _pg_copy(tx, f"COPY audit_pending ({_COLUMNS}) FROM STDIN",
                             [_row_tuple(r) for r in rows], _ROW_TYPES)
                    # The unique index refused ids already pending; ids already in the
                    # log are looked up (all at once) and compared.
                    if _pg_fetch(tx, "SELECT 1 FROM audit_entries WHERE entry_id = "
                                 "ANY(?::text[]) LIMIT 1", [[r.entry_id for r in rows]]):
                        self._check_ids(tx, rows)
                return
            except ConflictError:
                pass  # a retried entry id: fall back to the idempotent insert below
        if self.db.dialect == "postgresql":
            # One statement, so no BEGIN/COMMIT around it: on its own it is a transaction
            # (durable when it returns, as any commit); inside a transaction this thread
            # has open, it joins that. A third of the round trips and driver work. Rows
            # whose id the log already holds are left out (see _PG_SMALL_INSERT); the
            # row count then tells every retry or clash.
            cols = list(zip(*(_row_tuple(r) for r in rows), strict=True))
            tx = Tx(self.db._conn(), "postgresql")
            inserted = _pg_binary(
                tx,
                _PG_SMALL_INSERT,
                [list(c) for c in cols],
            )
            if inserted < len(rows):
                # Ids already pending or in the log (one index probe per row above):
                # retries pass, other bytes raise; the rest of the batch is stored.
                self._check_ids(tx, rows, partial=True)
            return
        with self.db.transaction() as tx:
            tx.executemany(
                f"INSERT OR IGNORE INTO audit_pending ({_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_row_tuple(r) for r in rows],
            )
            self._check_ids(tx, rows)

    @staticmethod
    def _check_ids(tx: Tx, rows: Sequence[PendingRow], *, partial: bool = False) -> None:
        """Raise if an entry id of ``rows`` is stored (pending or in the log) with other bytes.

        A retry (the same id with the same bytes) passes: it is skipped, never stored
        twice. On SQLite this runs inside the writing transaction, which then rolls back.
        """
        ids = [r.entry_id for r in rows]
        if tx.dialect == "postgresql":
            found = _pg_fetch(tx, "SELECT entry_id, raw FROM audit_entries WHERE entry_id = "
                              "ANY(?::text[]) UNION ALL SELECT entry_id, raw FROM "
                              "audit_pending WHERE entry_id = ANY(?::text[])", [ids, ids])
        else:
            marks = ", ".join("?" * len(ids))
            found = tx.fetchall(
                f"SELECT entry_id, raw FROM audit_entries WHERE entry_id IN ({marks}) "  # noqa: S608
                f"UNION ALL SELECT entry_id, raw FROM audit_pending WHERE entry_id IN ({marks})",
                [*ids, *ids])
        stored: dict[str, bytes] = {}
        for entry_id, raw in found:
            if stored.setdefault(entry_id, bytes(raw)) != bytes(raw):
                raise duplicate_id_error(entry_id, partial=partial)
        for row in rows:
            if stored.setdefault(row.entry_id, row.raw) != row.raw:
                raise duplicate_id_error(row.entry_id, partial=partial)

    @property
    def prefers_inline_sequencing(self) -> bool:
        """True on SQLite, whose write transactions are serialised anyway."""
        return self.db.dialect == "sqlite"

    def append_sequenced(self, rows: Sequence[PendingRow], integrate: Integrate) -> None:
        """Insert rows and place them in the log in the same write transaction.

        The writer takes the sequencer lock for its own transaction: on SQLite that is
        the write lock ``BEGIN IMMEDIATE`` holds anyway; on PostgreSQL the state row
        lock, which serialises writers (prefer deferred sequencing there).
        """
        if not rows:
            return
        with self.db.transaction() as tx:
            state = self._read_state(tx, lock=True)
            ids = [r.entry_id for r in rows]
            if tx.dialect == "postgresql":
                # One array parameter: a statement text that never changes (an IN list
                # of one mark per row is parsed again by the driver for every batch).
                found = _pg_fetch(tx, "SELECT entry_id FROM audit_entries "
                                  "WHERE entry_id = ANY(?::text[])", [ids])
            else:
                marks = ", ".join("?" * len(rows))
                sql = f"SELECT entry_id FROM audit_entries WHERE entry_id IN ({marks})"  # noqa: S608
                found = tx.fetchall(sql, ids)
            done = {r[0] for r in found}
            if done or len({r.entry_id for r in rows}) < len(rows):
                self._check_ids(tx, rows)  # a retry passes; other bytes raise, rolled back
            fresh = list({r.entry_id: r for r in rows if r.entry_id not in done}.values())
            if not fresh:
                return
            self._place(tx, state, fresh, integrate)

    def try_append_sequenced(self, rows: Sequence[PendingRow], integrate: Integrate) -> bool:
        """PostgreSQL: place a batch in the log at once if that needs no waiting.

        Only when the sequencer lock (the state row) is free right now (``FOR UPDATE
        SKIP LOCKED``) and nothing is pending (so earlier appends keep their place
        before this batch): then the batch goes straight to ``audit_entries`` with its
        sequence numbers, hashes and tree nodes, in one transaction, instead of
        through ``audit_pending``. Returns ``False``, having written nothing, when it
        cannot (another sequencer or writer holds the lock, entries are pending, an
        entry id is already stored, or this is not PostgreSQL): the caller then
        appends the rows as pending.
        """
        if self.db.dialect != "postgresql" or not rows:
            return False
        try:
            with self.db.transaction() as tx:
                row = tx.fetchone("SELECT size, chain, frontier, start_seq FROM audit_state "
                                  "WHERE id = 1 FOR UPDATE SKIP LOCKED")
                if row is None or tx.fetchone(
                        "SELECT id FROM audit_pending ORDER BY id LIMIT 1") is not None:
                    return False
                state = _state_of(row)
                # A repeated entry id violates the unique index: the transaction rolls
                # back and the caller's idempotent pending insert takes the rows.
                self._place(tx, state, rows, integrate)
        except ConflictError:
            return False
        return True

    @staticmethod
    def _place(tx: Tx, state: TreeState, rows: Sequence[PendingRow],
               integrate: Integrate) -> None:
        """Give ``rows`` (distinct, new entry ids) their places after ``state``, in ``tx``.

        The caller holds the sequencer lock.
        """
        result = integrate(state, [(i, r.raw) for i, r in enumerate(rows)])
        entries = [(seq, *_row_tuple(rows[i]), leaf, chain)
                   for i, seq, leaf, chain in result.assigned]
        nodes = [(_key(lv, ix), h) for lv, ix, h in result.nodes]
        if tx.dialect == "postgresql":
            _pg_copy(tx, f"COPY audit_entries (seq, {_COLUMNS}, leaf, chain) FROM STDIN",
                     entries, ("int8", *_ROW_TYPES, "bytea", "bytea"))
            if nodes:
                _pg_copy(tx, "COPY audit_nodes (k, hash) FROM STDIN", nodes, _NODE_TYPES)
        else:
            tx.executemany(
                f"INSERT INTO audit_entries (seq, {_COLUMNS}, leaf, chain) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
            tx.executemany("INSERT INTO audit_nodes (k, hash) VALUES (?, ?)", nodes)
        st = result.state
        tx.execute("UPDATE audit_state SET size = ?, chain = ?, frontier = ? WHERE id = 1",
                   (st.size, st.chain, _pack(st.frontier)))

    def pending_count(self) -> int:
        """Return the number of rows not yet sequenced."""
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("SELECT COUNT(*) FROM audit_pending")
        return int(row[0])

    # -- sequencer ------------------------------------------------------------------------
    @staticmethod
    def _read_state(tx: Tx, lock: bool = False) -> TreeState:
        sql = "SELECT size, chain, frontier, start_seq FROM audit_state WHERE id = 1"
        if lock and tx.dialect == "postgresql":
            sql += " FOR UPDATE"
        row = tx.fetchone(sql)
        if row is None:
            raise StoreError("the audit state row is missing")
        return _state_of(row)

    def sequence(self, integrate: Integrate, limit: int) -> int:
        """Place up to ``limit`` pending rows under the sequencer lock, in one transaction.

        Moves the rows from ``audit_pending`` to the indexed ``audit_entries`` table with
        their sequence number, leaf and chain hashes, adds the new tree nodes and moves
        the head. Entry ids already sequenced (a retried write) are dropped.
        """
        with self.db.transaction() as tx:
            state = self._read_state(tx, lock=True)
            # One query: the batch, each row flagged when its entry id is already in the
            # log (a retried write), found through the unique entry_id index.
            # The third column is NULL for a new entry, 1 for a retry (the log holds the
            # same bytes under its id) and 2 for a clash (other bytes): compared by the
            # database, so only the rare clash costs anything here.
            sql = ("SELECT p.id, p.raw, (SELECT CASE WHEN e.raw = p.raw THEN 1 ELSE 2 END "
                   "FROM audit_entries AS e WHERE e.entry_id = p.entry_id) FROM (SELECT id, "
                   "entry_id, raw FROM audit_pending ORDER BY id LIMIT ?) AS p ORDER BY p.id")
            if tx.dialect == "postgresql":
                rows = _pg_fetch(tx, sql, (limit,))
            else:
                rows = tx.fetchall(sql, (limit,))
            if not rows:
                return 0
            fresh = [(int(r[0]), bytes(r[1])) for r in rows if r[2] is None]
            if len(fresh) < len(rows):
                for r in rows:
                    if r[2] == 2:
                        # Pending under an id the log already holds with other bytes: never
                        # dropped as a retry. The log stops sequencing until it is resolved.
                        found = tx.fetchone("SELECT entry_id FROM audit_pending WHERE id = ?",
                                            (int(r[0]),))
                        raise duplicate_id_error(str(found[0]))
            result = integrate(state, fresh) if fresh else None
            if tx.dialect == "postgresql":
                tx.execute("CREATE TEMP TABLE IF NOT EXISTS audit_seq_batch (id BIGINT, "
                           "seq BIGINT, leaf BYTEA, chain BYTEA) ON COMMIT DELETE ROWS")
                if result is not None:
                    _pg_copy(tx, "COPY audit_seq_batch (id, seq, leaf, chain) FROM STDIN",
                             result.assigned, ("int8", "int8", "bytea", "bytea"))
                    tx.execute(
                        f"INSERT INTO audit_entries (seq, {_COLUMNS}, leaf, chain) "  # noqa: S608
                        f"SELECT v.seq, {_P_COLUMNS}, v.leaf, v.chain FROM audit_seq_batch "
                        "AS v JOIN audit_pending AS p ON p.id = v.id")
                _pg_binary(tx, "DELETE FROM audit_pending WHERE id = ANY(?::bigint[])",
                           [[int(r[0]) for r in rows]])
                if result is not None and result.nodes:
                    _pg_copy(tx, "COPY audit_nodes (k, hash) FROM STDIN",
                             [(_key(lv, ix), h) for lv, ix, h in result.nodes], _NODE_TYPES)
            else:
                if result is not None:
                    tx.executemany(
                        f"INSERT INTO audit_entries (seq, {_COLUMNS}, leaf, chain) "  # noqa: S608
                        f"SELECT ?, {_P_COLUMNS}, ?, ? FROM audit_pending AS p WHERE p.id = ?",
                        [(seq, leaf, chain, key) for key, seq, leaf, chain in result.assigned])
                    tx.executemany("INSERT INTO audit_nodes (k, hash) VALUES (?, ?)",
                                   [(_key(lv, ix), h) for lv, ix, h in result.nodes])
                # Writers are serialised by SQLite's write lock, which we hold: every
                # pending id up to the batch's last one is in the batch.
                tx.execute("DELETE FROM audit_pending WHERE id <= ?", (int(rows[-1][0]),))
            if result is not None:
                st = result.state
                tx.execute(
                    "UPDATE audit_state SET size = ?, chain = ?, frontier = ? WHERE id = 1",
                    (st.size, st.chain, _pack(st.frontier)))
            return len(rows)

    def state(self) -> TreeState:
        """Return the current sequenced head."""
        with self.db.transaction(write=False) as tx:
            return self._read_state(tx)

    # -- readers --------------------------------------------------------------------------
    def entries(self, start: int, stop: int) -> Iterator[StoredEntry]:
        """Yield stored entries with ``start <= seq < stop`` in order, fetched in chunks."""
        return map(_as_entry, self.entry_tuples(start, stop))

    def entry_tuples(self, start: int, stop: int) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        """Like :meth:`entries`, as plain ``(seq, raw, leaf, chain)`` tuples (for verify).

        Rows come from the driver as they are (SQLite: int and bytes; PostgreSQL fetched
        in binary: the same), without building a named tuple per entry.
        """
        sql = ("SELECT seq, raw, leaf, chain FROM audit_entries "
               "WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?")
        pg = self.db.dialect == "postgresql"
        pos = start
        while pos < stop:
            with self.db.transaction(write=False) as tx:
                rows = (_pg_fetch(tx, sql, (pos, stop, _CHUNK)) if pg
                        else tx.fetchall(sql, (pos, stop, _CHUNK)))
            if not rows:
                return
            yield from rows
            pos = rows[-1][0] + 1

    def max_seq(self) -> int:
        """Return the largest stored sequence number, or -1."""
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("SELECT MAX(seq) FROM audit_entries")
        return -1 if row is None or row[0] is None else int(row[0])

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Return stored perfect subtree hashes; leaves come from the entry rows."""
        found: dict[tuple[int, int], bytes] = {}
        if not keys:
            return found
        with self.db.transaction(write=False) as tx:
            marks = ", ".join("?" * len(keys))
            sql = f"SELECT k, hash FROM audit_nodes WHERE k IN ({marks})"  # noqa: S608
            for k, h in tx.fetchall(sql,
                                    [_key(lv, ix) for lv, ix in keys]):
                k = int(k)
                found[(k >> 56, k & ((1 << 56) - 1))] = bytes(h)
            leaves = [ix for lv, ix in keys if lv == 0 and (0, ix) not in found]
            if leaves:
                marks = ", ".join("?" * len(leaves))
                sql = f"SELECT seq, leaf FROM audit_entries WHERE seq IN ({marks})"  # noqa: S608
                for seq, leaf in tx.fetchall(sql, leaves):
                    if leaf is not None:
                        found[(0, int(seq))] = bytes(leaf)
        return found

    def seq_of(self, entry_id: str) -> int | None:
        """Return the sequence number of an entry id, if sequenced."""
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("SELECT seq FROM audit_entries WHERE entry_id = ?", (entry_id,))
        return None if row is None or row[0] is None else int(row[0])

    def query(self, query: AuditQuery) -> Iterator[tuple[int, bytes]]:
        """Yield matching sequenced entries in order, using the column indexes."""
        where = ["seq IS NOT NULL"]
        params: list[Any] = []
        for column in ("actor", "subject", "purpose", "action", "tenant", "decision", "key_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.key_id:
            # Implied by the filter; spelled out so the planner may use the partial
            # index on key_id (migration 3), whatever the parameter's value.
            where.append("key_id <> ''")
        if query.break_glass is not None:
            where.append("break_glass = ?")
            params.append(int(query.break_glass))
        if query.start_us is not None:
            where.append("time_us >= ?")
            params.append(query.start_us)
        if query.end_us is not None:
            where.append("time_us < ?")
            params.append(query.end_us)
        after = -1 if query.after_seq is None else query.after_seq
        remaining = query.limit
        while remaining is None or remaining > 0:
            chunk = _CHUNK if remaining is None else min(_CHUNK, remaining)
            with self.db.transaction(write=False) as tx:
                # Only fixed column names and ? placeholders are interpolated.
                sql = (f"SELECT seq, raw FROM audit_entries WHERE {' AND '.join(where)} "  # noqa: S608
                       "AND seq > ? ORDER BY seq LIMIT ?")
                rows = tx.fetchall(sql, [*params, after, chunk])
            for seq, raw in rows:
                yield int(seq), bytes(raw)
            if len(rows) < chunk:
                return
            after = int(rows[-1][0])
            if remaining is not None:
                remaining -= len(rows)

    def column_suspects(self, start: int, stop: int, *,
                        cancelled: Callable[[], bool] | None = None
                        ) -> Iterator[tuple[Any, ...]]:
        """Yield, in order, the entries whose indexed columns may disagree with their bytes.

        The database itself parses each row's JSON in ``raw`` once and compares it
        with the row's ``actor``, ``subject``, ``purpose``, ``action``, ``tenant``,
        ``decision``, ``key_id``, ``break_glass``, ``time_us`` and ``entry_id``, at C
        speed, a window of rows per query. Rows are ``(seq, raw, entry_id, time_us,
        tenant, actor, subject, purpose, action, decision, break_glass, key_id)``. A
        row may be flagged though it agrees (a field written in an unusual form), and
        when the database cannot parse a window every row of it is yielded: the
        caller confirms each row by decoding it. ``cancelled`` is asked between
        windows; when it returns true the scan stops.
        """
        pg = self.db.dialect == "postgresql"
        sql = _COLUMN_CHECK_PG if pg else _COLUMN_CHECK_SQLITE
        plain = ("SELECT " + _SUSPECT_COLUMNS  # noqa: S608
                 + " FROM audit_entries WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?")
        pos = start
        while pos < stop:
            if cancelled is not None and cancelled():
                return
            window = min(stop, pos + _COLUMN_WINDOW)
            try:
                with self.db.transaction(write=False) as tx:
                    rows = (_pg_fetch(tx, sql, (pos, window, _CHUNK)) if pg
                            else tx.fetchall(sql, (pos, window, _CHUNK)))
            except Exception as exc:  # e.g. bytes that are not a JSON object (PostgreSQL)
                if type(exc).__module__.split(".")[0] not in ("psycopg", "sqlite3"):
                    raise
                with self.db.transaction(write=False) as tx:
                    rows = (_pg_fetch(tx, plain, (pos, window, _CHUNK)) if pg
                            else tx.fetchall(plain, (pos, window, _CHUNK)))
            yield from rows
            pos = int(rows[-1][0]) + 1 if len(rows) == _CHUNK else window

    # -- checkpoints and segments ----------------------------------------------------------
    def add_checkpoint(self, checkpoint: StoredCheckpoint, size: int) -> None:
        """Store a signed checkpoint."""
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO audit_checkpoints (size, body, signature) VALUES (?, ?, ?)",
                       (size, checkpoint.body, checkpoint.signature))

    def checkpoints(self) -> list[tuple[int, StoredCheckpoint]]:
        """All checkpoints, oldest first."""
        with self.db.transaction(write=False) as tx:
            rows = tx.fetchall("SELECT size, body, signature FROM audit_checkpoints ORDER BY id")
        return [(int(r[0]), StoredCheckpoint(bytes(r[1]), bytes(r[2]))) for r in rows]

    def add_segment(self, segment: SegmentRecord) -> None:
        """Record a closed segment."""
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO audit_segments (number, start_seq, end_seq, closed_us, body, "
                "signature, chain, frontier, pruned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (segment.number, segment.start, segment.end, segment.closed_us,
                 segment.checkpoint.body, segment.checkpoint.signature, segment.chain,
                 _pack(segment.frontier), int(segment.pruned)))

    def segments(self) -> list[SegmentRecord]:
        """All segments, oldest first."""
        with self.db.transaction(write=False) as tx:
            rows = tx.fetchall(
                "SELECT number, start_seq, end_seq, closed_us, body, signature, chain, "
                "frontier, pruned FROM audit_segments ORDER BY number")
        return [SegmentRecord(int(r[0]), int(r[1]), int(r[2]), int(r[3]),
                              StoredCheckpoint(bytes(r[4]), bytes(r[5])), bytes(r[6]),
                              _unpack(bytes(r[7])), bool(r[8])) for r in rows]

    def prune(self, segment: int, keep: Sequence[tuple[int, int, bytes]]) -> None:
        """Drop a closed segment's entries and inner nodes in one transaction."""
        with self.db.transaction() as tx:
            self._read_state(tx, lock=True)
            row = tx.fetchone("SELECT end_seq FROM audit_segments WHERE number = ?", (segment,))
            if row is None:
                raise NotFoundError(f"no audit segment {segment}")
            end = int(row[0])
            tx.execute("DELETE FROM audit_entries WHERE seq < ?", (end,))
            for level in range(end.bit_length() + 1):
                count = end >> level
                if count:
                    tx.execute("DELETE FROM audit_nodes WHERE k >= ? AND k < ?",
                               (_key(level, 0), _key(level, count)))
            if tx.dialect == "postgresql":
                for lv, ix, h in keep:
                    tx.execute("INSERT INTO audit_nodes (k, hash) VALUES (?, ?) "
                               "ON CONFLICT (k) DO NOTHING", (_key(lv, ix), h))
            else:
                tx.executemany("INSERT OR IGNORE INTO audit_nodes (k, hash) VALUES (?, ?)",
                               [(_key(lv, ix), h) for lv, ix, h in keep])
            tx.execute("UPDATE audit_segments SET pruned = 1 WHERE number = ?", (segment,))
            tx.execute("UPDATE audit_state SET start_seq = ? WHERE id = 1 AND start_seq < ?",
                       (end, end))

    def close(self) -> None:
        """Close this process's connections to the database."""
        self.db.close()


def _open_memory(url: str) -> MemoryAuditStore:
    return MemoryAuditStore()


_COLUMN_CHECK_SQLITE = _column_check("sqlite")
_COLUMN_CHECK_PG = _column_check("postgresql")

register_store("audit", "memory", _open_memory)
register_store("audit", "sqlite", SqlAuditStore.open)
register_store("audit", "postgresql", SqlAuditStore.open)
