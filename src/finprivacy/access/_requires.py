"""The ``@requires`` decorator: purpose-bound, audited, need-to-know access."""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, ParamSpec, TypeVar, cast

from ..errors import ConfigurationError
from . import _control as _control_module
from ._breakglass import _glass
from ._control import (
    AccessControl,
    SubjectSpec,
    get_access_control,
    install_guard,
    require_purpose,
)
from ._policy import _SCOPES, Scope
from ._principal import _current, _nonempty, _request, current_principal
from ._shape import NotFlat

__all__ = ["SubjectSpec", "requires"]

P = ParamSpec("P")
R = TypeVar("R")


_MISSING: Final = object()
# What a guarded call decided before running: control, principal, subject, time, verdict.
_Call = tuple[AccessControl, Any, "str | None", Any, Any]
# What AccessControl._last gives for a purpose with no shortcut: matches no principal.
_NO_SHORTCUT: Final[tuple[Any, Any, Any, Any]] = (_MISSING, None, None, None)
Getter = Callable[[tuple[Any, ...], dict[str, Any]], object]


def _compile_subject(fn: Callable[..., Any], spec: SubjectSpec) -> Getter | None:
    """Build, once per function, a fast extractor of the subject from call arguments."""
    if spec is None:
        return None
    sig = inspect.signature(fn)
    name = getattr(fn, "__qualname__", "function")
    if callable(spec):
        extract = spec

        def by_callable(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            return extract(bound.arguments)

        return by_callable
    if not _nonempty(spec) or any(not p for p in str(spec).split(".")):
        raise ConfigurationError(f"{name}: subject must be a parameter name, a dotted path "
                                 "or a callable")
    head, _, rest = spec.partition(".")
    attrs = tuple(rest.split(".")) if rest else ()
    param = sig.parameters.get(head)
    if param is None:
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
            raise ConfigurationError(f"{name}: subject {head!r} is not a parameter")
        index: int | None = None
        default: object = _MISSING
    else:
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ConfigurationError(f"{name}: subject {head!r} cannot be *args or **kwargs")
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        index = (list(sig.parameters).index(head) if param.kind in positional else None)
        default = param.default if param.default is not inspect.Parameter.empty else _MISSING

    def by_name(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        if index is not None and len(args) > index:
            value = args[index]
        else:
            value = kwargs.get(head, default)
        for attr in attrs:
            if value is None or value is _MISSING:
                return None
            value = value.get(attr) if isinstance(value, Mapping) else getattr(value, attr, None)
        return value

    return by_name


def _positional_index(fn: Callable[..., Any], spec: SubjectSpec) -> int | None:
    """Return the position of ``spec`` among the arguments if it is a plain positional one."""
    if not isinstance(spec, str) or "." in spec:
        return None
    params = list(inspect.signature(fn).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    for i, p in enumerate(params):
        if p.name == spec:
            return i if p.kind in positional else None
    return None


def _subject_id(value: object) -> str | None:
    if type(value) is str:
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return None


def requires(purpose: str, *, subject: SubjectSpec = None, scope: Scope | None = None,
             action: str | None = None, returns: str = "",
             control: AccessControl | None = None
             ) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a ``def`` or ``async def`` that returns personal data.

    Each call checks, in order: a principal is bound (:func:`acting_as`); the
    purpose exists and one of the principal's roles may use it in their tenant
    (or the principal is the subject, holds a delegation grant covering ``scope``,
    or is inside :func:`break_glass`); required attestations are current before
    C2/C3 data is shown; the subject's consent for the purpose, when a consent
    checker is configured and the purpose's lawful basis is consent. If any check
    fails the function is not called and :class:`~finprivacy.errors.AccessDeniedError`
    is raised with ``.reason``. Otherwise the result comes back with every field the
    principal may not see masked or removed (pydantic models, dataclasses, dicts,
    lists, nested), C3 never shown. Every decision — allowed, masked or denied — is
    recorded as an :class:`~finprivacy.audit.events.AuditEvent` naming the fields
    returned and masked, the grant used, the break-glass flag and policy version.

    ``subject`` says how to find the data subject from the arguments (see
    :data:`SubjectSpec`); ``returns`` names the inventory field when the function
    returns a bare value (a card number string); ``action`` is the audit action
    (default ``read``, or the scope's name); ``control`` binds an
    :class:`AccessControl`, otherwise the default installed by
    :func:`configure_access` is used at call time.
    """
    if not _nonempty(purpose):
        raise ConfigurationError("requires needs a purpose name")
    if scope is not None and scope not in _SCOPES:
        raise ConfigurationError(f"requires: scope must be one of {sorted(_SCOPES)}")
    if control is not None and purpose not in control._purposes:
        raise ConfigurationError(f"requires: purpose {purpose!r} is not in the policy")
    if control is None:
        installed = require_purpose(purpose)
        if installed is not None and purpose not in installed._purposes:
            raise ConfigurationError(
                f"requires: purpose {purpose!r} is not in the configured policy")
    act = action or ("read" if scope in (None, "view") else str(scope))

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise ConfigurationError(
                f"{getattr(fn, '__qualname__', 'function')}: requires cannot guard a generator "
                "(its items would escape masking); return a list instead")
        getter = _compile_subject(fn, subject)
        # A plain positional parameter is read straight from args (the common case).
        at = _positional_index(fn, subject)
        fast_at = at if at is not None else 1 << 30
        rows = not returns  # a dict result is a row of fields, not one named value

        def resolve(raw: object, ac: AccessControl) -> str:
            subj = _subject_id(raw)
            if subj is None:
                ac._deny(current_principal(), purpose, None, "subject_unknown", act,
                         ac.clock.now())
            return subj

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
            """Decide before the call: the control, principal, subject, time and verdict."""
            ac = control or _control_module._default or get_access_control()
            if getter is None:
                subj = None
            else:
                try:
                    raw = args[fast_at]
                except IndexError:
                    raw = getter(args, kwargs)
                subj = raw if type(raw) is str and raw else resolve(raw, ac)
            principal = _current.get()
            now = ac.clock.now()
            who, start, end, verdict = ac._last.get(purpose, _NO_SHORTCUT)
            if not (who is principal and start <= now < end
                    and (not ac._glass_opened or _glass.get() is None)):
                decided = ac._authorize(principal, purpose, subj, scope, now)
                if isinstance(decided, str) or principal is None:
                    ac._deny(principal, purpose, subj,
                             decided if isinstance(decided, str) else "no_principal", act, now)
                verdict = decided
            return ac, principal, subj, now, verdict

        def failed(call: _Call, exc: BaseException) -> None:
            """Record an access whose function raised (nothing was returned)."""
            ac, principal, subj, now, verdict = call
            ac._record_access(verdict, principal, purpose, subj, act, now,
                              (), (), (), type(exc).__name__)

        def finish(call: _Call, result: Any) -> Any:
            """Shape the result by the verdict and record the access."""
            ac, principal, subj, now, verdict = call
            if type(result) is dict and rows:
                # AccessControl._finish's flat-row path, inlined (the common case).
                flat = verdict.plan._last_flat
                if flat is not None and len(result) == flat.size:
                    try:
                        shaped = flat.shape(result)
                    except (KeyError, NotFlat):
                        pass
                    else:
                        queue = ac._queue
                        if queue is None or verdict.glass is not None:
                            ac._record_access(verdict, principal, purpose, subj, act, now,
                                              flat.returned, flat.masked, flat.hidden, "")
                        else:
                            queue._items.append((ac._version, verdict.head, "", principal.id,
                                                 principal.tenant, purpose, subj, act, now,
                                                 flat.fields, "", _request.get()))
                            if queue._flush_every and len(queue._items) >= queue._flush_every:
                                queue.flush()
                        return shaped
            return ac._finish(verdict, principal, purpose, subj, act, now, result, returns)

        if inspect.iscoroutinefunction(fn):
            afn = cast(Callable[..., Awaitable[Any]], fn)

            async def async_guarded(*args: Any, **kwargs: Any) -> Any:
                call = begin(args, kwargs)
                try:
                    result = await afn(*args, **kwargs)
                except BaseException as exc:
                    failed(call, exc)
                    raise
                return finish(call, result)

            return cast(Callable[P, R], functools.wraps(fn)(async_guarded))

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            call = begin(args, kwargs)
            try:
                result: Any = fn(*args, **kwargs)
            except BaseException as exc:
                failed(call, exc)
                raise
            out: R = finish(call, result)
            return out

        return guarded

    return decorate


install_guard(requires)
