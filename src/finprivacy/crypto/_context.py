"""The current keyring, in a context variable: each thread and asyncio task sees its own."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from ..errors import ConfigurationError
from ._keyring import Keyring

__all__ = ["current_keyring", "use_keyring"]

_CURRENT: contextvars.ContextVar[Keyring | None] = contextvars.ContextVar(
    "finprivacy_keyring", default=None)


@contextlib.contextmanager
def use_keyring(keyring: Keyring) -> Iterator[Keyring]:
    """Make ``keyring`` the current keyring inside a ``with`` block (or a decorated function).

    The previous keyring is restored on exit, even on error. Blocks nest. Asyncio
    tasks and threads started inside inherit a copy of the context as usual.
    """
    if not isinstance(keyring, Keyring):
        raise ConfigurationError("use_keyring() needs a finprivacy Keyring")
    token = _CURRENT.set(keyring)
    try:
        yield keyring
    finally:
        _CURRENT.reset(token)


def current_keyring() -> Keyring:
    """Return the keyring made current by :func:`use_keyring`.

    Raises :class:`~finprivacy.errors.ConfigurationError` when there is none.
    """
    keyring = _CURRENT.get()
    if keyring is None:
        raise ConfigurationError(
            "no keyring is in use: wrap the code in `with finprivacy.use_keyring(keyring):` "
            "or pass the keyring explicitly")
    return keyring


def _maybe_current_keyring() -> Keyring | None:
    return _CURRENT.get()
