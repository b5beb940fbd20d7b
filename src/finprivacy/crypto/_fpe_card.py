"""Card-number tokens that still look like card numbers (FF1 over the middle digits).

A legacy system that only accepts 12–19 digit card numbers (ISO/IEC 7812-1) can be
handed a token instead of the real PAN: the issuer identification number (the BIN, 6
or 8 digits) and the last 4 digits are kept, as PCI DSS v4.0 requirement 3.4.1 allows
for display, and the digits in between are encrypted with FF1 (NIST SP 800-38G) under
a tweak made of the BIN, the last 4 and a context string. The token is reversible only
with the key.

With ``luhn=True`` (the default) the token also passes the Luhn check (ISO/IEC 7812-1
Annex B) so legacy validators accept it. This is done by *cycle walking* (Black and
Rogaway, "Ciphers with Arbitrary Finite Domains", 2002): FF1 is applied again until the
whole number passes Luhn, which keeps the mapping a permutation of the valid numbers
with the same BIN and last 4, and so keeps it reversible. The input must then itself
pass Luhn. A Luhn-valid token can be mistaken for a real card by people and scanners:
label the column as tokenised.

The middle must span enough digits for FF1's minimum domain of 1,000,000
(SP 800-38G Rev. 1 draft): a 16-digit card with a 6-digit BIN leaves exactly 6 digits;
with an 8-digit BIN only 4 remain and tokenisation is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, Protocol, cast

from ..errors import InvalidIdentifierError, InvalidInputError
from ._ff1 import FF1

__all__ = ["CardTokenizer", "luhn_valid"]

_MAX_WALK: Final = 10_000
_INFO: Final = b"finprivacy/ff1-card/v1\x00"


class _KeySource(Protocol):
    def derive_key(self, info: bytes, *, key_id: str | None = None,
                   length: int = 32) -> tuple[str, bytes]: ...
_SEPARATORS: Final = frozenset(" -")


def luhn_valid(digits: str) -> bool:
    """Return whether the ASCII digit string ``digits`` passes the Luhn check."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if pos % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class CardTokenizer:
    """Format-preserving, reversible tokens for payment card numbers.

    >>> tok = CardTokenizer(bytes(32))
    >>> t = tok.tokenize("6222020200112233446", context="legacy.export")
    >>> (t[:6], t[-4:], len(t), luhn_valid(t))
    ('622202', '3446', 19, True)
    >>> tok.detokenize(t, context="legacy.export")
    '6222020200112233446'

    ``key`` is an AES key (16, 24 or 32 bytes); or build one with :meth:`from_keyring`
    and keep :attr:`key_id` beside the tokens, since a token has no room to name its key.
    Spaces and hyphens in the input are ignored; the token is digits only.
    """

    __slots__ = ("_bin_length", "_ff1", "_key_id", "_luhn")

    def __init__(self, key: bytes, *, bin_length: Literal[6, 8] = 6, luhn: bool = True) -> None:
        if bin_length not in (6, 8):
            raise InvalidInputError("bin_length must be 6 or 8")
        self._ff1 = FF1(key, radix=10)
        self._bin_length = bin_length
        self._luhn = bool(luhn)
        self._key_id: str | None = None

    @classmethod
    def from_keyring(cls, keyring: _KeySource, name: str, *, key_id: str | None = None,
                     bin_length: Literal[6, 8] = 6, luhn: bool = True) -> CardTokenizer:
        """Derive the FF1 key from ``keyring`` (HKDF, separated by ``name``).

        Uses the primary key unless ``key_id`` names another usable key. Store
        :attr:`key_id` beside the tokens (or with the export) and pass it back here to
        detokenize after a rotation.
        """
        if not isinstance(cast(object, name), str) or not name:
            raise InvalidInputError("name must be a non-empty str (e.g. 'legacy-export')")
        got_id, key = keyring.derive_key(_INFO + name.encode("utf-8"), key_id=key_id,
                                         length=32)
        tokenizer = cls(key, bin_length=bin_length, luhn=luhn)
        tokenizer._key_id = got_id
        return tokenizer

    @property
    def key_id(self) -> str | None:
        """The keyring key the FF1 key was derived from (``None`` for a raw key)."""
        return self._key_id

    def __repr__(self) -> str:
        kid = f", key_id={self._key_id!r}" if self._key_id is not None else ""
        return f"CardTokenizer(bin_length={self._bin_length}, luhn={self._luhn}{kid})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("CardTokenizer objects hold a key and cannot be pickled")

    @property
    def bin_length(self) -> int:
        """How many leading digits (the BIN) are kept in clear: 6 or 8."""
        return self._bin_length

    @property
    def luhn(self) -> bool:
        """Whether tokens are made to pass the Luhn check."""
        return self._luhn

    def tokenize(self, card_number: str, *, context: str = "") -> str:
        """Return the token for ``card_number``: same length, BIN and last 4 kept."""
        digits = self._digits(card_number, what="card number")
        if self._luhn and not luhn_valid(digits):
            raise InvalidIdentifierError(
                "card number fails the Luhn check; tokenise it with luhn=False"
            )
        return self._map(digits, context, encrypt=True)

    def detokenize(self, token: str, *, context: str = "") -> str:
        """Return the card number a token stands for (same key and ``context``)."""
        digits = self._digits(token, what="card token")
        if self._luhn and not luhn_valid(digits):
            raise InvalidIdentifierError("card token fails the Luhn check; it is not a token "
                                         "made with luhn=True")
        return self._map(digits, context, encrypt=False)

    def tokenize_many(self, card_numbers: Iterable[str | None], *,
                      context: str = "") -> list[str | None]:
        """Tokenize many card numbers; what :meth:`tokenize` gives for each, in order.

        For bulk jobs: a value :meth:`tokenize` would refuse (not a card number, failing
        the Luhn check, too short for the BIN) or ``None`` gives ``None`` in its place,
        so one bad row does not stop a batch; count the ``None`` results you did not
        pass in. With NumPy installed (it comes with the ``parquet`` and ``spark``
        extras) each FF1 round runs once for the whole batch, about ten times faster
        than a loop.
        """
        return self._many(card_numbers, context, encrypt=True)

    def detokenize_many(self, tokens: Iterable[str | None], *,
                        context: str = "") -> list[str | None]:
        """Invert :meth:`tokenize_many`; a value that is not a token gives ``None``."""
        return self._many(tokens, context, encrypt=False)

    def _many(self, values: Iterable[str | None], context: str, *,
              encrypt: bool) -> list[str | None]:
        if not isinstance(cast(object, context), str):
            raise InvalidInputError("context must be a str")
        items = list(values)
        out: list[str | None] = [None] * len(items)
        groups: dict[int, tuple[list[int], list[str]]] = {}
        min_length = self._bin_length + 4 + self._ff1.min_length
        for pos, value in enumerate(items):
            if not isinstance(value, str):
                continue
            digits = value if value.isdigit() else "".join(
                ch for ch in value if ch not in _SEPARATORS)
            if not (min_length <= len(digits) <= 19 and digits.isascii()
                    and digits.isdigit()):
                continue
            where, which = groups.setdefault(len(digits), ([], []))
            where.append(pos)
            which.append(digits)
        try:
            import numpy  # noqa: F401 - the batch path's only extra need
        except ImportError:  # pragma: no cover - NumPy is in every extra that needs speed
            batched = False
        else:
            batched = True
        from ._fpe_batch import walk

        for where, which in groups.values():
            mapped: list[str | None]
            if batched:
                mapped = walk(self._ff1, which, bin_length=self._bin_length, context=context,
                              luhn=self._luhn, encrypt=encrypt)
            else:  # pragma: no cover
                mapped = [self._map(c, context, encrypt=encrypt)
                          if not self._luhn or luhn_valid(c) else None for c in which]
            for pos, token in zip(where, mapped, strict=True):
                out[pos] = token
        return out

    def _digits(self, value: str, *, what: str) -> str:
        if not isinstance(value, str):
            raise InvalidInputError(f"{what} must be a str")
        digits = "".join(ch for ch in value if ch not in _SEPARATORS)
        if not digits.isascii() or not digits.isdigit():
            raise InvalidIdentifierError(f"{what} must contain only digits, spaces and hyphens")
        if not 12 <= len(digits) <= 19:
            raise InvalidIdentifierError(f"{what} must have 12 to 19 digits (ISO/IEC 7812-1)")
        middle = len(digits) - self._bin_length - 4
        if middle < self._ff1.min_length:
            raise InvalidInputError(
                f"a {len(digits)}-digit card with a {self._bin_length}-digit BIN leaves "
                f"{middle} digits to encrypt; FF1 needs at least {self._ff1.min_length}"
            )
        return digits

    def _map(self, digits: str, context: str, *, encrypt: bool) -> str:
        if not isinstance(cast(object, context), str):
            raise InvalidInputError("context must be a str")
        head = digits[: self._bin_length]
        last4 = digits[-4:]
        middle = digits[self._bin_length:-4]
        tweak = f"fp-card-v1|{head}|{last4}|{context}".encode()
        ff1 = self._ff1
        m = len(middle)
        plan = ff1._plan(m, tweak)  # one FF1 set-up for the whole walk
        u = plan.u
        a_num, b_num = int(middle[:u]), int(middle[u:])
        if not self._luhn:
            a_num, b_num = ff1._rounds(plan, a_num, b_num, encrypt)
            return head + str(a_num).zfill(u) + str(b_num).zfill(m - u) + last4
        # Luhn sum of the fixed digits, and which middle digits the check doubles
        # (positions counted from the right, the check digit at position 0).
        fixed = _luhn_sum(head, 4 + m) + _luhn_sum(last4, 0)
        first_doubled = (m + 3) % 2 == 1  # middle[0] sits at position 4 + m - 1
        for _ in range(_MAX_WALK):
            a_num, b_num = ff1._rounds(plan, a_num, b_num, encrypt)
            mid = str(a_num).zfill(u) + str(b_num).zfill(m - u)
            if first_doubled:
                total = sum(_DOUBLED[c] for c in mid[0::2]) + sum(map(int, mid[1::2]))
            else:
                total = sum(map(int, mid[0::2])) + sum(_DOUBLED[c] for c in mid[1::2])
            if (fixed + total) % 10 == 0:
                return head + mid + last4
        # A Luhn-valid starting point guarantees termination; 10,000 steps with a
        # 1-in-10 chance each is beyond any realistic bad luck.
        raise InvalidInputError("card tokenisation did not converge")  # pragma: no cover


_DOUBLED: Final = {str(d): (2 * d - 9 if d > 4 else 2 * d) for d in range(10)}


def _luhn_sum(digits: str, offset: int) -> int:
    """Luhn contribution of ``digits`` whose last digit sits at ``offset`` from the right."""
    total = 0
    for pos, ch in enumerate(reversed(digits), start=offset):
        total += _DOUBLED[ch] if pos % 2 else ord(ch) - 48
    return total
