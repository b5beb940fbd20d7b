"""SQLAlchemy column types that store finprivacy tokens (extra ``sqlalchemy``).

>>> from sqlalchemy.orm import Mapped, mapped_column
>>> # card_no: Mapped[fp.Secret[str]] = mapped_column(EncryptedString("customers.card_no"))

Values are encrypted on the way in (plain ``str``/``bytes`` or :class:`~finprivacy.Secret`)
and come back as :class:`~finprivacy.Secret`, so they stay masked in reprs and logs
until ``.reveal()``. The keyring is the one passed to the type, else the current one
(:func:`finprivacy.use_keyring`). The column itself is plain text: tokens are ASCII.
Encrypted columns cannot be compared in SQL; use a blind index column for lookups.

Create the engine with ``hide_parameters=True``: SQLAlchemy otherwise copies bound
parameters — the plaintext, when a statement fails before encryption — into its own
error messages. Passing :class:`~finprivacy.Secret` values avoids that too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.types import Text, TypeDecorator

from .crypto import BlindIndex, Keyring, current_keyring
from .errors import InvalidInputError
from .secret import Secret

__all__ = ["EncryptedBytes", "EncryptedString", "blind_indexed"]


class _Encrypted(TypeDecorator[Secret[Any]]):
    impl = Text
    cache_ok = True

    def __init__(self, context: str, *, keyring: Keyring | None = None) -> None:
        if not context or not isinstance(context, str):
            raise InvalidInputError("an encrypted column needs a non-empty context")
        super().__init__()
        self.context = context
        self._keyring = keyring

    def _kr(self) -> Keyring:
        return self._keyring if self._keyring is not None else current_keyring()

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Encrypt a value on its way into the database."""
        if value is None:
            return None
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str | bytes) or not isinstance(value, self._python_type):
            raise InvalidInputError(
                f"column with context {self.context!r} takes "
                f"{self._python_type.__name__}, not {type(value).__name__}"
            )
        return self._kr().encrypt(value, context=self.context)

    _python_type: type = str

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        """Refuse to render an encrypted value as a SQL literal."""
        raise InvalidInputError("encrypted values cannot be rendered as SQL literals")


class EncryptedString(_Encrypted):
    """A text column holding an ``fp1`` token of a ``str``; loads as ``Secret[str]``."""

    _python_type = str

    def process_result_value(self, value: Any, dialect: Dialect) -> Secret[Any] | None:
        """Decrypt a stored token into a :class:`~finprivacy.Secret`."""
        if value is None:
            return None
        return Secret(self._kr().decrypt_str(value, context=self.context))


class EncryptedBytes(_Encrypted):
    """A text column holding an ``fp1`` token of ``bytes``; loads as ``Secret[bytes]``."""

    _python_type = bytes

    def process_result_value(self, value: Any, dialect: Dialect) -> Secret[Any] | None:
        """Decrypt a stored token into a :class:`~finprivacy.Secret`."""
        if value is None:
            return None
        return Secret(self._kr().decrypt_bytes(value, context=self.context))


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
