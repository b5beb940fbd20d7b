"""FF1 format-preserving encryption (NIST SP 800-38G), composed from ``cryptography``'s AES.

FF1 is a keyed permutation of the strings of a given length over an alphabet of
``radix`` symbols: a 16-digit number encrypts to another 16-digit number. It is built
here exactly as NIST SP 800-38G (March 2016), section 5.1, Algorithms 7 and 8 describe,
with AES from ``cryptography`` as the block cipher CIPH (one ECB context per call, used
only to compute the CBC-MAC PRF of section 4.5 block by block); nothing in this module
implements a cipher.

Two rules from the later drafts are enforced:

* the domain ``radix ** length`` must be at least 1,000,000 (NIST SP 800-38G Rev. 1,
  initial public draft, February 2019, section 5.2); shorter inputs are refused;
* FF3 and FF3-1 are not offered (FF3 was broken by Durak and Vaudenay, 2017, and
  SP 800-38G Rev. 1 second public draft, 2025, withdraws FF3-1 as well).

The alphabet for radix ``r`` is the first ``r`` symbols of
``0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ`` (the order the NIST
samples use for radix 36), unless an explicit ``alphabet`` is given.

FF1 is deterministic: equal inputs under the same key and tweak give equal outputs.
Use a tweak (for example the column name) to separate uses of one key.
"""

from __future__ import annotations

import math
import threading
from typing import Final, NamedTuple, cast

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from ..errors import InvalidInputError

__all__ = ["DEFAULT_ALPHABET", "FF1", "MIN_DOMAIN"]

DEFAULT_ALPHABET: Final = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Symbols for radix 2–62, in value order: digits, lower-case, upper-case letters."""

MIN_DOMAIN: Final = 1_000_000
"""Smallest ``radix ** length`` FF1 accepts (NIST SP 800-38G Rev. 1 draft, section 5.2)."""

_MAX_LENGTH: Final = 4096
_MAX_TWEAK: Final = 1 << 16
_ROUNDS: Final = 10
_PLAN_CACHE: Final = 1024


class FF1:
    """NIST SP 800-38G FF1 over strings of ``radix`` symbols, with an AES key.

    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> FF1(key, radix=10).encrypt("0123456789")
    '2433477484'
    >>> FF1(key, radix=10).decrypt("2433477484")
    '0123456789'

    ``key`` is an AES key of 16, 24 or 32 bytes. Inputs must use only the alphabet's
    symbols and be long enough that ``radix ** len(text) >= 1_000_000``. Errors name
    the rule that was broken, never the text. The object is safe to share between
    threads; the key never appears in its repr.
    """

    __slots__ = ("_aes", "_alphabet", "_decimal", "_index", "_local", "_min_len", "_plans",
                 "_radix")

    def __init__(self, key: bytes, *, radix: int = 10, alphabet: str | None = None) -> None:
        key_obj: object = key
        if not isinstance(key_obj, bytes | bytearray) or len(key_obj) not in (16, 24, 32):
            raise InvalidInputError("FF1 key must be 16, 24 or 32 bytes (AES-128/192/256)")
        radix_obj: object = radix
        if isinstance(radix_obj, bool) or not isinstance(radix_obj, int):
            raise InvalidInputError("FF1 radix must be an integer")
        if alphabet is None:
            if not 2 <= radix <= len(DEFAULT_ALPHABET):
                raise InvalidInputError(
                    "FF1 radix must be from 2 to 62 (pass an alphabet for other radixes)"
                )
            alphabet = DEFAULT_ALPHABET[:radix]
        elif (not isinstance(cast(object, alphabet), str)
              or not 2 <= radix <= 65536
              or len(alphabet) != radix or len(set(alphabet)) != radix):
            raise InvalidInputError(
                "FF1 alphabet must have exactly radix distinct symbols (2 to 65536)"
            )
        self._aes = algorithms.AES(bytes(key))
        self._radix = radix
        self._alphabet = alphabet
        self._index = {ch: i for i, ch in enumerate(alphabet)}
        self._min_len = max(2, math.ceil(math.log(MIN_DOMAIN) / math.log(radix) - 1e-9))
        self._local = threading.local()
        self._decimal = alphabet == "0123456789"
        self._plans: dict[tuple[int, bytes], _Plan] = {}

    @property
    def radix(self) -> int:
        """The number of symbols in the alphabet."""
        return self._radix

    @property
    def alphabet(self) -> str:
        """The symbols, in value order."""
        return self._alphabet

    @property
    def min_length(self) -> int:
        """The shortest input accepted: the smallest ``n`` with ``radix ** n >= 1,000,000``."""
        return self._min_len

    def __repr__(self) -> str:
        return f"FF1(radix={self._radix})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("FF1 objects hold a key and cannot be pickled")

    # -- public API ----------------------------------------------------------------
    def encrypt(self, text: str, tweak: bytes = b"") -> str:
        """Encrypt ``text`` (symbols of the alphabet) under ``tweak``; same length out."""
        return self._run(text, tweak, encrypt=True)

    def decrypt(self, text: str, tweak: bytes = b"") -> str:
        """Invert :meth:`encrypt` for the same key and ``tweak``."""
        return self._run(text, tweak, encrypt=False)

    def encrypt_numerals(self, numerals: list[int], tweak: bytes = b"") -> list[int]:
        """Encrypt a list of numerals (each ``0 <= x < radix``); for custom encodings."""
        self._check_numerals(numerals)
        return self._cipher(numerals, tweak, encrypt=True)

    def decrypt_numerals(self, numerals: list[int], tweak: bytes = b"") -> list[int]:
        """Invert :meth:`encrypt_numerals`."""
        self._check_numerals(numerals)
        return self._cipher(numerals, tweak, encrypt=False)

    # -- implementation --------------------------------------------------------------
    def _check_numerals(self, numerals: list[int]) -> None:
        items: object = numerals
        if not isinstance(items, list) or any(
            isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < self._radix
            for x in cast(list[object], items)
        ):
            raise InvalidInputError(f"FF1 numerals must be integers from 0 to {self._radix - 1}")

    def _run(self, text: str, tweak: bytes, *, encrypt: bool) -> str:
        if not isinstance(cast(object, text), str):
            raise InvalidInputError("FF1 input must be a str")
        if self._decimal and text.isascii() and text.isdigit():
            # Fast path for the default radix-10 alphabet: numerals are the digits.
            n = len(text)
            plan = self._plan(n, tweak)
            u = plan.u
            a_num, b_num = self._rounds(plan, int(text[:u]), int(text[u:]), encrypt)
            return str(a_num).zfill(u) + str(b_num).zfill(n - u)
        index = self._index
        try:
            numerals = [index[ch] for ch in text]
        except KeyError:
            raise InvalidInputError(
                f"FF1 input contains a symbol outside the radix-{self._radix} alphabet"
            ) from None
        out = self._cipher(numerals, tweak, encrypt=encrypt)
        alphabet = self._alphabet
        return "".join([alphabet[x] for x in out])

    def _encryptor(self) -> CipherContext:
        enc: CipherContext | None = getattr(self._local, "enc", None)
        if enc is None:
            enc = Cipher(self._aes, modes.ECB()).encryptor()  # noqa: S305 - CIPH for the FF1 PRF
            self._local.enc = enc
        return enc

    def _cipher(self, numerals: list[int], tweak: bytes, *, encrypt: bool) -> list[int]:
        radix = self._radix
        plan = self._plan(len(numerals), tweak)
        a_num, b_num = self._rounds(plan, _num(numerals[:plan.u], radix),
                                    _num(numerals[plan.u:], radix), encrypt)
        return _str(a_num, plan.u, radix) + _str(b_num, plan.v, radix)

    def _plan(self, n: int, tweak: bytes) -> _Plan:
        """Everything that depends only on the length and the tweak (cached)."""
        if not isinstance(cast(object, tweak), bytes | bytearray):
            raise InvalidInputError("FF1 tweak must be bytes")
        key = (n, bytes(tweak))
        plans = self._plans
        plan = plans.get(key)
        if plan is not None:
            return plan
        if n < self._min_len:
            raise InvalidInputError(
                f"FF1 input too short: radix-{self._radix} strings need at least "
                f"{self._min_len} symbols (domain radix**length must be >= {MIN_DOMAIN:,})"
            )
        if n > _MAX_LENGTH:
            raise InvalidInputError(f"FF1 input too long (at most {_MAX_LENGTH} symbols)")
        t = len(tweak)
        if t > _MAX_TWEAK:
            raise InvalidInputError(f"FF1 tweak too long (at most {_MAX_TWEAK} bytes)")
        radix = self._radix
        update = self._encryptor().update
        u, v, b, d = self._geometry(n)
        state = int.from_bytes(update(self._p_block(n, t)), "big")  # CBC-MAC state after P
        pad = (-t - b - 1) % 16
        prefix = bytes(tweak) + bytes(pad)
        # CBC-MAC over the whole blocks of T || 0^pad, which no round changes.
        fixed = len(prefix) // 16 * 16
        for off in range(0, fixed, 16):
            block = state ^ int.from_bytes(prefix[off:off + 16], "big")
            state = int.from_bytes(update(block.to_bytes(16, "big")), "big")
        tail = prefix[fixed:]
        single = len(tail) + 1 + b == 16 and d <= 16
        if single:
            # Q's last block is tail || [i] || NUM(B): one AES call per round, and the
            # block is (state ^ tail ^ i) ^ NUM(B) with the first part fixed per round.
            tail_int = int.from_bytes(tail, "big") << (8 * (b + 1)) if tail else 0
            consts = tuple(state ^ tail_int ^ (i << (8 * b)) for i in range(_ROUNDS))
        else:
            consts = ()
        plan = _Plan(u, v, b, d, radix**u, radix**v, state, tail, consts, 128 - 8 * d)
        if len(plans) >= _PLAN_CACHE:
            plans.clear()
        plans[key] = plan
        return plan

    def _geometry(self, n: int) -> tuple[int, int, int, int]:
        """Return ``u``, ``v``, ``b``, ``d``: steps 1-4 of Algorithm 7 (SP 800-38G 5.1)."""
        radix = self._radix
        u = n // 2
        v = n - u
        b = math.ceil(math.ceil(v * math.log2(radix) - 1e-12) / 8)
        # Guard against floating point at exact powers of two: b must hold radix**v - 1.
        while (radix**v - 1).bit_length() > 8 * b:
            b += 1
        return u, v, b, 4 * math.ceil(b / 4) + 4

    def _p_block(self, n: int, t: int) -> bytes:
        """Return the block P that opens every round's PRF input (Algorithm 7, step 5)."""
        return (bytes((1, 2, 1)) + self._radix.to_bytes(3, "big") + bytes((10, n // 2 % 256))
                + n.to_bytes(4, "big") + t.to_bytes(4, "big"))

    def _rounds(self, plan: _Plan, a_num: int, b_num: int, encrypt: bool) -> tuple[int, int]:
        """Step 6 of Algorithms 7 (encrypt) and 8 (decrypt): the ten Feistel rounds."""
        update = self._encryptor().update
        mod_u, mod_v = plan.mod_u, plan.mod_v
        if plan.consts:
            shift = plan.shift
            consts = plan.consts
            frm = int.from_bytes
            if encrypt:
                for i in range(_ROUNDS):
                    y = frm(update((consts[i] ^ b_num).to_bytes(16, "big")), "big") >> shift
                    a_num, b_num = b_num, (a_num + y) % (mod_v if i & 1 else mod_u)
            else:
                for i in range(_ROUNDS - 1, -1, -1):
                    y = frm(update((consts[i] ^ a_num).to_bytes(16, "big")), "big") >> shift
                    b_num, a_num = a_num, (b_num - y) % (mod_v if i & 1 else mod_u)
            return a_num, b_num
        b, d, tail = plan.b, plan.d, plan.tail
        extra_blocks = (d - 1) // 16  # blocks of S beyond R
        rounds = range(_ROUNDS) if encrypt else range(_ROUNDS - 1, -1, -1)
        for i in rounds:
            src = b_num if encrypt else a_num
            q_rest = tail + bytes((i,)) + src.to_bytes(b, "big")
            y = plan.state
            for off in range(0, len(q_rest), 16):
                y = int.from_bytes(
                    update((y ^ int.from_bytes(q_rest[off:off + 16], "big")).to_bytes(16, "big")),
                    "big",
                )
            r_bytes = y.to_bytes(16, "big")
            if extra_blocks:
                s = r_bytes + b"".join(
                    update((y ^ j).to_bytes(16, "big")) for j in range(1, extra_blocks + 1)
                )
                y_num = int.from_bytes(s[:d], "big")
            else:
                y_num = int.from_bytes(r_bytes[:d], "big")
            m_mod = mod_u if i % 2 == 0 else mod_v
            if encrypt:
                a_num, b_num = b_num, (a_num + y_num) % m_mod
            else:
                b_num, a_num = a_num, (b_num - y_num) % m_mod
        return a_num, b_num


class _Plan(NamedTuple):
    u: int
    v: int
    b: int
    d: int
    mod_u: int
    mod_v: int
    state: int
    tail: bytes
    consts: tuple[int, ...]
    shift: int


def _num(numerals: list[int], radix: int) -> int:
    """NUM_radix(X) of SP 800-38G section 4.5 (most significant numeral first)."""
    if radix == 10:
        return int("".join(map(str, numerals))) if numerals else 0
    x = 0
    for numeral in numerals:
        x = x * radix + numeral
    return x


def _str(x: int, m: int, radix: int) -> list[int]:
    """STR^m_radix(x) of SP 800-38G section 4.5: ``m`` numerals, most significant first."""
    if radix == 10:
        return [int(ch) for ch in str(x).zfill(m)]
    out = [0] * m
    for pos in range(m - 1, -1, -1):
        x, out[pos] = divmod(x, radix)
    return out
