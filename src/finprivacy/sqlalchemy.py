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

from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator

from .crypto import Keyring, current_keyring
from .errors import InvalidInputError
from .secret import Secret

__all__ = ["EncryptedBytes", "EncryptedString"]


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
