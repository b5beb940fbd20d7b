"""Principals, attestations and the context-local "who is acting" binding."""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as _dt
import functools
import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar, cast

from ..clock import utc
from ..errors import AccessDeniedError, ConfigurationError, InvalidInputError

__all__ = ["Attestation", "Principal", "acting_as", "current_principal", "current_request_id",
           "in_request", "require_principal"]

P = ParamSpec("P")
R = TypeVar("R")


def _nonempty(value: object) -> bool:
    """Return True for a non-empty ``str`` (a runtime check of untyped input)."""
    return isinstance(value, str) and bool(value)


@dataclasses.dataclass(frozen=True, slots=True)
class Attestation:
    """A staff obligation the principal has met, with its date.

    ``kind`` names the obligation (``"confidentiality_agreement"``,
    ``"privacy_training"``); ``at`` is when it was signed or completed (aware);
    ``expires`` optionally ends it regardless of the policy's maximum age.
    """

    kind: str
    """The obligation, e.g. ``"privacy_training"``."""
    at: _dt.datetime
    """When it was met (aware; stored in UTC)."""
    expires: _dt.datetime | None = None
    """When it lapses by itself, if it does."""

    def __post_init__(self) -> None:
        if not _nonempty(self.kind):
            raise ConfigurationError("an attestation needs a kind")
        object.__setattr__(self, "at", utc(self.at, "Attestation.at"))
        if self.expires is not None:
            object.__setattr__(self, "expires", utc(self.expires, "Attestation.expires"))


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class Principal:
    """Who is acting: a staff member, a service, a client or a client's delegate.

    ``roles`` select policy permissions; ``tenant`` selects the firm in a
    multi-tenant system (permissions may be limited to one tenant, like Casbin's
    domains); ``attributes`` carry free string attributes (department, desk);
    ``attestations`` carry dated staff obligations that a policy can require.

    >>> Principal("alice", roles={"accountant"}, tenant="lotus").roles
    frozenset({'accountant'})
    """

    id: str
    """The principal's stable id (a staff number, a client id)."""
    roles: frozenset[str]
    """Role names."""
    tenant: str
    """The firm or tenant the principal works for."""
    attributes: Mapping[str, str] = dataclasses.field(hash=False)
    """Free attributes (read-only)."""
    attestations: tuple[Attestation, ...]
    """Dated obligations met (training, confidentiality agreement)."""

    def __init__(self, id: str, roles: Iterable[str] = (), tenant: str = "",
                 attributes: Mapping[str, str] | None = None,
                 attestations: Iterable[Attestation] = ()) -> None:
        if not _nonempty(id):
            raise ConfigurationError("a principal needs a non-empty id")
        if isinstance(roles, str):
            raise ConfigurationError(f"principal {id!r}: roles must be a collection")
        atts = tuple(attestations)
        if not all(isinstance(a, Attestation) for a in atts):
            raise ConfigurationError(f"principal {id!r}: attestations must be Attestation")
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "roles", frozenset(roles))
        object.__setattr__(self, "tenant", tenant)
        object.__setattr__(self, "attributes", types.MappingProxyType(dict(attributes or {})))
        object.__setattr__(self, "attestations", atts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Principal, (self.id, self.roles, self.tenant, dict(self.attributes),
                            self.attestations))

    def attested(self, kind: str) -> Attestation | None:
        """Return the most recent attestation of ``kind``, or ``None``."""
        best: Attestation | None = None
        for a in self.attestations:
            if a.kind == kind and (best is None or a.at > best.at):
                best = a
        return best


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "finprivacy_principal", default=None
)
# The reset tokens of the ``with acting_as(...)`` blocks open in this context, innermost
# last. Kept per context (not per acting_as object) so one object can be shared by
# threads and tasks: each context unwinds only its own blocks.
_open_blocks: contextvars.ContextVar[tuple[contextvars.Token[Principal | None], ...]] = (
    contextvars.ContextVar("finprivacy_acting_as_blocks", default=()))


def current_principal() -> Principal | None:
    """Return the principal bound in the current context, or ``None``."""
    return _current.get()


def require_principal() -> Principal:
    """Return the bound principal; raise :class:`AccessDeniedError` if there is none.

    Access fails closed: code that runs outside ``acting_as`` is refused.
    """
    p = _current.get()
    if p is None:
        raise AccessDeniedError("no principal is bound (use finprivacy.acting_as)",
                                reason="no_principal")
    return p


class acting_as:
    """Bind ``principal`` for a block or a function; the previous one returns on exit.

    Use it as a context manager::

        with fp.acting_as(alice):
            verify_account("client-42")

    or as a decorator of a ``def`` or ``async def``, which binds the principal for
    each call. The binding lives in a :class:`contextvars.ContextVar`, so it is
    isolated between threads and between asyncio tasks (a task inherits the binding
    of the code that created it, never another task's).
    """

    __slots__ = ("_principal",)

    def __init__(self, principal: Principal) -> None:
        if not isinstance(principal, Principal):
            raise ConfigurationError("acting_as needs a Principal")
        self._principal = principal

    @property
    def principal(self) -> Principal:
        """The principal this binding installs."""
        return self._principal

    def __enter__(self) -> Principal:
        token = _current.set(self._principal)
        _open_blocks.set((*_open_blocks.get(), token))
        return self._principal

    def __exit__(self, *exc: object) -> None:
        blocks = _open_blocks.get()
        if not blocks:
            raise ConfigurationError(
                "acting_as was left in another context than the one it was entered in (or "
                "never entered): enter and leave it in the same function or coroutine. "
                "A FastAPI dependency with yield runs its two halves in different worker "
                "threads; use finprivacy.fastapi.install(app, principal=...) instead")
        _open_blocks.set(blocks[:-1])
        _current.reset(blocks[-1])

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        principal = self._principal
        if inspect.iscoroutinefunction(fn):
            async def async_bound(*args: Any, **kwargs: Any) -> Any:
                token = _current.set(principal)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return cast(Callable[P, R], functools.wraps(fn)(async_bound))

        @functools.wraps(fn)
        def bound(*args: P.args, **kwargs: P.kwargs) -> R:
            token = _current.set(principal)
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return bound

    def __repr__(self) -> str:
        return f"acting_as({self._principal.id!r})"


_request: contextvars.ContextVar[str] = contextvars.ContextVar("finprivacy_request_id", default="")
_REQUEST_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def current_request_id() -> str:
    """Return the request id bound by :class:`in_request` (empty outside a request)."""
    return _request.get()


class in_request:
    """Tag every audit entry made inside the block with a request id.

    Web integrations (:func:`finprivacy.fastapi.install`, the Django middleware) bind
    it for each request, so an access decision in the audit log can be matched with
    the web server's own logs (``AuditEvent.request_id``). The id is 1 to 64
    letters, digits, ``.``, ``_`` or ``-`` (it goes into logs and headers as is).
    Enter and leave it in the same context, as :class:`acting_as`.
    """

    __slots__ = ("_id", "_token")

    def __init__(self, request_id: str) -> None:
        given: object = request_id
        if not isinstance(given, str) or not 0 < len(given) <= 64 or not (
                _REQUEST_ID_CHARS.issuperset(given)):
            raise InvalidInputError(
                "a request id is 1 to 64 letters, digits, '.', '_' or '-'")
        self._id = request_id
        self._token: contextvars.Token[str] | None = None

    def __enter__(self) -> str:
        if self._token is not None:
            raise ConfigurationError("in_request is not re-entrant; make one per request")
        self._token = _request.set(self._id)
        return self._id

    def __exit__(self, *exc: object) -> None:
        token, self._token = self._token, None
        if token is None:
            raise ConfigurationError("in_request exited without being entered")
        try:
            _request.reset(token)
        except ValueError:
            raise ConfigurationError(
                "in_request was left in another context than the one it was entered in"
            ) from None

    def __repr__(self) -> str:
        return f"in_request({self._id!r})"
