"""``redact()``: mask every identifier in text, and sensitive fields in structures."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from ..clock import Clock
from ..errors import ConfigurationError, FormatError
from ..identifiers import DEFAULT_MIN_CONFIDENCE, recognizer
from ..secret import Secret
from ._mask import DEFAULT_PRESETS, MASK_KINDS, mask, preset_for
from ._scan import scan

__all__ = ["FIELD_KINDS", "kind_for_field", "mask_field", "redact", "redact_json",
           "redact_text"]

T = TypeVar("T")

_FIELDS: dict[str, tuple[str, ...]] = {
    "cn_id": ("idnumber", "idno", "idcard", "idcardno", "idcardnumber", "residentid",
              "nationalid", "citizenid", "身份证", "身份证号", "身份证号码", "证件号",
              "证件号码", "公民身份号码"),
    "bank_card": ("cardno", "cardnumber", "cardnum", "bankcard", "bankcardno", "pan",
                  "creditcard", "debitcard", "卡号", "银行卡", "银行卡号"),
    "cn_bank_account": ("accountno", "accountnumber", "bankaccount", "bankaccountno",
                        "acctno", "账号", "帐号", "银行账号", "账户", "收款账号", "付款账号"),
    "phone": ("phone", "phoneno", "phonenumber", "mobile", "mobileno", "mobilephone",
              "tel", "telephone", "cellphone", "手机", "手机号", "手机号码", "电话",
              "联系电话"),
    "email": ("email", "emailaddress", "mail", "邮箱", "电子邮箱", "电子邮件"),
    "us_ssn": ("ssn", "socialsecuritynumber"),
    "iban": ("iban",),
    "cn_uscc": ("uscc", "creditcode", "socialcreditcode", "统一社会信用代码", "信用代码",
                "纳税人识别号"),
    "cn_passport": ("passport", "passportno", "passportnumber", "护照", "护照号",
                    "护照号码"),
    "name": ("name", "fullname", "realname", "customername", "holdername", "accountname",
             "cardholder", "姓名", "户名", "客户姓名", "开户名", "持卡人"),
    "address": ("address", "addr", "homeaddress", "mailingaddress", "地址", "住址",
                "家庭住址", "联系地址"),
}
# Suffixes that mark a field whatever comes before it (payer_card_no, home_phone).
_SUFFIXES = ("idnumber", "idcard", "cardno", "cardnumber", "accountno", "accountnumber",
             "phone", "phoneno", "mobile", "email", "iban", "passportno", "address",
             "身份证号", "卡号", "账号", "手机号", "电话", "地址", "姓名")

#: Field names (normalised: lower case, no spaces, dashes, dots or underscores) -> kind.
FIELD_KINDS: Mapping[str, str] = MappingProxyType(
    {name: kind for kind, names in _FIELDS.items() for name in names})
_SUFFIX_KIND = tuple((s, FIELD_KINDS[s]) for s in _SUFFIXES)
_NORMALISE = re.compile(r"[\s_\-.]")
_MAX_PASSES = 8


def kind_for_field(name: str, keys: Mapping[str, str] | None = None) -> str | None:
    """Return the kind a field called ``name`` holds, or ``None`` if it is not known.

    >>> kind_for_field("Card-No"), kind_for_field("payer_id_number"), kind_for_field("memo")
    ('bank_card', 'cn_id', None)

    ``keys`` adds or overrides names (matched after the same normalisation).
    """
    key = _NORMALISE.sub("", name.lower())
    if keys:
        for extra, kind in keys.items():
            if _NORMALISE.sub("", extra.lower()) == key:
                return kind
    found = FIELD_KINDS.get(key)
    if found is not None:
        return found
    for suffix, kind in _SUFFIX_KIND:
        if key.endswith(suffix):
            return kind
    return None


class _Redactor:
    __slots__ = ("clock", "keys", "kinds", "min_confidence", "presets", "secrets")

    def __init__(self, presets: Mapping[str, str] | None, kinds: Collection[str] | None,
                 min_confidence: float, keys: Mapping[str, str] | None,
                 pseudonym_key: bytes | Secret[bytes] | None,
                 ff1_key: bytes | Secret[bytes] | None, clock: Clock | None) -> None:
        chosen = dict(DEFAULT_PRESETS)
        for kind, name in (presets or {}).items():
            preset_for(kind, name)  # raises for unknown kinds and presets
            chosen[kind] = name
        if keys:
            for kind in keys.values():
                if kind not in MASK_KINDS and recognizer(kind) is None:
                    raise ConfigurationError(f"unknown kind {kind!r} in keys")
        self.presets = chosen
        self.kinds = kinds
        self.min_confidence = min_confidence
        self.keys = keys
        self.secrets = {"pseudonym_key": pseudonym_key, "ff1_key": ff1_key}
        self.clock = clock

    def mask(self, value: str, kind: str) -> str:
        if kind == "phone":
            folded = value.strip()
            kind = "phone" if folded.startswith(("+", "00")) and not folded.startswith(
                ("+86", "0086", "＋86")) else "cn_phone"
        return mask(value, kind, self.presets.get(kind), **self.secrets)

    def text(self, text: str) -> str:
        # What a mask keeps visible can join a neighbour into a new finding (the first
        # letter of an e-mail glued to a phone number): redact until nothing is found,
        # so redact(redact(t)) == redact(t). FF1 output is itself a valid-looking
        # number, so with the ff1 preset a single pass is made.
        passes = 1 if "ff1" in self.presets.values() else _MAX_PASSES
        for _ in range(passes):
            findings = scan(text, kinds=self.kinds, min_confidence=self.min_confidence,
                            clock=self.clock)
            if not findings:
                break
            out: list[str] = []
            pos = 0
            for f in findings:
                out.append(text[pos:f.start])
                out.append(self.mask(text[f.start:f.end], f.kind))
                pos = f.end
            out.append(text[pos:])
            text = "".join(out)
        return text

    def field(self, kind: str, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask(value, kind) if value else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.mask(str(value), kind)
        if isinstance(value, list | tuple):
            return type(value)(self.field(kind, v) for v in value)
        return self.any(value)

    def mapping(self, obj: Mapping[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            kind = kind_for_field(key, self.keys) if isinstance(key, str) else None
            out[key] = self.field(kind, value) if kind else self.any(value)
        return out

    def any(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, int) and not isinstance(obj, bool) and abs(obj) >= 100_000_000:
            # A number that validates as an identifier (a phone or card stored as an
            # integer) is found whatever its type: it comes back as masked text.
            text = str(obj)
            masked = self.text(text)
            return obj if masked == text else masked
        if isinstance(obj, Secret) or obj is None or isinstance(obj, bool | int | float
                                                                 | bytes):
            return obj
        if isinstance(obj, Mapping):
            return self.mapping(obj)
        if isinstance(obj, list):
            return [self.any(v) for v in obj]
        if isinstance(obj, tuple):
            if hasattr(obj, "_fields") and hasattr(obj, "_asdict"):  # a named tuple
                return type(obj)(**self.mapping(obj._asdict()))
            return tuple(self.any(v) for v in obj)
        if isinstance(obj, set | frozenset):
            return type(obj)(self.any(v) for v in obj)
        fields = getattr(type(obj), "model_fields", None)
        if isinstance(fields, Mapping) and hasattr(obj, "model_copy"):
            update = self._changes(obj, list(fields))
            return obj.model_copy(update=update) if update else obj
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            names = [f.name for f in dataclasses.fields(obj) if f.init]
            update = self._changes(obj, names)
            return dataclasses.replace(obj, **update) if update else obj
        return obj

    def _changes(self, obj: object, names: list[str]) -> dict[str, Any]:
        update: dict[str, Any] = {}
        for name in names:
            value = getattr(obj, name)
            kind = kind_for_field(name, self.keys)
            new = self.field(kind, value) if kind else self.any(value)
            if new is not value and new != value:
                update[name] = new
        return update


def redact(obj: T, *, presets: Mapping[str, str] | None = None,
           kinds: Collection[str] | None = None,
           min_confidence: float = DEFAULT_MIN_CONFIDENCE,
           keys: Mapping[str, str] | None = None,
           pseudonym_key: bytes | Secret[bytes] | None = None,
           ff1_key: bytes | Secret[bytes] | None = None,
           clock: Clock | None = None) -> T:
    """Return a copy of ``obj`` with every identifier masked in place.

    >>> redact("客户身份证11010519491231002X，手机13812345678")
    '客户身份证110***********002X，手机138****5678'
    >>> redact({"card_no": "4111111111111111", "memo": "call 13812345678"})
    {'card_no': '411111******1111', 'memo': 'call 138****5678'}

    Text is scanned (see :func:`scan`) and each finding replaced by its kind's preset
    (:data:`DEFAULT_PRESETS`, overridden per kind by ``presets``). Dicts, lists and
    tuples are copied; a value under a sensitive key name (``id_number``, ``card_no``,
    ``phone``, ``身份证号``, ``姓名`` … see :data:`FIELD_KINDS`, extended by ``keys``) is
    masked whole, valid or not; other strings are scanned. Named tuples, sets,
    pydantic models (anything with ``model_fields`` and ``model_copy``) and
    dataclasses are copied with their fields redacted (models without
    re-validation). An integer that validates as an identifier (a phone number or a
    card number stored as a number) comes back as masked text wherever it sits.
    :class:`~finprivacy.Secret` values, bytes, other numbers (outside sensitive keys)
    and other objects are returned unchanged: redact what you log or export, not
    opaque objects.
    """
    result: T = _Redactor(presets, kinds, min_confidence, keys, pseudonym_key, ff1_key,
                          clock).any(obj)
    return result


def redact_text(text: str, **options: Any) -> str:
    """Redact a string as text (the same as :func:`redact` on a ``str``)."""
    if not isinstance(text, str):
        raise FormatError(f"redact_text() takes text, not {type(text).__name__}")
    result: str = redact(text, **options)
    return result


def redact_json(document: str | bytes, **options: Any) -> str:
    """Parse a JSON document, redact it by key names and values, and serialise it again.

    >>> redact_json('{"身份证号": "11010519491231002X", "note": "ok"}')
    '{"身份证号": "110***********002X", "note": "ok"}'

    Invalid JSON raises :class:`~finprivacy.errors.FormatError` (never quoting it).
    """
    try:
        data = json.loads(document)
    except (ValueError, TypeError):
        raise FormatError("redact_json() was given a document that is not valid JSON") from None
    return json.dumps(redact(data, **options), ensure_ascii=False)


def mask_field(name: str, value: T, **options: Any) -> T | str:
    """Mask one field by its name: the whole value if the name is sensitive, else redact it.

    >>> mask_field("card_no", "6222020200112233446")
    '622202*********3446'
    >>> mask_field("memo", "refund to 13812345678")
    'refund to 138****5678'

    Accepts the keyword options of :func:`redact`. Numbers under a sensitive name come
    back as masked text. For access-control code that shows a record field by field.
    """
    redactor = _Redactor(options.pop("presets", None), options.pop("kinds", None),
                         options.pop("min_confidence", DEFAULT_MIN_CONFIDENCE),
                         options.pop("keys", None), options.pop("pseudonym_key", None),
                         options.pop("ff1_key", None), options.pop("clock", None))
    if options:
        raise ConfigurationError(f"unknown option(s) {', '.join(sorted(options))}")
    kind = kind_for_field(name, redactor.keys)
    result: T | str = redactor.field(kind, value) if kind else redactor.any(value)
    return result
