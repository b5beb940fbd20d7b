"""The current keyring, in a context variable: each thread and asyncio task sees its own."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from ..errors import ConfigurationError
from ._keyring import Keyring

__all__ = ["current_keyring", "use_keyring"]

P = ParamSpec("P")
R = TypeVar("R")

_CURRENT: contextvars.ContextVar[Keyring | None] = contextvars.ContextVar(
    "finprivacy_keyring", default=None)


class use_keyring:  # lower case: it reads as a function, ``with use_keyring(kr):``
    """Make ``keyring`` the current keyring in a ``with`` block or a decorated function.

    The previous keyring is restored on exit, even on error, so blocks nest. As a
    decorator it works for plain and ``async`` functions (the keyring is current while
    the coroutine runs, not only while it is created). Threads and asyncio tasks started
    inside inherit a copy of the context, as with any :mod:`contextvars` variable::

        with fp.use_keyring(keyring):
            row = client.model_dump(mode="json")

        @fp.use_keyring(keyring)
        async def export_clients() -> None: ...
    """

    __slots__ = ("_keyring", "_tokens")

    def __init__(self, keyring: Keyring) -> None:
        if not isinstance(keyring, Keyring):
            raise ConfigurationError("use_keyring() needs a finprivacy Keyring")
        self._keyring = keyring
        self._tokens: list[contextvars.Token[Keyring | None]] = []

    def __enter__(self) -> Keyring:
        self._tokens.append(_CURRENT.set(self._keyring))
        return self._keyring

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._tokens.pop())

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        keyring = self._keyring
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with use_keyring(keyring):
                    return await fn(*args, **kwargs)

            return cast(Callable[P, R], run_async)

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with use_keyring(keyring):
                return fn(*args, **kwargs)

        return run

    def __repr__(self) -> str:
        return f"use_keyring({self._keyring!r})"


def current_keyring() -> Keyring:
    """Return the keyring made current by :class:`use_keyring`.

    Raises :class:`~finprivacy.errors.ConfigurationError` when there is none.
    """
    keyring = _CURRENT.get()
    if keyring is None:
        raise ConfigurationError(
            "no keyring is in use: wrap the code in `with finprivacy.use_keyring(keyring):` "
            "or pass the keyring explicitly")
    return keyring
