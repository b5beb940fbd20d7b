"""Blind indexes: equality search over encrypted columns without decrypting every row.

Beside each randomized-encrypted value (``fp1`` token) a table stores a *blind index*:
a keyed hash of a normalised form of the plaintext, truncated to a few bits. Searching
computes the same index for the value looked for and selects the candidate rows with a
plain ``WHERE card_bidx IN (...)``; the application then decrypts the few candidates
and discards the false positives that truncation lets through.

The design follows Scott Arciszewski's CipherSweet (Paragon Initiative Enterprises):

* the hash is keyed BLAKE2b (RFC 7693 keyed mode, the default) or HMAC-SHA256
  (RFC 2104), with a key derived per index from the keyring with HKDF-SHA256
  (``Keyring.derive_key``) and the index name as domain separation, so two indexes of
  one value never match and no index key equals an encryption key;
* values are normalised first (digits only, last 4, lower-cased e-mail, spaces
  stripped, full-width digits and NFKC) so ``"6222 0202 …"`` and ``"62220202…"`` match;
* compound indexes hash several normalised fields together (e.g. last 4 of the card
  and the birth year) with an unambiguous length-prefixed encoding;
* the index is truncated to ``bits`` bits; :func:`plan_blind_index` recommends ``bits``
  so that every index value is shared by between 2 and √R rows (CipherSweet's planning
  rule ``2 <= R / 2**L <= sqrt(R)``) and reports the expected false positives.

Stored index values name the key version: ``"<key_id>:<hex>"``. After a key rotation,
:meth:`BlindIndex.lookup_values` returns the index under every usable key version, so
rows stay findable while they are re-indexed (:meth:`BlindIndex.needs_reindex`).

A blind index leaks equality of the normalised values, like deterministic encryption;
truncation deliberately blurs it (see ``docs/explanation/blind_indexes.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Literal, TypeAlias, cast

from ..errors import (
    ConfigurationError,
    InvalidInputError,
    KeyringError,
    KeyStateError,
    NotFoundError,
)
from ..secret import Secret
from ._deterministic import _KeySource, usable_key_ids

__all__ = [
    "NORMALIZERS",
    "BlindIndex",
    "BlindIndexPlan",
    "BlindIndexSet",
    "CompoundBlindIndex",
    "Normalizer",
    "plan_blind_index",
]

Normalizer: TypeAlias = str | Callable[[str], str]
"""A normaliser: the name of a built-in one (see :data:`NORMALIZERS`) or a ``str -> str``."""

_INFO: Final = b"finprivacy/blind-index/v1\x00"
_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
_SPACES = re.compile(r"\s+")
_MIN_BITS: Final = 8
_MAX_BITS: Final = 256
_BLAKE_PERSON: Final = b"fp-bidx-v1"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


def _digits(value: str) -> str:
    # Full-width and other decimal digits (Unicode Nd) become ASCII; the rest is dropped.
    out = []
    for ch in value:
        if "0" <= ch <= "9":
            out.append(ch)
        else:
            d = unicodedata.decimal(ch, None)
            if d is not None:
                out.append(chr(48 + d))
    return "".join(out)


def _last4(value: str) -> str:
    digits = _digits(value)
    return digits[-4:]


def _email(value: str) -> str:
    text = _nfkc(value).strip()
    if text.count("@") != 1:
        raise InvalidInputError("value is not an e-mail address")
    return text.lower()


def _strip_spaces(value: str) -> str:
    return _SPACES.sub("", value)


def _collapse_spaces(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


NORMALIZERS: Final[Mapping[str, Callable[[str], str]]] = {
    "nfkc": _nfkc,
    "digits": _digits,
    "last4": _last4,
    "email": _email,
    "lower": str.lower,
    "casefold": str.casefold,
    "upper": str.upper,
    "strip_spaces": _strip_spaces,
    "collapse_spaces": _collapse_spaces,
    "strip": str.strip,
}
"""The built-in normalisers by name.

``nfkc`` Unicode NFKC (full-width ``６２２２`` becomes ``6222``); ``digits`` keeps decimal
digits of any script as ASCII; ``last4`` the last four digits; ``email`` trims, NFKC and
lower-cases a one-``@`` address; ``lower``/``casefold``/``upper``; ``strip_spaces``
removes all white space; ``collapse_spaces`` turns runs of white space into one space;
``strip`` trims the ends.
"""


def _resolve(chain: Sequence[Normalizer] | Normalizer) -> tuple[Callable[[str], str], ...]:
    if isinstance(chain, str) or callable(chain):
        chain = [chain]
    out = []
    for step in chain:
        if isinstance(step, str):
            try:
                out.append(NORMALIZERS[step])
            except KeyError:
                raise ConfigurationError(
                    f"unknown normaliser {step!r}; known: {sorted(NORMALIZERS)}"
                ) from None
        elif callable(step):
            out.append(step)
        else:
            raise ConfigurationError("a normaliser is a name or a callable str -> str")
    return tuple(out)


def _apply(steps: tuple[Callable[[str], str], ...], value: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a str")
    for step in steps:
        value = step(value)
        if not isinstance(value, str):
            raise ConfigurationError(f"a normaliser of {what} did not return a str")
    return value


def _check_name(name: str) -> str:
    if not isinstance(cast(object, name), str) or not _NAME.fullmatch(name):
        raise ConfigurationError(
            "index name must be 1-128 characters of letters, digits and _.:/-"
        )
    return name


class _Hasher:
    """Keyed, truncated hashing for one index and one key version."""

    __slots__ = ("key", "key_id", "value")

    def __init__(self, key_id: str, key: bytes, algorithm: str, bits: int) -> None:
        self.key_id = key_id
        self.key = key
        nbytes = (bits + 7) // 8
        hexlen = (bits + 3) // 4
        drop = nbytes * 8 - bits  # low bits to clear when bits is not a multiple of 8
        prefix = key_id + ":"
        if algorithm == "blake2b":
            blake2b = hashlib.blake2b

            def digest(data: bytes) -> bytes:
                return blake2b(data, key=key, digest_size=nbytes, person=_BLAKE_PERSON).digest()
        else:
            base = hmac.new(key, digestmod=hashlib.sha256)

            def digest(data: bytes) -> bytes:
                h = base.copy()
                h.update(data)
                return h.digest()[:nbytes]

        if not drop and hexlen == 2 * nbytes:
            if algorithm == "blake2b":
                blake = hashlib.blake2b

                def value(data: bytes) -> str:
                    return prefix + blake(data, key=key, digest_size=nbytes,
                                          person=_BLAKE_PERSON).hexdigest()
            else:
                def value(data: bytes) -> str:
                    return prefix + digest(data).hex()
        else:
            def value(data: bytes) -> str:
                # Keep the top ``bits`` bits; print them right-aligned in hex.
                n = int.from_bytes(digest(data), "big") >> drop
                return f"{prefix}{n:0{hexlen}x}"
        self.value = value


class _IndexBase:
    __slots__ = ("_algorithm", "_bits", "_hashers", "_keyring", "_lock", "_name")

    def __init__(self, keyring: _KeySource, name: str, *, bits: int,
                 algorithm: Literal["blake2b", "hmac-sha256"]) -> None:
        if not hasattr(keyring, "derive_key"):
            raise ConfigurationError("a blind index needs a Keyring")
        self._name = _check_name(name)
        if not _is_int(bits) or not _MIN_BITS <= bits <= _MAX_BITS:
            raise ConfigurationError(f"bits must be an integer from {_MIN_BITS} to {_MAX_BITS}")
        if algorithm not in ("blake2b", "hmac-sha256"):
            raise ConfigurationError("algorithm must be 'blake2b' or 'hmac-sha256'")
        if algorithm == "blake2b" and bits > 512:  # pragma: no cover - bounded above
            raise ConfigurationError("blake2b gives at most 512 bits")
        self._keyring = keyring
        self._bits = bits
        self._algorithm = algorithm
        self._hashers: dict[str, _Hasher] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The index name; it separates this index's key from every other index's."""
        return self._name

    @property
    def bits(self) -> int:
        """How many bits of the keyed hash are kept."""
        return self._bits

    @property
    def algorithm(self) -> str:
        """``blake2b`` (keyed BLAKE2b) or ``hmac-sha256``."""
        return self._algorithm

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self._name!r}, bits={self._bits}, "
                f"algorithm={self._algorithm!r})")

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("blind index objects hold keys and cannot be pickled")

    def _hasher(self, key_id: str | None) -> _Hasher:
        if key_id is None:
            # The primary key is always usable: skip derive_key's status check.
            found = self._hashers.get(self._keyring.primary_id)
            if found is not None:
                return found
        # derive_key checks the key's status on every call (a retired key refuses) and
        # caches the HKDF output; the hasher is cached per derived key.
        info = _INFO + self._algorithm.encode() + b"\x00" + self._name.encode()
        try:
            got_id, key = self._keyring.derive_key(info, key_id=key_id, length=32)
        except (KeyStateError, KeyringError) as exc:
            raise type(exc)(f"blind index {self._name!r}: {exc}") from None
        found = self._hashers.get(got_id)
        if found is not None and found.key is key:
            return found
        hasher = _Hasher(got_id, key, self._algorithm, self._bits)
        with self._lock:
            self._hashers[got_id] = hasher
        return hasher

    def _compute(self, data: bytes, key_id: str | None) -> str:
        return self._hasher(key_id).value(data)

    def _lookup(self, data: bytes) -> list[str]:
        primary = self._keyring.primary_id
        ids = [primary] + [k for k in usable_key_ids(self._keyring) if k != primary]
        return [self._hasher(k).value(data) for k in ids]

    def key_id_of(self, stored: str) -> str:
        """Return the key version named by a stored index value ``"<key_id>:<hex>"``."""
        if not isinstance(stored, str):
            raise InvalidInputError("a stored blind index value must be a str")
        key_id, sep, digest = stored.rpartition(":")
        if not sep or not key_id or len(digest) != (self._bits + 3) // 4:
            raise InvalidInputError(
                f"not a {self._bits}-bit value of blind index {self._name!r}"
            )
        return key_id

    def needs_reindex(self, stored: str) -> bool:
        """Return whether a stored index value was made with a key other than the primary."""
        return self.key_id_of(stored) != self._keyring.primary_id


class BlindIndex(_IndexBase):
    """A keyed, truncated, versioned index of one normalised value, for equality search.

    >>> # idx = fp.BlindIndex(kr, "customers.card_no", bits=32,
    >>> #                     normalize=["nfkc", "digits"])
    >>> # row["card_bidx"] = idx.compute("6222 0202 0011 2233 446")
    >>> # SELECT ... WHERE card_bidx IN (...idx.lookup_values(query)...)

    ``bits`` should come from :func:`plan_blind_index`. ``normalize`` is a normaliser
    or a sequence applied in order (names from :data:`NORMALIZERS` or callables).
    """

    __slots__ = ("_steps",)

    def __init__(self, keyring: _KeySource, name: str, *, bits: int = 32,
                 normalize: Sequence[Normalizer] | Normalizer = (),
                 algorithm: Literal["blake2b", "hmac-sha256"] = "blake2b") -> None:
        super().__init__(keyring, name, bits=bits, algorithm=algorithm)
        self._steps = _resolve(normalize)

    def normalize(self, value: str) -> str:
        """Return ``value`` after this index's normalisers (what actually gets hashed)."""
        return _apply(self._steps, value, f"value for index {self._name!r}")

    def _data(self, value: str | bytes | Secret[str] | Secret[bytes]) -> bytes:
        if type(value) is bytes and not self._steps:
            return value
        if isinstance(value, Secret):
            value = value.reveal()
        if isinstance(value, bytes | bytearray):
            if self._steps:
                raise InvalidInputError(
                    f"index {self._name!r} normalises text; pass a str, not bytes"
                )
            return bytes(value)
        return self.normalize(value).encode("utf-8")

    def compute(self, value: str | bytes | Secret[str] | Secret[bytes], *,
                key_id: str | None = None) -> str:
        """Return the index value to store for ``value`` (primary key unless ``key_id``)."""
        if key_id is None:
            found = self._hashers.get(self._keyring.primary_id)
            if found is not None:
                return found.value(self._data(value))
        return self._compute(self._data(value), key_id)

    def lookup_values(self, value: str | bytes | Secret[str] | Secret[bytes]) -> list[str]:
        """Return the index of ``value`` under every usable key version, primary first.

        Select candidate rows with ``WHERE column IN (...)`` over all of them; rows
        indexed before a rotation are found until they are re-indexed.
        """
        return self._lookup(self._data(value))


class CompoundBlindIndex(_IndexBase):
    """A blind index over several fields together, e.g. card last 4 and birth year.

    ``fields`` maps each field name to its normaliser(s); :meth:`compute` takes a mapping
    with those names. The fields are encoded with length prefixes before hashing, so
    ``("12", "3")`` and ``("1", "23")`` never collide.
    """

    __slots__ = ("_fields",)

    def __init__(self, keyring: _KeySource, name: str, *,
                 fields: Mapping[str, Sequence[Normalizer] | Normalizer], bits: int = 32,
                 algorithm: Literal["blake2b", "hmac-sha256"] = "blake2b") -> None:
        super().__init__(keyring, name, bits=bits, algorithm=algorithm)
        if not isinstance(cast(object, fields), Mapping) or len(fields) < 2:
            raise ConfigurationError("a compound index needs a mapping of at least 2 fields")
        self._fields = tuple((str(f), _resolve(n)) for f, n in fields.items())

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in hashing order."""
        return tuple(f for f, _ in self._fields)

    def _data(self, values: Mapping[str, str]) -> bytes:
        if not isinstance(values, Mapping):
            raise InvalidInputError(f"compound index {self._name!r} takes a mapping of fields")
        parts = []
        for field, steps in self._fields:
            if field not in values:
                raise InvalidInputError(f"compound index {self._name!r} needs field {field!r}")
            raw = _apply(steps, values[field], f"field {field!r} of index {self._name!r}")
            data = raw.encode("utf-8")
            parts.append(len(data).to_bytes(4, "big") + data)
        return b"".join(parts)

    def compute(self, values: Mapping[str, str], *, key_id: str | None = None) -> str:
        """Return the index value to store for the fields in ``values``."""
        return self._compute(self._data(values), key_id)

    def lookup_values(self, values: Mapping[str, str]) -> list[str]:
        """Return the index of ``values`` under every usable key version, primary first."""
        return self._lookup(self._data(values))


class BlindIndexSet:
    """The blind indexes of an application, by name; unknown names raise NotFoundError.

    >>> # indexes = fp.BlindIndexSet([fp.BlindIndex(kr, "customers.card_no", bits=24)])
    >>> # indexes.lookup_values("customers.card_no", card)
    """

    __slots__ = ("_indexes",)

    def __init__(self, indexes: Iterable[BlindIndex | CompoundBlindIndex] = ()) -> None:
        self._indexes: dict[str, BlindIndex | CompoundBlindIndex] = {}
        for index in indexes:
            self.add(index)

    def add(self, index: BlindIndex | CompoundBlindIndex) -> None:
        """Register ``index`` under its name; a second index of the same name is refused."""
        if not isinstance(index, BlindIndex | CompoundBlindIndex):
            raise ConfigurationError("only BlindIndex and CompoundBlindIndex can be added")
        if index.name in self._indexes:
            raise ConfigurationError(f"blind index {index.name!r} is already registered")
        self._indexes[index.name] = index

    def __getitem__(self, name: str) -> BlindIndex | CompoundBlindIndex:
        try:
            return self._indexes[name]
        except KeyError:
            raise NotFoundError(f"no blind index named {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._indexes

    def names(self) -> list[str]:
        """Return the registered index names, sorted."""
        return sorted(self._indexes)

    def __len__(self) -> int:
        return len(self._indexes)

    def __repr__(self) -> str:
        return f"BlindIndexSet({sorted(self._indexes)})"

    def compute(self, name: str, value: str | bytes | Mapping[str, str]) -> str:
        """Return the stored value of index ``name`` for ``value`` (primary key)."""
        return self[name].compute(value)  # type: ignore[arg-type]

    def lookup_values(self, name: str, value: str | bytes | Mapping[str, str]) -> list[str]:
        """Return the lookup values of index ``name`` under every usable key version."""
        return self[name].lookup_values(value)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, slots=True)
class BlindIndexPlan:
    """The outcome of :func:`plan_blind_index`.

    ``bits`` is the recommendation; ``min_bits``..``max_bits`` the range that satisfies
    ``2 <= R / 2**L <= sqrt(R)`` (``min_bits > max_bits`` when no length does).
    ``coincidences`` is the expected number of rows sharing one index value
    (``R / 2**min(L, entropy)``); ``expected_false_positives`` the expected number of
    rows with *another* value returned by an exact lookup (``(R - 1) / 2**L``).
    """

    rows: int
    input_entropy_bits: float
    other_index_bits: int
    bits: int
    min_bits: int
    max_bits: int
    coincidences: float
    expected_false_positives: float
    safe: bool
    notes: tuple[str, ...]


def plan_blind_index(rows: int, *, input_entropy_bits: float,
                     other_index_bits: int = 0) -> BlindIndexPlan:
    """Recommend a blind index length for ``rows`` rows of an input with the given entropy.

    CipherSweet's planning rule: with ``R`` rows and ``L`` index bits in total across
    the table's blind indexes, each index value should be shared by ``C = R / 2**L``
    rows with ``2 <= C <= sqrt(R)``: at least 2, so an index value never pins down one
    row, and at most √R, so a lookup stays cheap. ``L`` counts at most the input's
    entropy (an index cannot hold more than its input), and ``other_index_bits`` (the
    bits of the table's other blind indexes) counts against the budget.

    Examples of entropy: a random 16-digit card middle ~ 20 bits after BIN and last 4;
    last 4 digits ~ 13.3 bits; a birth year ~ 7 bits; an 18-digit resident ID ~ 35 bits.
    """
    if not _is_int(rows) or rows < 1:
        raise InvalidInputError("rows must be a positive integer")
    if not isinstance(cast(object, input_entropy_bits), int | float) or not (
            input_entropy_bits > 0):
        raise InvalidInputError("input_entropy_bits must be a positive number")
    if not _is_int(other_index_bits) or other_index_bits < 0:
        raise InvalidInputError("other_index_bits must be a non-negative integer")
    log_r = math.log2(rows)
    # Total bits T with 2 <= R / 2**T <= sqrt(R):  log2(R)/2 <= T <= log2(R) - 1.
    t_min = math.ceil(log_r / 2)
    t_max = math.floor(log_r - 1)
    lo = max(t_min - other_index_bits, _MIN_BITS)
    hi = min(t_max - other_index_bits, math.floor(input_entropy_bits))
    notes: list[str] = []
    if hi >= lo:
        bits = hi
        safe = True
    else:
        safe = False
        if t_max - other_index_bits < _MIN_BITS:
            notes.append(
                f"too few rows: with {rows:,} rows a {_MIN_BITS}-bit index (the minimum) "
                "leaves fewer than 2 rows per value; index a coarser transformation or "
                "wait for more rows"
            )
        if math.floor(input_entropy_bits) < lo:
            notes.append(
                "the input has too little entropy: every index value is shared by more "
                "than sqrt(R) rows, so lookups return many candidates; use a compound "
                "index with another field"
            )
        bits = max(_MIN_BITS, min(hi, _MAX_BITS)) if hi >= _MIN_BITS else _MIN_BITS
    effective = min(bits + other_index_bits, input_entropy_bits + other_index_bits)
    coincidences = rows / 2**effective
    false_pos = (rows - 1) / 2**bits
    if safe:
        notes.append(f"{bits} bits: about {coincidences:,.1f} rows share each index value")
    return BlindIndexPlan(rows, float(input_entropy_bits), other_index_bits, bits, lo, hi,
                          coincidences, false_pos, safe, tuple(notes))
