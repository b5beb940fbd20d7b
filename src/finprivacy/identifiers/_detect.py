"""The detection engine behind :func:`finprivacy.scan` and every ``find()``.

A text with no digit and no ``@`` returns at once. Full-width digits and letters,
U+3000 and a few symbols are folded one character for one, so offsets always point
into the original text. One regular expression (starting with a character class, so
the engine skips in C) finds each candidate with a prefilter and then reads it: an
IBAN start, an upper-case code (credit codes, passports, IDs ending in X) or a digit
run (with ``+``, brackets, and single spaces or dashes between groups). Each
candidate is validated with its checksum or structure, and its confidence raised or
lowered by the nearest context word before it (the context words of a text are found
in one pass, on first use). Overlaps are resolved by confidence, then length.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Collection
from typing import Any

from ..clock import Clock, SystemClock
from . import (
    bank_card,
    cn_bank_account,
    cn_id,
    cn_passport,
    cn_phone,
    cn_uscc,
    email,
    iban,
    phone,
    us_ssn,
)
from ._checksums import luhn_valid
from ._finding import Finding, finding_of
from ._registry import Recognizer, install_scanner, register_builtin, user_recognizers
from ._util import fold_width

__all__ = ["DEFAULT_MIN_CONFIDENCE", "KINDS", "detect"]

# The built-in kinds, in a stable order: each module's recognizer is registered here,
# and this scanner installed for the modules' find() functions.
_MODULES = (cn_id, cn_uscc, bank_card, iban, cn_phone, phone, email, us_ssn, cn_passport,
            cn_bank_account)
for _module in _MODULES:
    register_builtin(_module.RECOGNIZER)

#: Every built-in kind the scanner reports, in a stable order (registered kinds follow:
#: :func:`~finprivacy.identifiers.known_kinds`).
KINDS: tuple[str, ...] = tuple(m.KIND for m in _MODULES)

#: Findings below this confidence are dropped unless the caller asks for them.
DEFAULT_MIN_CONFIDENCE = 0.5

# Context words that raise a kind's confidence: each recognizer's own.
_POSITIVE: dict[str, tuple[str, ...]] = {m.KIND: m.RECOGNIZER.context for m in _MODULES}
_NEGATIVE = ("订单号", "订单", "单号", "流水号", "流水", "发票号码", "发票代码", "发票",
             "序列号", "编号", "批次", "快递", "运单", "物流", "金额", "客服", "热线",
             "工号", "合同号", "型号", "order", "invoice", "serial", "s/n", "sn", "ref",
             "reference", "tracking", "amount", "hotline", "batch", "sku", "model", "txn",
             "transaction")

_SQUASH = str.maketrans("", "", " _-")


def _variants(word: str) -> tuple[str, ...]:
    """Spellings of an English context phrase: ``card no``, ``card_no``, ``card-no``, ``cardno``."""
    if " " not in word:
        return (word,)
    return tuple(word.replace(" ", sep) for sep in (" ", "_", "-", ""))


_WORDS: dict[str, tuple[frozenset[str], bool]] = {}
for _kind, _words in _POSITIVE.items():
    for _w in _words:
        _old = _WORDS.get(_w.translate(_SQUASH), (frozenset(), False))
        _WORDS[_w.translate(_SQUASH)] = (_old[0] | {_kind}, False)
for _w in _NEGATIVE:
    _WORDS.setdefault(_w.translate(_SQUASH), (frozenset(), True))
# Every spelling the keyword pattern can match (lower-cased), straight to its entry.
_BY_SPELLING: dict[str, tuple[frozenset[str], bool]] = {
    v: _WORDS[v.translate(_SQUASH)]
    for w in [*(w for ws in _POSITIVE.values() for w in ws), *_NEGATIVE]
    for v in (_variants(w) if w.isascii() else (w,))
}


_END = "\x00"  # marks the end of an English word in the trie: no letter may follow


def _trie_regex(ascii_words: list[str], cjk_words: list[str], *,
                after_non_letter: bool = False) -> str:
    """Build one prefix-factored alternation of every context word.

    Every alternative starts with a literal character, so the regular expression
    engine skips, in C, the positions where no word can start. English words must
    not touch other letters, nor follow a digit: the check before the word sits after
    its first letter (``(?<![a-z0-9].)``), the check after it at the word's end. With
    ``after_non_letter`` the pattern instead reads the character before the word
    (``[^a-z0-9]``), so the engine tries word starts only, skipping letters and digits
    (the bulk of prose and of exports) in C.
    """
    trie: dict[str, Any] = {}
    for word in [w + _END for w in ascii_words] + cjk_words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any], depth: int) -> str:
        alts = []
        for ch, child in sorted(node.items(), key=lambda kv: (kv[0] == _END, kv[0])):
            if ch == _END:
                alts.append("(?![a-z])")  # last, so longer words are tried first
            elif ch:
                first = "(?<![a-z0-9].)" if (depth == 0 and ch.isascii()
                                          and not after_non_letter) else ""
                alts.append(re.escape(ch) + first + build(child, depth + 1))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node and depth else body

    return "[^a-z0-9](?:" + build(trie, 0) + ")" if after_non_letter else build(trie, 0)


def _kw_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    phrases = [w for ws in _POSITIVE.values() for w in ws] + list(_NEGATIVE)
    ascii_words = sorted({v for w in phrases if w.isascii() for v in _variants(w)})
    cjk_words = sorted({w for w in phrases if not w.isascii()})
    return (re.compile(_trie_regex(ascii_words, cjk_words)),
            re.compile(_trie_regex(ascii_words, [], after_non_letter=True)))


# Every context word, and the English ones read after the character before them (for
# ASCII text, which has no Chinese words: a space goes in front of the text).
_KW, _KW_ASCII = _kw_patterns()
_WINDOW = 24
_NO_CONTEXT: tuple[str, frozenset[str], bool] = ("", frozenset(), False)
_MATCH_END = re.Match.end

# One search finds the next candidate. Its first element is a character class, so
# the regular expression engine skips, in C, every character that cannot start one.
# The prefilter after it: no letter or digit before; a digit run of 8+ characters
# (separators included) or an upper-case letter followed by a digit within three
# characters (IBAN, passport, credit code). Then the candidate itself is read from the
# same start by a lookahead (inside a one-character lookbehind, so it starts at the
# first character again) whose named groups give the kind and the span: an IBAN
# start, an upper-case code (credit codes, passports, IDs ending in X) or a digit run
# (with "+", brackets, and single spaces or dashes between groups).
_CANDIDATE = re.compile(
    r"[+(0-9A-Z](?<![0-9A-Za-z].)"
    r"(?:(?<=[+(0-9])(?=[0-9 ()\-]{7})|(?<=[A-Z])(?=[0-9A-Z]{0,2}[0-9]))"
    r"(?<=(?=(?:"
    r"(?P<iban>[A-Z]{2}[0-9]{2}(?=\ ?[0-9A-Z]{4}))"
    r"|(?P<code>(?=[0-9A-Z]{0,17}[A-Z])[0-9A-Z]{9,18}+(?![0-9A-Za-z]))"
    r"|(?P<num>(?:\+|\((?=\d{2,4}\)))?\d++(?:(?:\)\ ?|\ ?\(|\ ?-\ ?|\ {1,2})\d++)*+"
    r"(?:[Xx](?![0-9A-Za-z]))?)"
    r")).)",
    re.ASCII,
)
_IBAN_LABEL = re.compile(r"[Ii][Bb][Aa][Nn](?=[A-Z]{2}[0-9]{2})")
_IBAN_CTX = frozenset(("iban",))
_CODE = re.compile(r"(?=[0-9A-Z]{0,17}[A-Z])[0-9A-Z]{9,18}+(?![0-9A-Za-z])")
_ALNUM_RUN = re.compile(r"[0-9A-Za-z]+")
_DIGITS = re.compile(r"\d+", re.ASCII)
# The first element is a character class (the engine skips other characters in C);
# the check that no address character comes before sits after it. Possessive local
# part: its runs end at "." or "@", which they cannot contain, so nothing to give back.
_EMAIL = re.compile(
    r"[A-Za-z0-9_%+\-](?<![A-Za-z0-9._%+\-].)[A-Za-z0-9_%+\-]*+(?:\.[A-Za-z0-9_%+\-]++)*+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+"
    r"(?![A-Za-z0-9\-])"
)
_TLD = re.compile(r"[A-Za-z]{2,24}")
_HAS_DIGIT = re.compile(r"[0-9\uff10-\uff19]")
_ASCII_DIGIT = re.compile(r"[0-9]")

_NANP_EXCLUDED = frozenset(("400", "800", "833", "844", "855", "866", "877", "888", "900"))
_MULTI_GROUP_KINDS = frozenset(("cn_phone", "phone", "us_ssn"))
_Cand = tuple[str, float, str]  # kind, confidence, normalised value
_Found = Finding


class _Context:
    """The context words of one text, found in one pass on first use.

    :meth:`at` returns the nearest word ending before a candidate, within
    ``_WINDOW`` characters and with no digit in between.
    """

    __slots__ = ("_ends", "_matches", "_shift", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._matches: list[re.Match[str]] | None = None
        self._ends: list[int] = []
        self._shift = 0

    def _find(self) -> list[re.Match[str]]:
        text = self._text
        if text.isascii():
            # " " + text: a match spans the character before the word, which sits
            # at the word's own offset in text; the word ends one further on.
            matches = self._matches = list(_KW_ASCII.finditer(" " + text.lower()))
            self._ends = [m.end() - 1 for m in matches]
            self._shift = 1
        else:
            lowered = text.lower()
            if len(lowered) != len(text):  # some characters lower-case to two
                lowered = text
            matches = self._matches = list(_KW.finditer(lowered))
            self._ends = list(map(_MATCH_END, matches))
        return matches

    def any(self) -> bool:
        """Whether the text holds any context word (found now if not yet)."""
        matches = self._matches
        if matches is None:
            matches = self._find()
        return bool(matches)

    def at(self, start: int) -> tuple[str, frozenset[str], bool]:
        matches = self._matches
        text = self._text
        if matches is None:
            matches = self._find()
        i = bisect_right(self._ends, start) - 1
        if i < 0:
            return _NO_CONTEXT
        match = matches[i]
        shift = self._shift
        s, e = match.span()
        e -= shift
        if s < start - _WINDOW or (e < start and _ASCII_DIGIT.search(text, e, start)):
            return _NO_CONTEXT
        kinds, neg = _BY_SPELLING[match.group()[shift:]]
        return text[s:e], kinds, neg


_ContextAt = Callable[[int], tuple[str, frozenset[str], bool]]


def _no_context(start: int) -> tuple[str, frozenset[str], bool]:
    """:meth:`_Context.at` for a text without context words."""
    return _NO_CONTEXT


_BASES = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97)  # every base confidence used below
_LOWERED = {b: round(b - 0.45, 2) for b in _BASES}
_RAISED = {b: min(0.99, round(b + 0.1, 2)) for b in _BASES}


def _score(kind: str, base: float, ctx: frozenset[str], neg: bool) -> float:
    if neg:
        return _LOWERED[base]
    if kind in ctx:
        return _RAISED[base]
    return base


def _international(digits: str, ctx: frozenset[str], neg: bool) -> _Cand | None:
    """Classify the digits after ``+`` or ``00``: mainland (+86) or any E.164 number."""
    if digits.startswith("86"):
        national = digits[2:]
        if national.startswith("1") and cn_phone._problem(national) is None:
            return "cn_phone", _score("cn_phone", 0.9, ctx, neg), national
        if cn_phone._problem("0" + national) is None:
            return "cn_phone", _score("cn_phone", 0.85, ctx, neg), "0" + national
        return None
    value = "+" + digits
    if phone._problem(value) is None:
        return "phone", _score("phone", 0.85, ctx, neg), value
    return None


class _Today:
    """Today's date (``YYYYMMDD``) from a given clock, read only when a birth date needs it."""

    __slots__ = ("_clock", "_key")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._key = ""

    @property
    def key(self) -> str:
        if not self._key:
            self._key = cn_id._today(self._clock)
        return self._key


class _SystemToday:
    """Today's date (``YYYYMMDD``) from the system clock, kept until the next UTC midnight."""

    __slots__ = ("_day",)

    def __init__(self) -> None:
        self._day = ("", 0.0, 0.0)  # key, first and after-last second (POSIX time) of the day

    @property
    def key(self) -> str:
        key, since, until = self._day
        if since <= time.time() < until:
            return key
        day = SystemClock().now().date()
        since = _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC).timestamp()
        key = cn_id._day_key(day)
        self._day = key, since, since + 86_400.0
        return key


_SYSTEM_TODAY = _SystemToday()
_AnyToday = _Today | _SystemToday


def _classify(d: str, glens: tuple[int, ...], plus: bool, paren: bool, today: _AnyToday,
              ctx: frozenset[str], neg: bool, multi_part: bool, intl00: bool) -> _Cand | None:
    """Classify the digits ``d`` of one candidate run (``X`` allowed at the end)."""
    n = len(d)
    if plus or (intl00 and len(glens) > 1 and d.startswith("00")):
        intl = _international(d if plus else d[2:], ctx, neg)
        if intl is not None or plus:
            return intl
    if not multi_part:
        if n == 18:
            problem = cn_id._problem(d, today.key)
            if problem is None:
                if "bank_card" in ctx and bank_card._problem(d) is None:
                    return "bank_card", _score("bank_card", 0.85, ctx, neg), d
                return "cn_id", _score("cn_id", 0.95, ctx, neg), d
            if problem[0] == "checksum":  # d is digits (and X): all but the check passed
                return None  # a resident ID with a typo: not a card or a credit code
            if "cn_uscc" in ctx and cn_uscc._problem(d) is None:
                # an all-digit credit code looks like any 18-digit number: context only
                return "cn_uscc", _score("cn_uscc", 0.9, ctx, neg), d
        elif n == 15 and "cn_id" in ctx and cn_id._problem(d, today.key) is None:
            return "cn_id", _score("cn_id", 0.75, ctx, neg), d
        if 12 <= n <= 19 and d.isdigit() and bank_card._issuer(d) is not None \
                and luhn_valid(d):  # bank_card._problem() for ASCII digits
            return "bank_card", _score("bank_card", 0.85, ctx, neg), d
    if (n == 11 and d[0] == "1" and glens != (1, 3, 3, 4)  # 1-800-275-2273 is NANP
            and cn_phone._MOBILE.fullmatch(d) is not None):
        return "cn_phone", _score("cn_phone", 0.8, ctx, neg), d
    if d[0] == "0" and 10 <= n <= 12 and cn_phone._LANDLINE.fullmatch(d) is not None:
        area = 3 if d[1] in "12" else 4
        if paren or glens[0] == area or (len(glens) > 1 and glens[0] == area - 1) \
                or "cn_phone" in ctx:
            return "cn_phone", _score("cn_phone", 0.7, ctx, neg), d
    if n == 9:
        if glens == (3, 2, 4):
            if us_ssn._problem(d) is None:
                return "us_ssn", _score("us_ssn", 0.8, ctx, neg), d
        elif len(glens) == 1 and "us_ssn" in ctx and us_ssn._problem(d) is None:
            return "us_ssn", _score("us_ssn", 0.75, ctx, neg), d
    if "phone" in ctx and (glens == (3, 3, 4) or (glens == (1, 3, 3, 4) and d[0] == "1")):
        nanp = d[-10:]
        if (nanp[0] in "23456789" and nanp[1:3] != "11" and nanp[:3] not in _NANP_EXCLUDED
                and nanp[3] in "23456789"):
            return "phone", _score("phone", 0.75, ctx, neg), "+1" + nanp
    if (not multi_part and "cn_bank_account" in ctx and not neg and 10 <= n <= 25
            and d.isdigit()):
        return "cn_bank_account", 0.8, d
    return None


_ODD_BEFORE = ".:/-_#"
_ODD_AFTER = ".:/-_"


def _start_ok(text: str, start: int) -> bool:
    """Return whether a digit run may start here.

    Not the fraction of an amount, part of a time or date, or the tail of a compound
    code (``ORD-``, ``A_``).
    """
    if start >= 2:
        prev = text[start - 1]
        if prev in _ODD_BEFORE:
            prev2 = text[start - 2]
            if (prev in ".:/" and prev2.isdigit()) or (prev in "-_/#" and prev2.isascii()
                                                       and prev2.isalnum()):
                return False
    return True


def _end_ok(text: str, end: int) -> bool:
    """Return whether a digit run may end here.

    No letter glued on; not the integer part of an amount (``123456789.50``), a time,
    a date or the head of a compound code.

    A comma is never a reason: identifiers in CSV rows sit between commas, and the
    groups of an amount with thousands separators (``1,234,567``) are three digits
    long, far shorter than any identifier.
    """
    if end < len(text):
        nxt = text[end]
        if nxt.isascii():
            if nxt.isalpha():
                return False
            if nxt in _ODD_AFTER and end + 1 < len(text):
                nxt2 = text[end + 1]
                if (nxt in ".:/" and nxt2.isdigit()) or (nxt in "-_/" and nxt2.isascii()
                                                         and nxt2.isalnum()):
                    return False
    return True


# Inside a run: digit groups joined by one kind of separator, at most six groups (a
# phone number or an SSN written in groups). The separator is captured, so a run that
# changes separators (``789-04-4433 555-12-3456``) splits where it changes.
_SEGMENT = re.compile(r"\d++(?P<sep>\ ?-\ ?|\ )\d++(?:(?P=sep)\d++){0,4}+", re.ASCII)
# A country code and one long group, at the start of a run that goes on.
_INTL_HEAD = re.compile(r"\+\d{1,4}(?:\ ?-\ ?|\ )\d{6,14}+(?![0-9Xx])", re.ASCII)
# A group long enough to be an identifier on its own (with the X of a resident ID).
# Longest run read as one number: 34 digits (an IBAN's most), each after a separator
# of up to three characters (" - ").
_MAX_WHOLE_RUN = 34 * 4
_LONG_GROUP = re.compile(r"\d{9,}+(?:[Xx](?![0-9A-Za-z]))?", re.ASCII)


def _numbers(folded: str, start: int, end: int, today: _AnyToday,
             ctx_at: _ContextAt, start_ok: bool, end_ok: bool) -> list[_Found] | None:
    """Return (start, end, candidate, context word) tuples for one digit run.

    The run is digits, optionally after ``+`` or ``(``, with single spaces, dashes or
    brackets between groups and an optional final ``X``. The whole run is tried first
    (when both its ends are clean); if it is no identifier, its parts are: each group
    of nine or more digits on its own (numbers written next to each other), and each
    stretch of two to six groups joined by one kind of separator that is a whole
    stretch (a phone or an SSN in groups, set apart from its neighbours by another
    separator). A stretch that continues with the same separator is part of a longer
    number (a card in groups of four) and is never reported on its own. A part
    touching an end of the run needs that end to be clean. ``ctx_at`` gives the
    context word before an offset.
    """
    token = folded[start:end]
    xs = token[-1] in "Xx"
    if token.isdigit() or (xs and token[:-1].isdigit()):  # contiguous: the common case
        if not (start_ok and end_ok):
            return None
        d = token[:-1] + "X" if xs else token
        word, ctx, neg = ctx_at(start)
        cand = _classify(d, (len(d) - xs,), False, False, today, ctx, neg,
                         False, True)
        if cand is None or (xs and cand[0] != "cn_id"):
            return None
        return [finding_of(start, end, cand, word)]
    plus = token[0] == "+"
    paren = token[0] == "("
    if start_ok and end_ok and end - start <= _MAX_WHOLE_RUN:
        parts = _DIGITS.findall(token)
        d = "".join(parts) + "X" if xs else "".join(parts)
        if 9 <= len(d) <= 34:
            word, ctx, neg = ctx_at(start)
            cand = _classify(d, tuple(map(len, parts)), plus, paren, today, ctx, neg,
                             multi_part=False, intl00=True)
            if cand is not None and not (xs and cand[0] != "cn_id"):
                return [finding_of(start, end, cand, word)]
    found: list[_Found] = []
    first = start + 1 if (plus or paren) else start
    if plus and (head := _INTL_HEAD.match(folded, start, end)) is not None \
            and head.end() < end:
        # "+86 13812345678 13912345678": the country code belongs to the first number.
        head_parts = _DIGITS.findall(head.group())
        word, ctx, neg = ctx_at(start)
        cand = _classify("".join(head_parts), tuple(map(len, head_parts)), True, False,
                         today, ctx, neg,
                         multi_part=True, intl00=True)
        if cand is not None:
            found.append(finding_of(start, head.end(), cand, word))
    for group in _LONG_GROUP.finditer(folded, first, end):
        s0, e0 = group.span()
        if (s0 == first and not start_ok) or (e0 == end and not end_ok):
            continue
        if s0 == first and e0 == end:
            continue  # the whole run, tried above
        d = group.group()
        with_x = d[-1] in "Xx"
        if with_x:
            d = d[:-1] + "X"
        word, ctx, neg = ctx_at(s0)
        cand = _classify(d, (len(d) - with_x,), plus and s0 == first, False, today, ctx,
                         neg, False, s0 == first)
        if cand is not None and not (with_x and cand[0] != "cn_id"):
            found.append(finding_of(s0, e0, cand, word))
    pos = start
    while (seg := _SEGMENT.search(folded, pos, end)) is not None:
        s0, e0 = seg.span()
        sep = seg.group("sep")
        # The next stretch may begin with this one's last group, joined to what follows
        # by another separator (``6222020200112233446 536-90-4399``).
        pos = e0 - len(seg.group().rpartition(sep)[2])
        n_digits = e0 - s0 - (seg.group().count(sep) * len(sep))
        if not 9 <= n_digits <= 20:  # at most 15 digits, and an extension
            continue
        if folded.startswith(sep, e0) and e0 + len(sep) < end \
                and folded[e0 + len(sep)].isdigit():
            continue  # the same separator goes on: part of a longer number
        if s0 - len(sep) >= start and folded.startswith(sep, s0 - len(sep)) \
                and folded[s0 - len(sep) - 1].isdigit():
            continue
        at_start = s0 == first
        if (at_start and not start_ok) or (e0 == end and not end_ok):
            continue
        whole = at_start and e0 == end  # tried above, but maybe not without an extension
        if at_start and paren:
            continue  # "(010) ..." is read whole or not at all
        parts = seg.group().split(sep)
        word, ctx, neg = ctx_at(s0)
        cand = None
        if not whole:
            cand = _classify("".join(parts), tuple(map(len, parts)), plus and at_start,
                             False, today, ctx, neg, multi_part=True, intl00=at_start)
        if (cand is None or cand[0] not in _MULTI_GROUP_KINDS) and len(parts) >= 3 \
                and len(parts[-1]) <= 5:
            # An extension after the number (010-62345678-8001): the number without it.
            parts.pop()
            e0 = s0 + len(seg.group().rpartition(sep)[0])
            cand = _classify("".join(parts), tuple(map(len, parts)), plus and at_start,
                             False, today, ctx, neg, multi_part=True, intl00=at_start)
        if cand is not None and cand[0] in _MULTI_GROUP_KINDS:
            if at_start and plus:
                s0 = start
            found.append(finding_of(s0, e0, cand, word))
            pos = e0
    return found


def _iban_shape(country: str) -> re.Pattern[str]:
    """Compile the shape of an IBAN of ``country`` as written.

    Its registry format, single spaces allowed between any two characters after the
    country code, nothing alphanumeric after it.
    """
    classes = {"n": "[0-9]", "a": "[A-Z]", "c": "[0-9A-Z]"}  # upper case only in text
    body = "".join(r"\ ?" + classes[k] for k in iban.BBAN_LAYOUTS[country])
    return re.compile(f"{country}[0-9]{{2}}{body}(?![0-9A-Za-z])")


_IBAN_SHAPES = {country: _iban_shape(country) for country in iban.BBAN_LAYOUTS}


def _iban_end(folded: str, start: int) -> tuple[int, str] | None:
    """Read an IBAN from ``start`` (paper or electronic format); return its end and value.

    The value is empty when the text has an IBAN's shape but fails the check digits.
    """
    shape = _IBAN_SHAPES.get(folded[start:start + 2])
    if shape is None:
        return None
    m = shape.match(folded, start)
    if m is None:
        return None
    value = m.group().replace(" ", "")
    return (m.end(), value) if iban._problem(value) is None else (m.end(), "")


def _codes(folded: str, start: int, end: int, today: _AnyToday,
           ctx_words: _Context) -> _Found | None:
    """Classify an upper-case code: resident ID (ending in X), credit code or passport."""
    token = folded[start:end]
    n = len(token)
    if n == 18:
        digits = token[:17].isdigit()
        if digits and cn_id._problem(token, today.key) is None:
            kind, base = "cn_id", 0.95
        elif cn_uscc._problem(token) is None and not (
                digits and cn_id._shape_problem(token, today.key) is None):
            # a credit code, unless it is a resident ID with a wrong last character
            kind, base = "cn_uscc", 0.95
        else:
            return None
    elif n == 9 and cn_passport._PATTERN.fullmatch(token) is not None:
        kind, base = "cn_passport", 0.6
    else:
        return None
    word, ctx, neg = ctx_words.at(start)  # the context only scores a code
    return finding_of(start, end, (kind, _score(kind, base, ctx, neg), token), word)


def _span_key(f: Finding) -> tuple[int, int, str, float, str, str]:
    return f.start, f.end, f.kind, f.confidence, f.value.reveal(), f.context


def _rank_key(f: Finding) -> tuple[float, int, int]:
    return -f.confidence, f.start - f.end, f.start


def _in_order_apart(findings: list[Finding]) -> bool:
    """Whether each finding starts at or after the end of the one before."""
    last_end = -1
    for f in findings:
        if f.start < last_end:
            return False
        last_end = f.end
    return True


def _resolve(raw: list[Finding], min_confidence: float) -> list[Finding]:
    """Keep the confident findings; where they overlap, the more confident, then longer, wins."""
    kept = [f for f in raw if f.confidence >= min_confidence]
    if _in_order_apart(kept):
        return kept  # in order, nothing overlaps (the common case): all kept
    kept.sort(key=_span_key)
    if _in_order_apart(kept):
        return kept  # found out of order (a later pass), but no overlap
    ranked = sorted(kept, key=_rank_key)
    # Greedy by rank; the accepted spans are kept sorted by start, so each new span is
    # checked against its two neighbours only (large texts have many findings).
    starts: list[int] = []
    taken: list[Finding] = []
    for f in ranked:
        i = bisect_right(starts, f.start)
        if (i and taken[i - 1].end > f.start) or (i < len(taken) and taken[i].start < f.end):
            continue
        starts.insert(i, f.start)
        taken.insert(i, f)
    return taken


def _joins(c: str) -> bool:
    """Whether ``c`` continues a word: a letter or digit of a spaced script."""
    return c.isalnum() and (c.isascii() or unicodedata.category(c) != "Lo")


def _registered(folded: str, users: tuple[Recognizer, ...], kinds: Collection[str] | None,
                ctx_words: _Context) -> list[Finding]:
    """Find the application's kinds: each recognizer's pattern, then its validation.

    A candidate that touches a letter or digit on either side is no match (its pattern
    may say more); Chinese (and other unspaced scripts') characters are not such
    letters, so ``工号EMP-004211`` is found as the built-in kinds are after 卡号.
    Its own context words raise its confidence by 0.1, the negative words
    (订单号, invoice …) lower it as they lower the built-in kinds'.
    """
    found: list[Finding] = []
    n = len(folded)
    for rec in users:
        if kinds is not None and rec.kind not in kinds:
            continue
        for m in rec.pattern.finditer(folded):  # type: ignore[union-attr]
            s, e = m.span()
            if s == e or (s and _joins(folded[s - 1]) and folded[s].isalnum()) or (
                    e < n and _joins(folded[e]) and folded[e - 1].isalnum()):
                continue
            value = rec.check(m.group())
            if value is None:
                continue
            word, _, neg = ctx_words.at(s)
            own = rec.context_before(folded, s)
            if neg and not own:
                confidence = max(0.05, round(rec.confidence - 0.45, 2))
            elif own:
                word, confidence = own, min(0.99, round(rec.confidence + 0.1, 2))
            else:
                word, confidence = "", rec.confidence
            found.append(finding_of(s, e, (rec.kind, confidence, value), word))
    return found


def detect(text: str, *, kinds: Collection[str] | None = None,
           min_confidence: float = DEFAULT_MIN_CONFIDENCE,
           clock: Clock | None = None) -> list[Finding]:
    """Return the non-overlapping findings in ``text``, in order of position."""
    users = user_recognizers()
    has_at = "@" in text or "＠" in text
    if not has_at and not users and _HAS_DIGIT.search(text) is None:
        return []
    folded = text if text.isascii() else fold_width(text)
    today = _SYSTEM_TODAY if clock is None else _Today(clock)
    ctx_words = _Context(folded)
    raw: list[_Found] = []
    if users:
        raw += _registered(folded, users, kinds, ctx_words)
    pos = 0
    candidate = _CANDIDATE.search
    ctx_at: _ContextAt | None = None
    classify = _classify
    while (m := candidate(folded, pos)) is not None:  # each from the end of the last
        kind = m.lastgroup
        s, e = m.span(kind)  # type: ignore[arg-type]  # one of the three groups matched
        if kind == "num":
            # Shorter runs (amounts, dates, hotlines) hold no identifier.
            if e - s >= 9:
                # The common neighbours (space, comma, CJK) need no closer look.
                start_ok = s < 2 or folded[s - 1] not in _ODD_BEFORE or _start_ok(folded, s)
                nxt = folded[e:e + 1]
                end_ok = (not nxt or (nxt not in _ODD_AFTER and not nxt.isalpha())
                          or _end_ok(folded, e))
                if ctx_at is None:  # found now: a text without context words skips it
                    ctx_at = ctx_words.at if ctx_words.any() else _no_context
                if start_ok and end_ok and (token := folded[s:e]).isdigit():
                    # _numbers' common case, inlined: plain digits with clean ends.
                    word, ctx, neg = ctx_at(s)
                    cand = classify(token, (e - s,), False, False, today, ctx, neg,
                                    False, True)
                    if cand is not None:
                        raw.append(finding_of(s, e, cand, word))
                elif start_ok or end_ok:
                    found = _numbers(folded, s, e, today, ctx_at, start_ok, end_ok)
                    if found:
                        raw += found
                if not end_ok and e < len(folded) and folded[e].isalpha():
                    # Letters glued to the last group: it may start a code of its own
                    # (``536-90-4399 91110000600037341L``): search again from there.
                    last = e
                    while last > s and folded[last - 1].isdigit():
                        last -= 1
                    if last > s and folded[last - 1] in " -(":
                        pos = last
                        continue
            pos = e
        elif kind == "code":
            one = _codes(folded, s, e, today, ctx_words)
            if one is not None:
                raw.append(one)
            pos = e
        else:
            walked = _iban_end(folded, s)
            if walked is not None and not walked[1]:
                pos = walked[0]  # an IBAN with wrong check digits: skip it whole
                continue
            if walked is not None:
                word, ctx, neg = ctx_words.at(s)
                raw.append(finding_of(s, walked[0],
                                      ("iban", _score("iban", 0.97, ctx, neg), walked[1]), word))
                pos = walked[0]
                continue
            code = _CODE.match(folded, s)
            if code is not None:
                pos = code.end()
                one = _codes(folded, s, pos, today, ctx_words)
                if one is not None:
                    raw.append(one)
            else:
                # The rest of this letter-digit run cannot start a candidate (a letter
                # or digit comes before it): the search skips it in C.
                pos = e
    for m in _IBAN_LABEL.finditer(folded):
        # An IBAN glued to its label (IBANDE89…, 收款IBANCH93…): the start rule above
        # wants no letter before a candidate.
        s = m.end()
        walked = _iban_end(folded, s)
        if walked is not None and walked[1]:
            raw.append(finding_of(s, walked[0], ("iban", _score("iban", 0.97, _IBAN_CTX, False),
                                                 walked[1]), m.group()))
    if has_at:
        for m in _EMAIL.finditer(folded):
            # The pattern admits ASCII only, so email.compact() is: lower-case the domain.
            local, _, domain = m.group().rpartition("@")
            # The pattern already admits only allowed characters, LDH labels and no
            # empty part: what email._problem() adds is lengths and the alphabetic TLD.
            if (len(local) > 64 or len(local) + len(domain) > 253
                    or _TLD.fullmatch(domain, domain.rfind(".") + 1) is None
                    or (len(domain) > 63 and max(map(len, domain.split("."))) > 63)):
                continue
            value = f"{local}@{domain.lower()}"
            word, ctx, neg = ctx_words.at(m.start())
            raw.append(finding_of(m.start(), m.end(),
                                  ("email", _score("email", 0.95, ctx, neg), value), word))
    if not raw:
        return []
    if len(raw) > 1:
        raw = _resolve(raw, min_confidence)
    elif raw[0].confidence < min_confidence:
        return []
    if kinds is None:
        return raw
    wanted = frozenset(kinds)
    return [f for f in raw if f.kind in wanted]


install_scanner(detect)
