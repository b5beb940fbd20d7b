"""Walk a result (models, dataclasses, dicts, lists, nested) and mask or drop fields.

Pydantic models are handled by duck typing (``model_fields`` on the class and
``model_copy``), so importing finprivacy does not import pydantic; dataclasses are
rebuilt with :func:`dataclasses.replace`; mappings become plain dicts; lists and
tuples keep their type.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..errors import FinPrivacyError
from ..masking import slice_spec
from ..secret import Secret

RAW: Final = 0
MASK: Final = 1
HIDE: Final = 2

Rule = tuple[int, str | None, bool]
"""(action, masking kind, declared in the inventory) for one field path."""

_SCALARS: Final[frozenset[type]] = frozenset({
    str, int, float, bool, bytes, type(None), decimal.Decimal, _dt.date, _dt.datetime,
    uuid.UUID,
})

_K_SCALAR, _K_MAPPING, _K_SEQ, _K_MODEL, _K_DATACLASS, _K_NAMEDTUPLE = range(6)
_kinds: dict[type, int] = dict.fromkeys(_SCALARS, _K_SCALAR)
_model_fields: dict[type, tuple[str, ...]] = {}


def _kind(tp: type) -> int:
    k = _kinds.get(tp)
    if k is not None:
        return k
    if isinstance(getattr(tp, "model_fields", None), Mapping) and hasattr(tp, "model_copy"):
        k = _K_MODEL
        _model_fields[tp] = tuple(tp.model_fields)  # type: ignore[attr-defined]
    elif dataclasses.is_dataclass(tp):
        k = _K_DATACLASS
        _model_fields[tp] = tuple(f.name for f in dataclasses.fields(tp) if f.init)
    elif issubclass(tp, tuple) and isinstance(getattr(tp, "_fields", None), tuple):
        k = _K_NAMEDTUPLE
        _model_fields[tp] = tuple(tp._fields)  # type: ignore[attr-defined]
    elif issubclass(tp, Mapping):
        k = _K_MAPPING
    elif issubclass(tp, list | tuple | set | frozenset):
        k = _K_SEQ
    else:
        k = _K_SCALAR
    if len(_kinds) < 4096:
        _kinds[tp] = k
    return k


def _text(value: object) -> str:
    if isinstance(value, Secret):
        value = value.reveal()
    if isinstance(value, bytes):
        return ""
    return value if isinstance(value, str) else str(value)


FULL_MASK: Final = "****"
"""What a masked value becomes when its kind has no preset or its masking fails."""

_MASK_ERRORS: Final = (FinPrivacyError, ValueError, TypeError, LookupError)


class NotFlat(Exception):
    """A value of a row is a container: the row needs the general walk."""


def _mask_other(value: Any, fn: Callable[[str], str]) -> str:
    """Mask a non-``str`` scalar as text; NotFlat for a container."""
    tv = type(value)
    if tv not in _SCALARS:
        raise NotFlat
    try:
        return fn("" if tv is bytes else str(value))
    except _MASK_ERRORS:
        return FULL_MASK


def _compile(raw_keys: tuple[Any, ...], fns: tuple[tuple[Any, Callable[[str], str]], ...],
             consts: tuple[tuple[Any, str], ...], hidden_keys: tuple[Any, ...]
             ) -> Callable[[dict[Any, Any]], dict[Any, Any]]:
    """Generate the straight-line shaping function of one flat plan.

    The row's keys, masking functions and constants are bound as closure variables
    (``k0``, ``f0``, ``c0`` …), never written into the source, so the generated text
    holds only identifiers and integers made here: the same technique attrs and dataclasses use
    to build ``__init__``. The function reads every key of the plan (a missing one
    raises KeyError), checks each value is a scalar (NotFlat otherwise), copies the
    row, masks, replaces constants and drops hidden keys.
    """
    bound: dict[str, Any] = {"_S": _SCALARS, "_NotFlat": NotFlat, "_full": FULL_MASK,
                             "_errors": _MASK_ERRORS, "_other": _mask_other}
    lines: list[str] = []
    names: list[str] = []

    def const(prefix: str, value: Any) -> str:
        name = f"{prefix}{len(names)}"
        names.append(name)
        bound[name] = value
        return name

    checks = [f"type(row[{const('k', key)}]) not in _S" for key in raw_keys]
    if checks:
        lines.append(f"    if {' or '.join(checks)}:")
        lines.append("        raise _NotFlat")
    lines.append("    out = row.copy()")
    for key, fn in fns:
        k, f = const("k", key), const("f", fn)
        # Call the masker on a str (the full mask if it fails), _other on another scalar.
        call = ["try:", f"    out[{k}] = {f}(v)", "except _errors:", f"    out[{k}] = _full"]
        other = ["    elif v is not None:", f"        out[{k}] = _other(v, {f})"]
        spec = slice_spec(fn)
        if spec is None:
            lines += [f"    v = out[{k}]",
                      "    if type(v) is str:",
                      *(f"        {line}" for line in call),
                      *other]
            continue
        # A keep preset's common case inlined (masking.SliceSpec); the rest calls it.
        stars = const("s", spec.stars)
        head = const("h", slice(None, int(spec.first)))
        tail = const("t", slice(-int(spec.last), None))
        prefix = " and (v[0] != '0' or not v.startswith('0086'))" if spec.no_0086 else ""
        lines += [f"    v = out[{k}]",
                  "    if type(v) is str:",
                  "        try:",
                  f"            r = {stars}[len(v)]",
                  "        except IndexError:",
                  "            r = None",
                  f"        if r is not None and v.isascii() and v.encode().isalnum(){prefix}:",
                  f"            out[{k}] = f'{{v[{head}]}}{{r}}{{v[{tail}]}}'",
                  "        else:",
                  *(f"            {line}" for line in call),
                  *other]
    for key, text in consts:
        k, c = const("k", key), const("c", text)
        lines += [f"    v = out[{k}]",
                  "    if v is not None:",
                  "        if type(v) not in _S:",
                  "            raise _NotFlat",
                  f"        out[{k}] = {c}"]
    for key in hidden_keys:
        lines += [f"    if type(out.pop({const('k', key)})) not in _S:",
                  "        raise _NotFlat"]
    lines.append("    return out")
    body = "".join(f"    {line}\n" for line in lines)
    source = f"def make({', '.join(bound)}):\n    def shape(row):\n{body}    return shape\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<finprivacy flat plan>", "exec"), namespace)  # noqa: S102 - see docstring
    shape: Callable[[dict[Any, Any]], dict[Any, Any]] = namespace["make"](**bound)
    return shape


class FlatPlan:
    """The precomputed shaping of a flat mapping with a given key order.

    A result that is a ``dict`` of scalars (a database row) is the common case; for
    each key signature the plan compiles :attr:`shape` and keeps the field lists the
    audit record names, so shaping one row is one call.
    """

    __slots__ = ("fields", "hidden", "masked", "returned", "shape", "size")

    def __init__(self, keys: tuple[Any, ...], rule: Callable[[str], Rule],
                 mask_fn: Callable[[str | None], Callable[[str], str] | str]) -> None:
        # ``mask_fn`` gives a kind's masking function, or the constant text that
        # replaces any value of that kind.
        self.size = len(keys)
        raw_keys: list[Any] = []
        hidden_keys: list[Any] = []
        fns: list[tuple[Any, Callable[[str], str]]] = []
        consts: list[tuple[Any, str]] = []
        returned: list[str] = []
        masked: list[str] = []
        hidden: list[str] = []
        for key in keys:
            path = key if type(key) is str else str(key)
            action, kind, _ = rule(path)
            if action == RAW:
                returned.append(path)
                raw_keys.append(key)
            elif action == MASK:
                masked.append(path)
                fn = mask_fn(kind)
                if isinstance(fn, str):
                    consts.append((key, fn))
                else:
                    fns.append((key, fn))
            else:
                hidden.append(path)
                hidden_keys.append(key)
        self.returned = tuple(returned)
        self.masked = tuple(masked)
        self.hidden = tuple(hidden)
        #: (returned, masked, hidden): the audit record's field lists, made once.
        self.fields = (self.returned, self.masked, self.hidden)
        #: ``row -> shaped copy`` for rows with exactly these keys (see :func:`_compile`);
        #: raises KeyError when a key is missing and NotFlat when a value is nested.
        self.shape: Callable[[dict[Any, Any]], dict[Any, Any]] = _compile(
            tuple(raw_keys), tuple(fns), tuple(consts), tuple(hidden_keys))


class Shaper:
    """One walk over one result: applies a rule function and collects field paths.

    ``rule`` computes the rule of a path; ``cache`` (the plan's own memo of those
    rules, possibly empty) is consulted first, which keeps the common case to one
    dict lookup per field.
    """

    __slots__ = ("cache", "drop_empty", "hidden", "masked", "masker", "returned", "rule")

    def __init__(self, rule: Callable[[str], Rule], masker: Callable[[str, str | None], str],
                 cache: Mapping[str, Rule] | None = None, *, drop_empty: bool = False) -> None:
        self.rule = rule
        self.cache: Mapping[str, Rule] = cache if cache is not None else {}
        self.masker = masker
        self.drop_empty = drop_empty
        self.returned: dict[str, None] = {}
        self.masked: dict[str, None] = {}
        self.hidden: dict[str, None] = {}

    def _mask(self, value: Any, kind: str | None, typed: bool) -> Any:
        """Mask one scalar (see :meth:`scalar` for the typed rules)."""
        if value is None:
            return None
        if type(value) is str:
            return self.masker(value, kind)
        if isinstance(value, Secret):
            return Secret(self.masker(_text(value), kind))
        if typed:
            return None
        return self.masker(_text(value), kind)

    def scalar(self, value: Any, path: str, typed: bool = False) -> tuple[bool, Any]:
        """Apply the rule for ``path`` to a scalar; (keep, new value).

        ``typed`` is set for model and dataclass attributes: a masked value that is
        not text becomes ``None`` there (a masked string would not fit an ``int``
        field), and a masked :class:`~finprivacy.secret.Secret` stays a Secret.
        """
        r = self.cache.get(path) or self.rule(path)
        action = r[0]
        if action == RAW:
            self.returned[path] = None
            return True, value
        if action == MASK:
            self.masked[path] = None
            return True, self._mask(value, r[1], typed)
        self.hidden[path] = None
        return False, None

    def walk(self, value: Any, path: str, typed: bool = False) -> tuple[bool, Any]:
        """Shape ``value`` found at ``path``; (keep, new value)."""
        tp = type(value)
        if tp in _SCALARS:
            return self.scalar(value, path, typed)
        k = _kind(tp)
        if k == _K_SCALAR:
            # A bare scalar result with no field name ("") gets the default classification.
            return self.scalar(value, path, typed)
        if path and k != _K_SEQ and (r := self.cache.get(path) or self.rule(path))[2] and (
                r[0] == HIDE):
            # A container the inventory declares, and the plan hides, is withheld whole.
            self.hidden[path] = None
            return False, None
        prefix = path + "." if path else ""
        if k == _K_MAPPING:
            out = {}
            cache, rule = self.cache, self.rule
            returned, masked, hidden = self.returned, self.masked, self.hidden
            for key, v in value.items():
                p = prefix + (key if type(key) is str else str(key))
                if type(v) in _SCALARS:
                    r = cache.get(p) or rule(p)
                    action = r[0]
                    if action == RAW:
                        returned[p] = None
                        out[key] = v
                    elif action == MASK:
                        masked[p] = None
                        out[key] = self._mask(v, r[1], False)
                    else:
                        hidden[p] = None
                    continue
                keep, nv = self.walk(v, p)
                if keep:
                    out[key] = nv
            if self.drop_empty and not out and value:
                return False, None
            return True, out
        if k == _K_SEQ:
            items = [nv for keep, nv in (self.walk(v, path, typed) for v in value) if keep]
            if isinstance(value, list):
                return True, items
            try:
                return True, type(value)(items)
            except TypeError:
                return True, tuple(items)
        changes: dict[str, Any] = {}
        for name in _model_fields[tp]:
            v = getattr(value, name)
            keep, nv = self.walk(v, prefix + name, True)
            if not keep:
                changes[name] = None
            elif nv is not v:
                changes[name] = nv
        if k == _K_MODEL:
            # Extra attributes of a model with extra="allow" are data too.
            extra = getattr(value, "__pydantic_extra__", None)
            if extra:
                for name, v in extra.items():
                    keep, nv = self.walk(v, prefix + str(name))
                    if not keep:
                        changes[name] = None
                    elif nv is not v:
                        changes[name] = nv
        if not changes:
            return True, value
        if k == _K_MODEL:
            return True, value.model_copy(update=changes)
        if k == _K_NAMEDTUPLE:
            return True, value._replace(**changes)
        return True, dataclasses.replace(value, **changes)
