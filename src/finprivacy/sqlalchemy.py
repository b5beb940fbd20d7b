"""SQLAlchemy column types that store finprivacy tokens (extra ``sqlalchemy``).

>>> from sqlalchemy.orm import Mapped, mapped_column
>>> # card_no: Mapped[fp.Secret[str]] = mapped_column(EncryptedString("customers.card_no"))

Values are encrypted on the way in (the plain value or a :class:`~finprivacy.Secret`)
and come back as :class:`~finprivacy.Secret`, so they stay masked in reprs and logs
until ``.reveal()``. Beside strings and bytes, :class:`EncryptedDate`,
:class:`EncryptedNumeric` (``Decimal``), :class:`EncryptedInteger` and
:class:`EncryptedJSON` keep balances, amounts and dates of birth encrypted: each
value is written as canonical text and sealed into an ``fp1`` token. The keyring is
the one passed to the type, else the current one (:func:`finprivacy.use_keyring`).
The column itself is plain text: tokens are ASCII.

Encrypted columns cannot be compared in SQL: ``==``, ``<``, ``like`` and the rest
raise :class:`~finprivacy.errors.InvalidInputError` (only ``is None`` checks pass);
use :func:`blind_indexed` for equality lookups.

``row_key="client_no"`` binds each token to its row as well as its column (context
``"clients.card_no#<client_no>"``): a token copied into another row fails to decrypt.
The ORM seals and opens such columns itself (the row key must be set before the
flush); Core statements pass :class:`RowValue` and get :class:`Sealed` back.

``accept_plaintext=True`` is the migration mode: a stored value that is not a token
loads as a :class:`~finprivacy.Secret` of itself, so a column can be encrypted in
place while the application runs (:func:`encrypt_column`).

Create the engine with ``hide_parameters=True``: SQLAlchemy otherwise copies bound
parameters — the plaintext, when a statement fails before encryption — into its own
error messages. Passing :class:`~finprivacy.Secret` values avoids that too.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, MetaData, bindparam, event, false, or_, select, type_coerce
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import operators
from sqlalchemy.sql.schema import Table
from sqlalchemy.types import Text, TypeDecorator

from .crypto import BlindIndex, Keyring, ValueCodec, current_keyring, is_token, record_context
from .crypto._codecs import BYTES, DATE, DECIMAL, INTEGER, JSON, TEXT
from .errors import InvalidInputError
from .secret import Secret

__all__ = [
    "EncryptedBytes",
    "EncryptedDate",
    "EncryptedInteger",
    "EncryptedJSON",
    "EncryptedNumeric",
    "EncryptedString",
    "RowValue",
    "Sealed",
    "blind_indexed",
    "encrypt_column",
]


@dataclasses.dataclass(frozen=True, slots=True)
class RowValue:
    """A value for a row-bound column in a Core statement: ``RowValue(value, record_id)``."""

    value: Any
    """The plain value (or a :class:`~finprivacy.Secret` of it)."""
    record_id: object
    """The row's key, the value of the column named by ``row_key``."""

    def __repr__(self) -> str:
        return f"RowValue(<hidden>, record_id={self.record_id!r})"


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class Sealed:
    """A row-bound token loaded without its row (a Core query): open it with the row's key."""

    token: str
    """The stored token."""
    _type: _Encrypted = dataclasses.field(compare=False)

    def open(self, record_id: object) -> Secret[Any]:
        """Decrypt for the row whose key is ``record_id``."""
        return self._type._open(self.token, record_context(self._type.context, record_id))

    def __repr__(self) -> str:
        return f"Sealed({self._type.context!r})"


_ALLOWED_OPS = frozenset({operators.is_, operators.is_not})


class _Encrypted(TypeDecorator[Secret[Any]]):
    impl = Text
    cache_ok = True
    _codec: ValueCodec = TEXT

    class comparator_factory(TypeDecorator.Comparator[Any]):
        """Only ``IS NULL`` checks: tokens are randomised, SQL comparisons mean nothing."""

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op in _ALLOWED_OPS or (op in (operators.eq, operators.ne)
                                       and len(other) == 1 and other[0] is None):
                return super().operate(op, *other, **kwargs)
            raise InvalidInputError(
                "an encrypted column cannot be compared in SQL (its tokens are randomised); "
                "use finprivacy.sqlalchemy.blind_indexed for equality lookups")

    def __init__(self, context: str, *, keyring: Keyring | None = None,
                 row_key: str | None = None, accept_plaintext: bool = False) -> None:
        if not context or not isinstance(context, str):
            raise InvalidInputError("an encrypted column needs a non-empty context")
        named: object = row_key
        if named is not None and (not isinstance(named, str) or not named.isidentifier()):
            raise InvalidInputError("row_key must name a column attribute")
        super().__init__()
        self.context = context
        self.keyring = keyring
        self.row_key = row_key
        self.accept_plaintext = accept_plaintext

    def _kr(self) -> Keyring:
        return self.keyring if self.keyring is not None else current_keyring()

    def _seal(self, value: Any, context: str) -> str:
        return self._codec.seal(self._kr(), value, column=self.context, context=context)

    def _open(self, token: str, context: str) -> Secret[Any]:
        return self._codec.open(self._kr(), token, column=self.context, context=context)

    def _plaintext(self, stored: str) -> Secret[Any]:
        return Secret(self._codec.parse(stored, self.context))

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Encrypt a value on its way into the database."""
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.token
        if isinstance(value, RowValue):
            return self._seal(value.value, record_context(self.context, value.record_id))
        if self.row_key is not None:
            raise InvalidInputError(
                f"column with context {self.context!r} is bound to its row's "
                f"{self.row_key!r}: pass RowValue(value, record_id) in Core statements")
        return self._seal(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Decrypt a stored token into a :class:`~finprivacy.Secret` (row-bound: ``Sealed``)."""
        if value is None:
            return None
        if self.accept_plaintext and not is_token(value):
            return self._plaintext(value)
        if self.row_key is not None:
            return Sealed(value, self)
        return self._open(value, self.context)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        """Refuse to render an encrypted value as a SQL literal."""
        raise InvalidInputError("encrypted values cannot be rendered as SQL literals")


class EncryptedString(_Encrypted):
    """A text column holding an ``fp1`` token of a ``str``; loads as ``Secret[str]``."""

    cache_ok = True
    _codec = TEXT


class EncryptedBytes(_Encrypted):
    """A text column holding an ``fp1`` token of ``bytes``; loads as ``Secret[bytes]``."""

    cache_ok = True
    _codec = BYTES


class EncryptedDate(_Encrypted):
    """An encrypted ``datetime.date`` (a date of birth, an ID's expiry); ``Secret[date]``."""

    cache_ok = True
    _codec = DATE


class EncryptedNumeric(_Encrypted):
    """An encrypted exact amount: ``Decimal`` or ``int`` in, ``Secret[Decimal]`` out.

    The scale is kept (``Decimal("10.50")`` comes back as ``10.50``). ``float`` is
    refused (a balance must not pass through binary floating point), and so are NaN
    and infinities.
    """

    cache_ok = True
    _codec = DECIMAL


class EncryptedInteger(_Encrypted):
    """An encrypted ``int`` (``bool`` refused); loads as ``Secret[int]``."""

    cache_ok = True
    _codec = INTEGER


class EncryptedJSON(_Encrypted):
    """An encrypted JSON document (dicts, lists, str, numbers, bool, None); ``Secret[...]``.

    Written as canonical JSON (keys sorted, no NaN). Changes made inside a loaded
    document are not tracked: assign a new value to have it written.
    """

    cache_ok = True
    _codec = JSON


# -- row binding through the ORM -------------------------------------------------------


def _bound_columns(mapper: Mapper[Any]) -> list[tuple[str, _Encrypted, str]]:
    found = []
    for attr in mapper.column_attrs:
        for column in attr.columns:
            kind = getattr(column, "type", None)
            if isinstance(kind, _Encrypted) and kind.row_key is not None:
                found.append((attr.key, kind, kind.row_key))
    return found


def _record_id(target: Any, key: str, row_key: str) -> object:
    rid = getattr(target, row_key)
    if rid is None or rid == "":
        raise InvalidInputError(
            f"{type(target).__name__}.{key} is bound to {row_key!r}, which is not set: "
            "assign it before the flush (a key the application makes; an autoincrement "
            "id is known only after the INSERT)")
    return rid


def _configure(mapper: Mapper[Any], cls: type) -> None:
    bound = _bound_columns(mapper)
    if not bound:
        return
    names = {a.key for a in mapper.column_attrs}
    for key, _kind, row_key in bound:
        if row_key not in names:
            raise InvalidInputError(
                f"{cls.__name__}.{key}: row_key {row_key!r} is not a column attribute")

    def open_all(target: Any, *_: Any) -> None:
        state = target.__dict__
        for key, _kind, row_key in bound:
            value = state.get(key)
            if isinstance(value, Sealed):
                set_committed_value(target, key, value.open(_record_id(target, key, row_key)))

    def seal(_mapper: Any, _conn: Any, target: Any) -> None:
        insp = sa_inspect(target)
        for key, kind, row_key in bound:
            value = target.__dict__.get(key)
            if value is None or isinstance(value, Sealed):
                continue
            if insp.persistent and not (insp.attrs[key].history.has_changes()
                                        or insp.attrs[row_key].history.has_changes()):
                continue
            rid = _record_id(target, key, row_key)
            target.__dict__.setdefault("_finprivacy_open", {})[key] = value
            setattr(target, key, Sealed(kind._seal(value, record_context(kind.context, rid)),
                                        kind))

    def reopen(_mapper: Any, _conn: Any, target: Any) -> None:
        opened = target.__dict__.pop("_finprivacy_open", None)
        if opened:
            for key, value in opened.items():
                set_committed_value(target, key,
                                    value if isinstance(value, Secret) else Secret(value))

    event.listen(cls, "load", open_all)
    event.listen(cls, "refresh", open_all)
    event.listen(mapper, "before_insert", seal)
    event.listen(mapper, "before_update", seal)
    event.listen(mapper, "after_insert", reopen)
    event.listen(mapper, "after_update", reopen)


event.listen(Mapper, "mapper_configured", _configure)


# -- encrypting an existing column in place ---------------------------------------------


def encrypt_column(bind: Connection, table: Table | str, column: str, kind: _Encrypted, *,
                   key_column: str = "id", batch_size: int = 1000,
                   progress: Callable[[int], None] | None = None) -> int:
    """Encrypt the plaintext left in ``table.column`` in batches; return how many rows.

    For an online migration (an Alembic ``upgrade`` passes ``op.get_bind()``): deploy
    the application with ``kind`` built with ``accept_plaintext=True`` (it reads both),
    run this, then deploy with ``accept_plaintext=False``. Rows are walked in
    ``key_column`` order, ``batch_size`` at a time, each batch in its own transaction
    when ``bind`` is not already in one; values that are already tokens are skipped,
    so a run stopped half-way is resumed by running it again. A row-bound ``kind``
    takes its record ids from its ``row_key`` column. ``progress`` is called with the
    running count after each batch.
    """
    if batch_size < 1:
        raise InvalidInputError("batch_size must be at least 1")
    own = not bind.in_transaction()  # else the caller's (Alembic's) transaction holds it all
    tbl = table if isinstance(table, Table) else Table(table, MetaData(),
                                                       autoload_with=bind)
    if column not in tbl.c or key_column not in tbl.c:
        raise InvalidInputError(f"table {tbl.name!r} has no column {column!r} or "
                                f"{key_column!r}")
    key = tbl.c[key_column]
    value_col = tbl.c[column]
    if kind.row_key is not None and kind.row_key not in tbl.c:
        raise InvalidInputError(f"table {tbl.name!r} has no column {kind.row_key!r}")
    rid_col = tbl.c[kind.row_key] if kind.row_key is not None else None
    raw = Text()
    update = tbl.update().where(key == bindparam("k", type_=key.type)).values(
        {column: bindparam("t", type_=raw)})
    query = select(key, type_coerce(value_col, raw),
                   *([rid_col] if rid_col is not None else [])).order_by(key).limit(batch_size)
    if own and bind.in_transaction():
        bind.commit()  # end the transaction reflecting the table began
    last: Any = None
    done = 0
    while True:
        with bind.begin() if own else contextlib.nullcontext():
            q = query if last is None else query.where(key > last)
            rows = bind.execute(q).all()
            if not rows:
                break
            updates = []
            for row in rows:
                stored = row[1]
                if stored is None or is_token(stored):
                    continue
                plain = kind._plaintext(stored).reveal()
                context = (kind.context if rid_col is None
                           else record_context(kind.context, row[2]))
                updates.append({"k": row[0], "t": kind._seal(plain, context)})
            if updates:
                bind.execute(update, updates)
        done += len(updates)
        last = rows[-1][0]
        if progress is not None:
            progress(done)
    return done


class _BlindComparator(Comparator[Any]):
    """``==``, ``!=`` and ``in_()`` on the index column; every other comparison refuses."""

    def __init__(self, index_column: Any, index: BlindIndex) -> None:
        super().__init__(index_column)
        self._index = index

    def _matches(self, value: Any) -> ColumnElement[bool]:
        if value is None:
            empty: Any = self.expression
            found: ColumnElement[bool] = empty.is_(None)
            return found
        column: Any = self.expression
        matched: ColumnElement[bool] = column.in_(self._index.lookup_values(value))
        return matched

    def __eq__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        return self._matches(other)

    def __ne__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        return ~self._matches(other)

    def in_(self, other: Any) -> Any:
        values = list(other)
        if not values:
            return false()
        return or_(*(self._matches(v) for v in values))

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        raise InvalidInputError(
            "an encrypted column can only be compared for equality (==, !=, in_) through "
            f"its blind index, not with {getattr(op, '__name__', op)}")

    def __hash__(self) -> int:
        return id(self)


def blind_indexed(token_attribute: str, index_attribute: str, index: BlindIndex) -> Any:
    """Return a mapped attribute that reads, writes and searches an encrypted value.

    ``token_attribute`` names the :class:`EncryptedString` attribute holding the value,
    ``index_attribute`` the string column holding its blind index (``index``, a
    :class:`~finprivacy.BlindIndex`)::

        class Client(Base):
            id_no_token: Mapped[Secret[str] | None] = mapped_column(
                "id_no", EncryptedString("clients.id_no"))
            id_no_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
            id_no = blind_indexed("id_no_token", "id_no_bidx", ID_INDEX)

        client.id_no = "11010519491231002X"          # token and index written together
        select(Client).where(Client.id_no == "110105 19491231 002x")
        select(Client).where(Client.id_no.in_([a, b]))

    Reading returns the :class:`~finprivacy.Secret`. A query compares the index column
    with the value's index under every usable key version (rows indexed before a
    rotation are still found, until ``finprivacy reindex``). The index may match other
    rows by design (it is truncated): compare the decrypted values of the rows found
    when that matters. Other comparisons (``<``, ``like`` …) raise
    :class:`~finprivacy.errors.InvalidInputError`.
    """
    if not isinstance(index, BlindIndex):
        raise InvalidInputError("blind_indexed() needs a BlindIndex")

    def get(self: Any) -> Any:
        return getattr(self, token_attribute)

    def set_(self: Any, value: Any) -> None:
        setattr(self, token_attribute, value)
        setattr(self, index_attribute, None if value is None else index.compute(value))

    def compare(cls: Any) -> _BlindComparator:
        return _BlindComparator(getattr(cls, index_attribute), index)

    prop: Any = hybrid_property(get)
    prop = prop.setter(set_)
    return prop.comparator(compare)
