"""The audit entry byte format: canonical, compact, sorted-key JSON in UTF-8.

An entry is encoded once, when it is appended, and those exact bytes are stored,
hashed into the chain and the Merkle tree, exported and verified. Nothing re-encodes
an entry to check it. The format (version 1) is a JSON object with these keys,
sorted by code point, no whitespace, non-ASCII text as UTF-8, and fields that hold
their default (empty text, empty list, ``false``, empty object) left out:

``v`` (1), ``id`` (32 hex digits, random: makes every entry unique and its leaf
hash unguessable), ``time`` (``YYYY-MM-DDTHH:MM:SS.ffffffZ``, UTC), ``action``,
``decision``, and when not empty ``actor``, ``subject``, ``purpose``, ``reason``,
``tenant``, ``on_behalf_of``, ``grant_id``, ``fields_returned``, ``fields_masked``,
``break_glass``, ``request_id``, ``policy_version``, ``key_id``, ``details``.

The sequence number is *not* in the bytes: writers do not know it when they append
(there is no global lock); the sequencer binds each entry to its position through
the hash chain and the Merkle leaf index.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import re
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, get_args

from ..clock import utc
from ..errors import FormatError, InvalidInputError
from ._merkle import leaf_hash
from .events import AuditEvent, Decision

__all__ = ["FORMAT_VERSION", "AuditEntry", "decode_entry", "encode_event", "encode_parts"]

FORMAT_VERSION = 1
"""The entry format version written into every entry's ``v`` key."""

_DECISIONS = frozenset(get_args(Decision))
_TEXT_FIELDS = ("action", "actor", "subject", "purpose", "reason", "tenant", "on_behalf_of",
                "grant_id", "request_id", "policy_version", "key_id")
_LIST_FIELDS = ("fields_returned", "fields_masked")
_KNOWN_KEYS = frozenset((*_TEXT_FIELDS, *_LIST_FIELDS, "v", "id", "time", "decision",
                         "break_glass", "details"))
_MAX_TEXT = 1024
_MAX_LIST = 256
_MAX_DETAILS = 64
_DETAIL_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
_ID = re.compile(r"[0-9a-f]{32}\Z")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False, check_circular=False)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _no_default(value: object) -> object:
    raise TypeError("not JSON serialisable")


# The C encoder, built once (JSONEncoder.encode rebuilds it on every call): same output.
_C_MAKE = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = None if _C_MAKE is None else _C_MAKE(
    None, _no_default, json.encoder.encode_basestring, None, ":", ",", True, False, False)


_ESCAPE: Callable[[object], str] = json.encoder.encode_basestring  # type: ignore[assignment]
"""The json module's string escaper (C when available), as used with ensure_ascii=False."""


def _dumps(obj: dict[str, Any]) -> str:
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(obj, 0))
    return _ENCODER.encode(obj)  # pragma: no cover - interpreters without the C encoder
_TAIL = f'","v":{FORMAT_VERSION}}}'
_DECISION_OF: dict[str, Decision] = {d: d for d in get_args(Decision)}


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None


def _small_mapping(value: object) -> bool:
    return isinstance(value, Mapping) and len(value) <= _MAX_DETAILS


def format_time(when: _dt.datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if when.tzinfo is not _dt.UTC:
        when = when.astimezone(_dt.UTC)
    return when.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


_second_cache: tuple[int, str] = (-1, "")


def format_time_us(us: int) -> str:
    """Format microseconds since the epoch like :func:`format_time` (cached per second)."""
    global _second_cache
    sec, frac = divmod(us, 1_000_000)
    cached = _second_cache  # one tuple: read and replaced atomically
    if cached[0] == sec:
        prefix = cached[1]
    else:
        prefix = (_EPOCH + _dt.timedelta(seconds=sec)).isoformat()[:-6]
        _second_cache = (sec, prefix)
    return f"{prefix}.{frac:06d}Z"


def time_us(when: _dt.datetime) -> int:
    """Microseconds since the Unix epoch, for indexed time columns."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"audit field {name!r} must be text")
    if len(value) > _MAX_TEXT:
        raise InvalidInputError(f"audit field {name!r} is longer than {_MAX_TEXT} characters")
    return value


def _names(value: object, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError(f"audit field {name!r} must be a sequence of field names")
    out = list(value)
    if len(out) > _MAX_LIST:
        raise InvalidInputError(f"audit field {name!r} has more than {_MAX_LIST} names")
    for v in out:
        if not isinstance(v, str) or len(v) > _MAX_TEXT:
            raise _bad_text(v, name)
    return out


def encode_event(event: AuditEvent, when: _dt.datetime, *, entry_id: str | None = None) -> bytes:
    """Encode ``event`` at time ``when`` as canonical entry bytes (format version 1).

    ``entry_id`` is a seam for vector tests; by default 16 random bytes from the
    operating system's CSPRNG. Raises :class:`InvalidInputError` naming the bad field.
    """
    if not isinstance(event, AuditEvent):
        raise InvalidInputError("expected an AuditEvent")
    if entry_id is not None and not _matches(_ID, entry_id):
        raise InvalidInputError("entry_id must be 32 lowercase hex digits")
    return encode_parts(
        event.action, event.actor, event.subject, event.purpose, event.decision, event.reason,
        event.tenant, event.on_behalf_of, event.grant_id, event.fields_returned,
        event.fields_masked, event.break_glass, event.request_id, event.policy_version,
        event.key_id, event.details, format_time(utc(when, "time")),
        os.urandom(16).hex() if entry_id is None else entry_id)


def _checked(value: object, name: str) -> object:
    if value.__class__ is str and len(value) <= _MAX_TEXT:
        return value
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise _bad_text(value, name)
    return value


def _bad_text(value: object, name: str) -> InvalidInputError:
    if not isinstance(value, str):
        return InvalidInputError(f"audit field {name!r} must be text")
    return InvalidInputError(f"audit field {name!r} is longer than {_MAX_TEXT} characters")


def encode_parts(action: object, actor: object, subject: object, purpose: object,
                 decision: object, reason: object, tenant: object, on_behalf_of: object,
                 grant_id: object, fields_returned: object, fields_masked: object,
                 break_glass: object, request_id: object, policy_version: object,
                 key_id: object, details: object, time_text: str, entry_id: str) -> bytes:
    """Encode the fields of one entry (the fast path behind :func:`encode_event`).

    Every field is checked here (so the parameters accept any object). ``time_text``
    must come from :func:`format_time` and ``entry_id`` be 32 hex digits.
    """
    if not isinstance(action, str) or not action or len(action) > _MAX_TEXT:
        raise InvalidInputError("audit field 'action' must be non-empty text "
                                f"of at most {_MAX_TEXT} characters")
    if decision not in _DECISIONS:
        raise InvalidInputError(f"audit field 'decision' must be one of {sorted(_DECISIONS)}")
    if break_glass is not True and break_glass is not False:
        raise InvalidInputError("audit field 'break_glass' must be a bool")
    # The canonical JSON is written out key by key, in sorted order (action, actor,
    # break_glass, decision, details, fields_masked, fields_returned, grant_id, id, key_id,
    # on_behalf_of, policy_version, purpose, reason, request_id, subject, tenant, time, v)
    # with the json module's own string escaper: byte for byte what
    # ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    # writes (decode_entry checks exactly that), at a fraction of the cost.
    #
    # Text fields are escaped unchecked: the escaper raises TypeError for anything but
    # text (str subclasses included, as the checked encoder accepts them). Lengths are
    # checked once, on the whole text: each escaped field is a part of it and never
    # shorter than the field, so a text within the limit proves every field is. Any
    # refusal is left to _encode_parts_checked, for the same error in the same order.
    esc = _ESCAPE
    names = _NAMES_SEEN.get
    try:
        parts = ['{"action":', esc(action)]
        if actor:
            parts.append(',"actor":')
            parts.append(esc(actor))
        if break_glass:
            parts.append(',"break_glass":true')
        parts += [',"decision":"', decision, '"']  # type: ignore[list-item]
        if details:
            if details.__class__ is not dict:
                raise TypeError  # other mappings: the checked encoder reads them once
            parts.append(',"details":')
            parts.append(_details_json(details))
        if fields_masked:
            seen = names(id(fields_masked))
            parts.append(',"fields_masked":')
            parts.append(seen[1] if seen is not None and seen[0] is fields_masked
                         else _names_list_json(fields_masked, "fields_masked"))
        if fields_returned:
            seen = names(id(fields_returned))
            parts.append(',"fields_returned":')
            parts.append(seen[1] if seen is not None and seen[0] is fields_returned
                         else _names_list_json(fields_returned, "fields_returned"))
        if grant_id:
            parts.append(',"grant_id":')
            parts.append(esc(grant_id))
        parts += [',"id":"', entry_id, '"']
        if key_id:
            parts.append(',"key_id":')
            parts.append(esc(key_id))
        if on_behalf_of:
            parts.append(',"on_behalf_of":')
            parts.append(esc(on_behalf_of))
        if policy_version:
            parts.append(',"policy_version":')
            parts.append(esc(policy_version))
        if purpose:
            parts.append(',"purpose":')
            parts.append(esc(purpose))
        if reason:
            parts.append(',"reason":')
            parts.append(esc(reason))
        if request_id:
            parts.append(',"request_id":')
            parts.append(esc(request_id))
        if subject:
            parts.append(',"subject":')
            parts.append(esc(subject))
        if tenant:
            parts.append(',"tenant":')
            parts.append(esc(tenant))
        parts += [',"time":"', time_text, _TAIL]
        text = "".join(parts)
        if len(text) > _MAX_TEXT:
            # Only long entries get here: check the text fields one by one (every
            # field given is text by now; lists and details checked themselves).
            for value in (actor, grant_id, key_id, on_behalf_of, policy_version, purpose,
                          reason, request_id, subject, tenant):
                if value and len(value) > _MAX_TEXT:  # type: ignore[arg-type]
                    raise TypeError
        return text.encode("utf-8")
    except (TypeError, InvalidInputError, UnicodeEncodeError):
        pass
    return _encode_parts_checked(
        action, actor, subject, purpose, decision, reason, tenant, on_behalf_of, grant_id,
        fields_returned, fields_masked, break_glass, request_id, policy_version, key_id,
        details, time_text, entry_id)


def _encode_parts_checked(action: object, actor: object, subject: object, purpose: object,
                 decision: object, reason: object, tenant: object, on_behalf_of: object,
                 grant_id: object, fields_returned: object, fields_masked: object,
                 break_glass: object, request_id: object, policy_version: object,
                 key_id: object, details: object, time_text: str, entry_id: str) -> bytes:
    """Encode like :func:`encode_parts`, checking each field as it goes (the reference).

    :func:`encode_parts` falls back to it for anything unusual, so both return the
    same bytes and raise the same errors (a test compares them).
    """
    if not isinstance(action, str) or not action or len(action) > _MAX_TEXT:
        raise InvalidInputError("audit field 'action' must be non-empty text "
                                f"of at most {_MAX_TEXT} characters")
    if decision not in _DECISIONS:
        raise InvalidInputError(f"audit field 'decision' must be one of {sorted(_DECISIONS)}")
    if break_glass is not True and break_glass is not False:
        raise InvalidInputError("audit field 'break_glass' must be a bool")
    # The canonical JSON is written out key by key, in sorted order (action, actor,
    # break_glass, decision, details, fields_masked, fields_returned, grant_id, id, key_id,
    # on_behalf_of, policy_version, purpose, reason, request_id, subject, tenant, time, v)
    # with the json module's own string escaper: byte for byte what
    # ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    # writes (decode_entry checks exactly that), at a fraction of the cost.
    esc = _ESCAPE
    m = _MAX_TEXT
    # Text fields: exact ``str`` within the size limit is the fast path; anything else
    # goes through _checked, which accepts str subclasses and raises for the rest.
    parts = ['{"action":', esc(action)]
    if actor:
        parts += [',"actor":', esc(actor if actor.__class__ is str and len(actor) <= m
                                   else _checked(actor, "actor"))]
    if break_glass:
        parts.append(',"break_glass":true')
    parts += [',"decision":"', decision, '"']  # type: ignore[list-item]
    if details:
        parts += [',"details":', _details_json(details)]
    if fields_masked:
        parts += [',"fields_masked":', _names_json(fields_masked, "fields_masked")]
    if fields_returned:
        parts += [',"fields_returned":', _names_json(fields_returned, "fields_returned")]
    if grant_id:
        parts += [',"grant_id":', esc(_checked(grant_id, "grant_id"))]
    parts += [',"id":"', entry_id, '"']
    if key_id:
        parts += [',"key_id":', esc(_checked(key_id, "key_id"))]
    if on_behalf_of:
        parts += [',"on_behalf_of":', esc(_checked(on_behalf_of, "on_behalf_of"))]
    if policy_version:
        parts += [',"policy_version":',
                  esc(policy_version if policy_version.__class__ is str
                      and len(policy_version) <= m
                      else _checked(policy_version, "policy_version"))]
    if purpose:
        parts += [',"purpose":', esc(purpose if purpose.__class__ is str
                                     and len(purpose) <= m
                                     else _checked(purpose, "purpose"))]
    if reason:
        parts += [',"reason":', esc(_checked(reason, "reason"))]
    if request_id:
        parts += [',"request_id":', esc(request_id if request_id.__class__ is str
                                        and len(request_id) <= m
                                        else _checked(request_id, "request_id"))]
    if subject:
        parts += [',"subject":', esc(subject if subject.__class__ is str
                                     and len(subject) <= m
                                     else _checked(subject, "subject"))]
    if tenant:
        parts += [',"tenant":', esc(_checked(tenant, "tenant"))]
    parts += [',"time":"', time_text, _TAIL]
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("audit fields must be valid Unicode text "
                                "(no lone surrogates)") from None


_NAMES_SEEN: dict[int, tuple[tuple[str, ...], str]] = {}
"""JSON of recently encoded name tuples by identity (their id, a reference keeping
that id taken, and the text). Field lists are usually constants in the calling code,
so the same tuple object comes back on every call; an exact tuple of exact strings
cannot change, so its identity fixes its JSON."""
_NAMES_SEEN_MAX = 512


def _names_json(value: object, name: str) -> str:
    seen = _NAMES_SEEN.get(id(value))
    if seen is not None and seen[0] is value:
        return seen[1]
    if (isinstance(value, tuple) and value.__class__ is tuple and len(value) <= _MAX_LIST
            and all(v.__class__ is str and len(v) <= _MAX_TEXT for v in value)):
        text = "[" + ",".join(map(_ESCAPE, value)) + "]"
        if len(_NAMES_SEEN) >= _NAMES_SEEN_MAX:
            _NAMES_SEEN.clear()
        _NAMES_SEEN[id(value)] = (value, text)
        return text
    if (value.__class__ is tuple or value.__class__ is list) and len(value) <= _MAX_LIST:
        # Fast path: the escaper raises TypeError for anything but text, and an escaped
        # name is never shorter than the name (plus its quotes), so a short enough
        # result proves every name is within the limit. Otherwise check one by one.
        try:
            joined = ",".join(map(_ESCAPE, value))
        except TypeError:
            pass
        else:
            if len(joined) <= _MAX_TEXT + 2:
                return f"[{joined}]"
    return "[" + ",".join(_ESCAPE(v) for v in _names(value, name)) + "]"


def _names_list_json(value: object, name: str) -> str:
    """:func:`_names_json` of a tuple or list; TypeError for other iterables.

    Other iterables (generators …) can be read only once: they are left to the
    checked encoder.
    """
    if value.__class__ is not tuple and value.__class__ is not list:
        raise TypeError
    return _names_json(value, name)


def _details_json(details: object) -> str:
    if not _small_mapping(details):
        raise InvalidInputError(
            f"audit field 'details' must be a mapping of at most {_MAX_DETAILS} items")
    clean: dict[str, str] = {}
    for key, value in details.items():  # type: ignore[attr-defined]
        if not _matches(_DETAIL_KEY, key):
            raise InvalidInputError(
                "audit 'details' keys are 1-64 characters of A-Z a-z 0-9 _ . -")
        clean[key] = _text(value, f"details.{key}")
    return _dumps(clean)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One entry of the log as stored: its position, its decoded fields and its exact bytes.

    Records field *names*, never data values. ``raw`` is what was hashed; ``leaf_hash``
    is its RFC 6962 leaf hash.
    """

    seq: int | None
    """Position in the log (0-based); ``None`` before the sequencer has placed it."""
    entry_id: str
    """The entry's random unique id (32 hex digits)."""
    time: _dt.datetime
    """When it was appended (aware UTC)."""
    action: str
    """What was done (``read``, ``update``, ``export`` …)."""
    decision: Decision
    """The access decision."""
    actor: str = ""
    """Who did it."""
    subject: str = ""
    """The data subject whose data was touched."""
    purpose: str = ""
    """The declared purpose."""
    reason: str = ""
    """Why the decision was taken."""
    tenant: str = ""
    """The firm or tenant."""
    on_behalf_of: str = ""
    """Whom the actor acted for."""
    grant_id: str = ""
    """The delegation grant used."""
    fields_returned: tuple[str, ...] = ()
    """Field names returned in the clear."""
    fields_masked: tuple[str, ...] = ()
    """Field names returned masked or withheld."""
    break_glass: bool = False
    """True for emergency access."""
    request_id: str = ""
    """The application's request id."""
    policy_version: str = ""
    """The policy version that decided."""
    key_id: str = ""
    """A key id involved."""
    details: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    """Extra string attributes."""
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)
    """The exact canonical bytes that were hashed."""

    @property
    def leaf_hash(self) -> bytes:
        """The RFC 6962 leaf hash of :attr:`raw`."""
        return leaf_hash(self.raw)

    def to_event(self) -> AuditEvent:
        """Return the :class:`AuditEvent` this entry records (with its time)."""
        return AuditEvent(
            action=self.action, actor=self.actor, subject=self.subject, purpose=self.purpose,
            decision=self.decision, reason=self.reason, time=self.time, tenant=self.tenant,
            on_behalf_of=self.on_behalf_of, grant_id=self.grant_id,
            fields_returned=self.fields_returned, fields_masked=self.fields_masked,
            break_glass=self.break_glass, request_id=self.request_id,
            policy_version=self.policy_version, key_id=self.key_id, details=dict(self.details),
        )


def _bad(why: str) -> FormatError:
    return FormatError(f"not a canonical audit entry: {why}")


def decode_entry(raw: bytes, seq: int | None = None) -> AuditEntry:
    """Decode canonical entry bytes into an :class:`AuditEntry`.

    Raises :class:`~finprivacy.errors.FormatError` for anything that is not exactly
    the canonical encoding of a version-1 entry (wrong type, unknown or missing key,
    non-sorted keys, whitespace, a default value spelled out …). The message never
    contains the bytes.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise FormatError("an audit entry is bytes")
    raw = bytes(raw)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad("not UTF-8 JSON") from None
    if not isinstance(obj, dict):
        raise _bad("not a JSON object")
    keys = set(obj)
    if not keys <= _KNOWN_KEYS:
        raise _bad("unknown key")
    if obj.get("v") != FORMAT_VERSION or type(obj.get("v")) is not int:
        raise _bad("unsupported version")
    entry_id, when, decision = obj.get("id"), obj.get("time"), obj.get("decision")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise _bad("bad id")
    if not isinstance(when, str) or not _TIME.match(when):
        raise _bad("bad time")
    try:
        time = _dt.datetime.fromisoformat(when[:-1]).replace(tzinfo=_dt.UTC)
    except ValueError:
        raise _bad("bad time") from None
    if decision not in _DECISIONS:
        raise _bad("bad decision")
    texts: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = obj.get(name, "")
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            raise _bad(f"bad {name}")
        texts[name] = value
    if not texts["action"]:
        raise _bad("missing action")
    lists: dict[str, tuple[str, ...]] = {}
    for name in _LIST_FIELDS:
        value = obj.get(name, [])
        if (not isinstance(value, list) or len(value) > _MAX_LIST
                or not all(isinstance(v, str) and len(v) <= _MAX_TEXT for v in value)):
            raise _bad(f"bad {name}")
        lists[name] = tuple(value)
    break_glass = obj.get("break_glass", False)
    if not isinstance(break_glass, bool):
        raise _bad("bad break_glass")
    details = obj.get("details", {})
    if (not isinstance(details, dict) or len(details) > _MAX_DETAILS
            or not all(isinstance(k, str) and _DETAIL_KEY.match(k) and isinstance(v, str)
                       and len(v) <= _MAX_TEXT for k, v in details.items())):
        raise _bad("bad details")
    try:
        again = _ENCODER.encode(obj).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        raise _bad("not encodable") from None
    if again != raw or any(obj[k] in ("", [], {}, False) for k in keys
                           if k not in ("v", "id", "time", "decision", "action")):
        raise _bad("not in canonical form")
    return AuditEntry(
        seq=seq, entry_id=entry_id, time=time, decision=_DECISION_OF[str(decision)],
        fields_returned=lists["fields_returned"], fields_masked=lists["fields_masked"],
        break_glass=break_glass, details=types.MappingProxyType(dict(details)), raw=raw,
        **texts,
    )
