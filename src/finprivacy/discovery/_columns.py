"""What one column holds: its name's hint, and its sampled values through the detectors."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ..crypto import is_token
from ..errors import InvalidInputError
from ..identifiers import known_kinds
from ..masking import mask, scan

__all__ = ["NAME_HINTS", "ColumnFinding", "analyse_column", "name_hint"]

# Column-name hints as real schemas spell them: Chinese, English, pinyin initials.
NAME_HINTS: Mapping[str, tuple[str, ...]] = {
    "cn_id": ("身份证", "证件号", "idcard", "id_card", "idno", "id_no", "id_number",
              "identity_no", "sfz", "sfzh", "sfzhm", "zjhm", "cert_no", "certno"),
    "bank_card": ("银行卡", "卡号", "card_no", "cardno", "card_number", "bank_card", "bankcard",
                  "pan", "yhkh", "khkh", "kh"),
    "cn_bank_account": ("账号", "账户", "account_no", "acct_no", "acct", "bank_account",
                        "yhzh", "zh"),
    "cn_phone": ("手机", "电话", "联系电话", "mobile", "phone", "tel", "telephone", "cellphone",
                 "sjhm", "sjh", "lxdh", "dh"),
    "email": ("邮箱", "电子邮件", "email", "e_mail", "mail", "yx", "dzyx"),
    "cn_uscc": ("统一社会信用代码", "信用代码", "uscc", "credit_code", "tyshxydm", "xydm"),
    "iban": ("iban",),
    "cn_passport": ("护照", "passport", "hzh", "hzhm"),
    "us_ssn": ("ssn", "social_security"),
}
"""Name fragments per kind (lower-case; matched against the column name's tokens)."""

_SPLIT = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def name_hint(column: str) -> str | None:
    """Return the kind a column's name suggests, or ``None``.

    Chinese fragments match anywhere in the name; English and pinyin ones must be a
    whole token or run of tokens (``id_no``, ``cust_sfzh``, ``MobilePhone``), so
    ``idx`` or ``phonetic`` do not match.
    """
    raw = _CAMEL.sub("_", column).lower()
    tokens = [t for t in _SPLIT.split(raw) if t]
    joined = "_".join(tokens)
    for kind, hints in NAME_HINTS.items():
        for h in hints:
            if not h.isascii():
                if h in column:
                    return kind
            elif h in tokens or (("_" in h) and (f"_{h}_" in f"_{joined}_")):
                return kind
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnFinding:
    """What discovery found in one column (no values, only masked examples)."""

    table: str
    column: str
    kind: str | None
    """The personal-data kind the column holds, or ``None``."""
    confidence: float
    """0–1: the share of values that matched, raised a little by a name hint."""
    sampled: int
    """Non-empty values looked at."""
    matched: int
    """Values that are the kind (checksum-validated, whole cell)."""
    name_hint: str | None
    """The kind the name suggests, even when the values disagree (a decoy)."""
    tokens: Mapping[str, int]
    """finprivacy tokens found, by key id: the column is already encrypted."""
    example: str = ""
    """One matched value, masked."""

    @property
    def personal(self) -> bool:
        """Holds personal data (plaintext or encrypted)."""
        return self.kind is not None or bool(self.tokens)

    def as_dict(self) -> dict[str, object]:
        """Return the JSON form (the stable schema in docs/reference/discover.md)."""
        return {"table": self.table, "column": self.column, "kind": self.kind,
                "confidence": round(self.confidence, 3), "sampled": self.sampled,
                "matched": self.matched, "name_hint": self.name_hint,
                "tokens": dict(self.tokens), "example": self.example}


def _whole(value: str, kinds: frozenset[str] | None) -> str | None:
    text = value.strip()
    if not text or len(text) > 64:
        return None
    for f in scan(text, kinds=kinds):
        if f.start == 0 and f.end == len(text):
            return f.kind
    return None


def analyse_column(table: str, column: str, values: Iterable[object], *,
                   min_share: float = 0.5,
                   kinds: Iterable[str] | None = None) -> ColumnFinding:
    """Decide what ``values`` (a sample of the column) hold.

    A column is of a kind when at least ``min_share`` of its non-empty values are,
    whole and checksum-validated. A name hint adds 0.05 to the confidence but never
    makes a kind by itself: ``id_no`` holding a sequence is a decoy, not an ID column.
    """
    chosen = frozenset(kinds) if kinds is not None else None
    if chosen is not None and not chosen <= set(known_kinds()):
        raise InvalidInputError(f"unknown kinds: {sorted(chosen - set(known_kinds()))}")
    hint = name_hint(column)
    counts: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    sampled = 0
    example = ""
    for raw in values:
        if raw is None:
            continue
        value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if not value.strip():
            continue
        sampled += 1
        if value[:2] == "fp" and is_token(value):
            tokens[value.split(".")[1]] += 1
            continue
        found = _whole(value, chosen)
        if found is not None:
            counts[found] += 1
            if not example:
                try:
                    example = mask(value.strip(), kind=found)
                except Exception:
                    example = "****"
    kind: str | None = None
    matched = 0
    confidence = 0.0
    if counts and sampled:
        kind, matched = counts.most_common(1)[0]
        share = matched / sampled
        if share >= min_share:
            confidence = min(1.0, share + (0.05 if hint == kind else 0.0))
        else:
            kind, example = None, ""
    if kind is None and tokens and sampled:
        confidence = sum(tokens.values()) / sampled
    return ColumnFinding(table, column, kind, confidence, sampled, matched, hint,
                         dict(tokens), example if kind else "")

