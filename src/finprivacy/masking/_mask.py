"""Mask presets: named, frozen, documented ways to show part of an identifier.

Every preset cites the rule or convention it implements. Partial presets keep the
separators (spaces, dashes, brackets, ``+``) where they were and replace each hidden
letter or digit with ``*``. A value that is not a valid identifier of its kind is
still masked by shape, and never shows more than the preset allows: when it is
shorter than the kind's shortest valid form, only up to a quarter of it, from the
end, stays visible.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from ..errors import ConfigurationError, InvalidInputError
from ..identifiers import KINDS as _SCAN_KINDS
from ..identifiers import Recognizer, fold_width, mask_keep, recognizer
from ..identifiers import phone as _phone
from ..secret import Secret

__all__ = [
    "COMPOUND_SURNAMES",
    "DEFAULT_PRESETS",
    "MASK_KINDS",
    "PRESETS",
    "Preset",
    "SliceSpec",
    "bind_mask",
    "mask",
    "masker",
    "slice_spec",
    "unmask_ff1",
]

#: Kinds :func:`mask` accepts: every scanner kind plus personal names and addresses.
MASK_KINDS: tuple[str, ...] = (*_SCAN_KINDS, "name", "address")

_MIN_LEN = {"cn_id": 15, "cn_uscc": 18, "bank_card": 12, "iban": 15, "cn_phone": 10,
            "phone": 8, "us_ssn": 9, "cn_passport": 9, "cn_bank_account": 10}

_COMPOUND = (
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 "
    "独孤 南宫 西门 万俟 闻人 端木 百里 呼延 东郭 澹台 公冶 宗政 濮阳 太史 申屠 赫连 "
    "拓跋 第五 左丘 谷梁 公羊 乐正 单于 司空 司寇 仲孙 鲜于 闾丘 亓官 梁丘 羊舌 微生 "
    "子车 颛孙 巫马 公西 漆雕 壤驷 公良 段干 东门 南门 呼衍 归海 羊角 微生 梁丘 左人 "
    "范姜 张简 欧侯 司徒"
)
#: Chinese compound (two-character) surnames kept whole by the ``surname`` preset.
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND.split())

MaskFn = Callable[[str, str, "_Options"], str]


@dataclass(frozen=True, slots=True)
class _Options:
    pseudonym_key: Secret[bytes] | None
    ff1_key: Secret[bytes] | None


_NO_OPTIONS = _Options(None, None)


@dataclass(frozen=True, slots=True)
class Preset:
    """A named masking rule for one kind; ``source`` cites where the rule comes from."""

    kind: str
    name: str
    source: str
    apply: MaskFn = field(repr=False, compare=False)


def _sig(c: str) -> bool:
    return c.isalnum()


def _keep(value: str, kind: str, first: int, last: int) -> str:
    """Show the first ``first`` and last ``last`` significant characters, mask the rest."""
    if value.isalnum():
        # No separators (the common case: a column holding bare digits): slice.
        n = len(value)
        if n < _MIN_LEN.get(kind, 0) or first + last >= n:
            first, last = 0, min(last, n // 4)
        return value[:first] + "*" * (n - first - last) + value[n - last:]
    idx = [i for i, c in enumerate(value) if c.isalnum()]
    n = len(idx)
    if n < _MIN_LEN.get(kind, 0) or first + last >= n:
        first, last = 0, min(last, n // 4)
    if not n:
        return value
    # Everything before the first hidden character and after the last one is shown
    # as it is (kept characters and separators alike); in between, separators stay.
    lo, hi = idx[first], idx[n - last - 1] + 1
    return value[:lo] + "".join("*" if c.isalnum() else c for c in value[lo:hi]) + value[hi:]


Bound = Callable[[str], str]
_BOUND_MAX = 64  # bound functions precompute the stars of values shorter than this
# Preset functions that can be bound to one kind as a faster ``str -> str`` function
# (see :func:`_bind`); the bound form must return exactly what the preset returns.
_BINDERS: dict[MaskFn, Callable[[str], Bound]] = {}


class SliceSpec(NamedTuple):
    """How a bound keep preset masks the common case, for callers that inline it.

    For ``value`` of ASCII letters and digits (and, with ``no_0086``, not starting
    with ``0086``) whose ``stars[len(value)]`` exists and is not None, the result is
    ``value[:first] + stars[len(value)] + value[-last:]``; for anything else it is
    ``fallback(value)``. Exactly what the bound function itself returns.
    """

    first: int
    last: int
    stars: tuple[str | None, ...]
    no_0086: bool
    fallback: Bound


# The inlinable form of each bound keep function (weak: bound functions come and go).
_SLICES: weakref.WeakKeyDictionary[Bound, SliceSpec] = weakref.WeakKeyDictionary()


def slice_spec(fn: Callable[[str], str]) -> SliceSpec | None:
    """Return how ``fn`` (from :func:`bind_mask`) masks the common case, if known.

    Callers that mask many values in a hot loop inline the :class:`SliceSpec`;
    ``None`` for any other function (it is then simply called).
    """
    try:
        return _SLICES.get(fn)
    except TypeError:  # not weak-referenceable: not one of ours
        return None


def _ascii_keep(first: int, last: int, shortest: int, fallback: Bound, *,
                no_0086: bool = False) -> Bound:
    """Bind the common case: ASCII letters and digits only, of a length up to 63.

    Such a value has no separators, so it is two slices around a run of stars; every
    other value (and, with ``no_0086``, one starting with the 0086 prefix) goes to
    ``fallback``. ``bytes.isalnum`` is a table look-up per character where
    ``str.isalnum`` queries the Unicode database; on ASCII text the two agree.
    """
    if last <= 0:
        return fallback
    # stars[n]: the hidden run of a value of length n, None where n is too short.
    stars = tuple(None if n < shortest else "*" * (n - first - last) for n in range(_BOUND_MAX))

    def keep(value: str) -> str:
        try:
            run = stars[len(value)]
        except IndexError:
            return fallback(value)
        if run is not None and value.isascii() and value.encode().isalnum() and (
                not (no_0086 and value.startswith("0086"))):
            return value[:first] + run + value[-last:]
        return fallback(value)

    _SLICES[keep] = SliceSpec(first, last, stars, no_0086, fallback)
    return keep


def _keep_fn(first: int, last: int) -> MaskFn:
    def apply(value: str, kind: str, _o: _Options) -> str:
        return _keep(value, kind, first, last)

    def bind(kind: str) -> Bound:
        return _ascii_keep(first, last, max(_MIN_LEN.get(kind, 0), first + last + 1),
                           lambda value: _keep(value, kind, first, last))

    _BINDERS[apply] = bind
    return apply


def _stars(value: str, kind: str, _o: _Options) -> str:
    return "".join("*" if _sig(c) else c for c in value)


def _full(value: str, kind: str, _o: _Options) -> str:
    return f"[{kind.upper()}]"


_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_SEPARATORS = re.compile(r"[\s\-().+]")


def _normalised(value: str, kind: str) -> str:
    folded = fold_width(value)
    if kind == "email":
        return folded.strip().lower()
    return _SEPARATORS.sub("", folded).upper()


def _pseudonym(value: str, kind: str, o: _Options) -> str:
    if o.pseudonym_key is None:
        raise ConfigurationError("the 'pseudonym' preset needs pseudonym_key=")
    mac = hmac.new(o.pseudonym_key.reveal(), f"{kind}\x00{_normalised(value, kind)}".encode(),
                   hashlib.sha256).hexdigest()[:16]
    return f"[{kind}#{mac.translate(_LETTERS)}]"


def _ff1_cipher(o: _Options) -> object:
    if o.ff1_key is None:
        raise ConfigurationError("the 'ff1' preset needs ff1_key=")
    from ..crypto import FF1  # L1: masking composes the crypto layer, never cryptography

    return FF1(o.ff1_key.reveal(), radix=10)


def _ff1_apply(value: str, kind: str, o: _Options, *, encrypt: bool) -> str:
    from ..crypto import FF1

    cipher = _ff1_cipher(o)
    assert isinstance(cipher, FF1)  # noqa: S101 - narrowing for the type checker
    folded = fold_width(value)
    pos = [i for i, c in enumerate(folded) if c.isdigit() and c.isascii()]
    digits = "".join(folded[i] for i in pos)
    if len(digits) < cipher.min_length:
        raise InvalidInputError(f"the 'ff1' preset needs at least {cipher.min_length} digits")
    tweak = kind.encode()
    out = cipher.encrypt(digits, tweak) if encrypt else cipher.decrypt(digits, tweak)
    chars = list(folded)
    for i, d in zip(pos, out, strict=True):
        chars[i] = d
    return "".join(chars)


def _ff1(value: str, kind: str, o: _Options) -> str:
    return _ff1_apply(value, kind, o, encrypt=True)


def _cn_phone(first: int, last: int) -> MaskFn:
    prefix = re.compile(r"\s*(?:\+\s?86|0086)[\s\-]*")

    def apply(value: str, kind: str, _o: _Options) -> str:
        m = prefix.match(fold_width(value))
        head = value[: m.end()] if m else ""
        return head + _keep(value[len(head):], kind, first, last)

    def bind(kind: str) -> Bound:
        return _ascii_keep(first, last, max(_MIN_LEN.get(kind, 0), first + last + 1),
                           lambda value: apply(value, kind, _NO_OPTIONS), no_0086=True)

    _BINDERS[apply] = bind
    return apply


def _phone_cc_last4(value: str, kind: str, _o: _Options) -> str:
    folded = fold_width(value)
    digits = "".join(c for c in folded if c.isdigit())
    cc = _phone._cc(digits) if folded.lstrip().startswith(("+", "00")) else None
    keep_first = len(cc) + (2 if folded.lstrip().startswith("00") else 0) if cc else 0
    return _keep(value, kind, keep_first, 4)


def _email(local_keep: int) -> MaskFn:
    def apply(value: str, kind: str, _o: _Options) -> str:
        local, at, domain = value.rpartition("@")
        if not at or not local:
            return _stars(value, kind, _o)
        return local[:local_keep] + "***@" + domain

    return apply


def _surname(value: str, kind: str, _o: _Options) -> str:
    name = value.strip()
    if not name:
        return value
    if name.isascii():
        return " ".join(w[:1] + "*" * (len(w) - 1) for w in name.split(" "))
    keep = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    if len(name) == 1:
        keep = 0
    return name[:keep] + "".join("*" if _sig(c) else c for c in name[keep:])


_REGION = re.compile(
    r"^(?:[^省市区县]{2,7}?(?:省|自治区|特别行政区))?"
    r"(?:[^省市区县]{1,9}?(?:市|自治州|地区|盟))?"
    r"(?:[^省市区县]{1,9}?(?:区|县|市|旗))?"
)


def _region(value: str, kind: str, _o: _Options) -> str:
    text = value.strip()
    if not text:
        return value
    if not text.isascii():
        m = _REGION.match(text)
        head = m.group() if m else ""
        return (head + "****") if head else "****"
    parts = [p.strip() for p in text.split(",")]
    kept = [p if i > 0 and not any(c.isdigit() for c in p) else "****"
            for i, p in enumerate(parts)]
    return ", ".join(kept)


_GENERIC: tuple[tuple[str, str, MaskFn], ...] = (
    ("stars", "every letter and digit hidden, separators and length kept", _stars),
    ("full", "full redaction: replaced by the kind in brackets; length hidden", _full),
    ("pseudonym", "keyed pseudonym: HMAC-SHA256 (RFC 2104) of the normalised value under "
                  "pseudonym_key; the same value gives the same token under one key "
                  "(pseudonymisation, GDPR Art. 4(5))", _pseudonym),
    ("ff1", "reversible format-preserving encryption of the digits, NIST SP 800-38G FF1 "
            "under ff1_key (finprivacy.crypto.FF1); undo with unmask_ff1()", _ff1),
)

_PCI = "PCI DSS v4.0 requirement 3.4.1: PAN masked when displayed"
_SPECIFIC: dict[str, tuple[tuple[str, str, MaskFn], ...]] = {
    "bank_card": (
        ("pci_bin6_last4", f"{_PCI}; at most the BIN (first 6) and the last 4 digits",
         _keep_fn(6, 4)),
        ("pci_bin8_last4", f"{_PCI}; first 8 and last 4 for PANs of 16 digits or more "
                           "(PCI SSC FAQ 1091); shorter PANs show the first 6",
         lambda v, k, o: _keep(v, k, 8 if sum(map(_sig, v)) >= 16 else 6, 4)),
        ("last4", f"{_PCI}; last 4 digits only (receipts, screens for most staff)",
         _keep_fn(0, 4)),
    ),
    "cn_id": (
        ("first6_last4", "common display convention (GB/T 35273-2020 §3.14 de-identification; "
                         "JR/T 0171-2020): address code and last 4 shown, birth date hidden",
         _keep_fn(6, 4)),
        ("first3_last4", "common display convention: first 3 and last 4 shown, county and "
                         "birth date hidden", _keep_fn(3, 4)),
        ("last4", "last 4 characters only", _keep_fn(0, 4)),
    ),
    "cn_phone": (
        ("mobile_3_4", "common display convention 138****1234: network prefix and last 4 "
                       "shown, +86 kept", _cn_phone(3, 4)),
        ("last4", "last 4 digits only, +86 kept", _cn_phone(0, 4)),
    ),
    "phone": (
        ("cc_last4", "ITU-T E.164 country code and the last 4 digits shown",
         _phone_cc_last4),
        ("last4", "last 4 digits only", _keep_fn(0, 4)),
    ),
    "email": (
        ("first1_domain", "common display convention: first character of the local part "
                          "and the domain (z***@example.com)", _email(1)),
        ("domain", "domain only (***@example.com)", _email(0)),
    ),
    "iban": (
        ("first4_last4", "country code, check digits and last 4 shown (EPC display "
                         "practice)", _keep_fn(4, 4)),
        ("last4", "last 4 characters only", _keep_fn(0, 4)),
    ),
    "us_ssn": (
        ("last4", "truncated taxpayer identification number, last four digits shown "
                  "(26 CFR §301.6109-4)", _keep_fn(0, 4)),
    ),
    "cn_uscc": (
        ("first4_last4", "registration authority, category and province shown with the "
                         "check characters", _keep_fn(4, 4)),
        ("last4", "last 4 characters only", _keep_fn(0, 4)),
    ),
    "cn_passport": (
        ("first1_last3", "passport type letter and last 3 digits shown", _keep_fn(1, 3)),
        ("last4", "last 4 characters only", _keep_fn(0, 4)),
    ),
    "cn_bank_account": (
        ("last4", "last 4 digits only (bank statement convention)", _keep_fn(0, 4)),
        ("first6_last4", "first 6 and last 4 digits", _keep_fn(6, 4)),
    ),
    "name": (
        ("surname", "common display convention: the surname is kept (张*, 欧阳**; compound "
                    "surnames kept whole); Latin names keep initials", _surname),
    ),
    "address": (
        ("region", "address to the region only (province, city, district/county); "
                   "GB/T 35273-2020 §3.14 de-identification", _region),
    ),
}


def _build() -> dict[str, Mapping[str, Preset]]:
    table: dict[str, Mapping[str, Preset]] = {}
    for kind in MASK_KINDS:
        entries = {name: Preset(kind, name, source, fn)
                   for name, source, fn in (*_SPECIFIC[kind], *_GENERIC)}
        table[kind] = MappingProxyType(entries)
    return table


#: Every preset, by kind and name.
PRESETS: Mapping[str, Mapping[str, Preset]] = MappingProxyType(_build())

#: The preset :func:`mask` and :func:`redact` use when none is named.
DEFAULT_PRESETS: Mapping[str, str] = MappingProxyType({
    "bank_card": "pci_bin6_last4", "cn_id": "first3_last4", "cn_phone": "mobile_3_4",
    "phone": "cc_last4", "email": "first1_domain", "iban": "first4_last4",
    "us_ssn": "last4", "cn_uscc": "first4_last4", "cn_passport": "first1_last3",
    "cn_bank_account": "last4", "name": "surname", "address": "region",
})


def _key(value: bytes | Secret[bytes] | None, what: str, sizes: tuple[int, ...] = ()) -> (
        Secret[bytes] | None):
    if value is None:
        return None
    raw: object = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(raw, bytes | bytearray) or len(raw) < 16 or (sizes and len(raw)
                                                                     not in sizes):
        raise ConfigurationError(f"{what} must be bytes, at least 16 long"
                                 + (f" ({'/'.join(map(str, sizes))} bytes)" if sizes else ""))
    return Secret(bytes(raw))


_REGISTERED: dict[str, tuple[Recognizer, Mapping[str, Preset]]] = {}


def _registered_presets(kind: str) -> tuple[str, Mapping[str, Preset]] | None:
    """Return the default preset's name and the presets of a kind an application registered.

    Its recognizer's ``mask`` (``lastN``, ``firstM_lastN``, ``stars`` or ``full``) is the
    default; the keep rule is also offered as ``keep``, beside the generic presets.
    """
    rec = recognizer(kind)
    if rec is None or kind in PRESETS:
        return None
    cached = _REGISTERED.get(kind)
    if cached is None or cached[0] is not rec:  # registered again: rebuild
        entries = {name: Preset(kind, name, source, fn) for name, source, fn in _GENERIC}
        keep = mask_keep(rec.mask)
        if keep is not None:
            entries["keep"] = entries[rec.mask] = Preset(
                kind, rec.mask, f"the registered recognizer's rule: first {keep[0]} and "
                                f"last {keep[1]} characters shown", _keep_fn(*keep))
        cached = _REGISTERED[kind] = (rec, MappingProxyType(entries))
    return rec.mask, cached[1]


def preset_for(kind: str, preset: str | None = None) -> Preset:
    """Return the :class:`Preset` for ``kind`` and ``preset`` (default: the kind's default).

    ``kind`` is a built-in kind (:data:`MASK_KINDS`) or one an application registered
    with :func:`~finprivacy.register_recognizer`.
    """
    presets = PRESETS.get(kind)
    default = DEFAULT_PRESETS.get(kind, "")
    if presets is None:
        registered = _registered_presets(kind)
        if registered is None:
            raise ConfigurationError(f"unknown kind {kind!r}; known: {', '.join(MASK_KINDS)}"
                                     " and registered kinds")
        default, presets = registered
    name = default if preset is None else preset
    found = presets.get(name)
    if found is None:
        raise ConfigurationError(
            f"unknown preset {name!r} for kind {kind!r}; known: {', '.join(presets)}")
    return found


def mask(value: str | Secret[str], kind: str, preset: str | None = None, *,
         pseudonym_key: bytes | Secret[bytes] | None = None,
         ff1_key: bytes | Secret[bytes] | None = None) -> str:
    """Return ``value`` masked with the named ``preset`` of ``kind``.

    >>> mask("6222 0202 0011 2233 446", kind="bank_card")
    '6222 02** **** ***3 446'
    >>> mask("13812345678", kind="cn_phone")
    '138****5678'
    >>> mask("欧阳娜娜", kind="name")
    '欧阳**'

    ``kind`` is one of :data:`MASK_KINDS`; ``preset`` one of ``PRESETS[kind]`` (default
    :data:`DEFAULT_PRESETS`). The ``pseudonym`` preset needs ``pseudonym_key`` (16 bytes
    or more) and ``ff1`` needs ``ff1_key`` (an AES key of 16, 24 or 32 bytes). Unknown
    kinds and presets raise :class:`~finprivacy.errors.ConfigurationError`; a value
    that is not text raises :class:`~finprivacy.errors.InvalidInputError`.
    """
    chosen = preset_for(kind, preset)
    raw = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(raw, str):
        raise InvalidInputError(f"mask() takes text, not {type(raw).__name__}")
    options = _Options(_key(pseudonym_key, "pseudonym_key"),
                       _key(ff1_key, "ff1_key", (16, 24, 32)))
    return chosen.apply(raw, kind, options)


def masker(kind: str, preset: str | None = None, *,
           pseudonym_key: bytes | Secret[bytes] | None = None,
           ff1_key: bytes | Secret[bytes] | None = None) -> Callable[[str | Secret[str]], str]:
    """Return a function that masks one value as ``mask(value, kind, preset, ...)`` does.

    >>> card = masker("bank_card", "last4")
    >>> card("6222020200112233445")
    '***************3445'

    The kind, preset and keys are checked once, here (the same errors as
    :func:`mask`), so a loop over many values pays only for the masking itself: the
    form to use for a column of values or in an access-control hot path.
    """
    fast = _bind(kind, preset, _Options(_key(pseudonym_key, "pseudonym_key"),
                                        _key(ff1_key, "ff1_key", (16, 24, 32))))

    def mask_one(value: str | Secret[str]) -> str:
        if type(value) is str:
            return fast(value)
        raw = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(raw, str):
            raise InvalidInputError(f"mask() takes text, not {type(raw).__name__}")
        return fast(raw)

    return mask_one


def bind_mask(kind: str, preset: str | None = None) -> Callable[[str], str]:
    """Return ``preset`` of ``kind`` as a plain ``str -> str`` function.

    The fastest form, for callers that already hold ``str`` values (access control's
    row shaping); :func:`masker` also takes :class:`~finprivacy.Secret` values and the
    keyed presets' keys. Errors as :func:`mask`.
    """
    return _bind(kind, preset)


def _bind(kind: str, preset: str | None = None, options: _Options = _NO_OPTIONS) -> Bound:
    """Return ``preset`` of ``kind`` as a ``str -> str`` function (keys in ``options``)."""
    apply = preset_for(kind, preset).apply
    binder = _BINDERS.get(apply)
    if binder is not None:
        return binder(kind)
    return lambda value: apply(value, kind, options)


def unmask_ff1(masked: str, kind: str, *, ff1_key: bytes | Secret[bytes]) -> str:
    """Reverse the ``ff1`` preset: return the original value (separators unchanged)."""
    preset_for(kind, "ff1")
    options = _Options(None, _key(ff1_key, "ff1_key", (16, 24, 32)))
    return _ff1_apply(masked, kind, options, encrypt=False)
