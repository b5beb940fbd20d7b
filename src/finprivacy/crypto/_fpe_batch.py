"""Card tokens for many numbers at once: the FF1 rounds of :mod:`._fpe_card` over arrays.

:meth:`CardTokenizer.tokenize_many` gives exactly what :meth:`CardTokenizer.tokenize`
gives for each number (the tests compare both on generated cards), but runs each FF1
round for a whole batch: one AES-ECB call from ``cryptography`` over all the batch's
PRF blocks, and the Feistel arithmetic, the Luhn check and the cycle walk as NumPy
array operations. Nothing here is a cipher: the blocks are built as SP 800-38G
section 5.1 describes and encrypted by ``cryptography``'s AES.

The card layout keeps every block inside one AES block: the middle has at most 9
digits, so ``b`` is at most 3 bytes, ``d`` is 8 and the tweak is padded so that
``tail || [i] || NUM(B)`` is exactly one block (the single-block case of
:meth:`FF1._plan`). NumPy comes with the ``parquet`` and ``spark`` extras; without it
the callers fall back to the per-number loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._ff1 import FF1

__all__: list[str] = []

_ROUNDS = 10
_MAX_WALK = 10_000


_TABLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a doubled digit's Luhn share


def walk(ff1: FF1, cards: Sequence[str], *, bin_length: int, context: str, luhn: bool,
         encrypt: bool) -> list[str | None]:
    """Map equal-length ASCII digit strings; return them in order.

    ``cards`` must all have the same length and be ASCII digits: the caller checks and
    groups them. With ``luhn``, a number that fails the Luhn check gives ``None``.
    """
    import numpy as np

    if not cards:
        return []
    length = len(cards[0])
    digits = (np.frombuffer("".join(cards).encode("ascii"), dtype=np.uint8)
              .reshape(len(cards), length) - 48).astype(np.int64)
    if not luhn:
        return list(_walk(ff1, digits, cards, bin_length, context, False, encrypt))
    positions = np.arange(length - 1, -1, -1)  # from the right; check digit at 0
    table = np.array(_TABLE, dtype=np.int64)
    valid = np.where(positions % 2 == 1, table[digits], digits).sum(axis=1) % 10 == 0
    if valid.all():
        return list(_walk(ff1, digits, cards, bin_length, context, True, encrypt))
    keep = np.flatnonzero(valid)
    mapped = _walk(ff1, digits[keep], [cards[i] for i in keep.tolist()], bin_length, context, True,
                   encrypt)
    out: list[str | None] = [None] * len(cards)
    for pos, token in zip(keep.tolist(), mapped, strict=True):
        out[pos] = token
    return out


def _walk(ff1: FF1, digits: Any, cards: Sequence[str], bin_length: int, context: str,
          luhn: bool, encrypt: bool) -> list[str]:
    import numpy as np

    count, length = digits.shape
    if not count:
        return []
    m = length - bin_length - 4
    u, v, b, d = ff1._geometry(m)
    mid = digits[:, bin_length:length - 4]
    a_num = mid[:, :u] @ (10 ** np.arange(u - 1, -1, -1, dtype=np.int64))
    b_num = mid[:, u:] @ (10 ** np.arange(v - 1, -1, -1, dtype=np.int64))

    # Per card, the CBC-MAC state after P || T || 0^pad's whole blocks; then the ten
    # round constants state ^ (tail || [i] || 0^b) as two big-endian 64-bit halves.
    update = ff1._encryptor().update
    pre = b"fp-card-v1|"
    post = f"|{context}".encode()
    t = len(pre) + bin_length + 1 + 4 + len(post)
    pad = (-t - b - 1) % 16
    tweaks = b"".join(pre + c[:bin_length].encode() + b"|" + c[-4:].encode() + post
                      + bytes(pad) for c in cards)
    width = t + pad
    prefix = np.frombuffer(tweaks, dtype=np.uint8).reshape(count, width)
    state = np.frombuffer(update(ff1._p_block(m, t)), dtype=np.uint8)
    state = np.broadcast_to(state, (count, 16))
    whole = width // 16 * 16
    for off in range(0, whole, 16):
        block = np.bitwise_xor(state, prefix[:, off:off + 16])
        state = np.frombuffer(update(block.tobytes()), dtype=np.uint8).reshape(count, 16)
    tail = prefix[:, whole:]
    if tail.shape[1] + 1 + b != 16 or d != 8:  # pragma: no cover - card layout guarantees it
        raise AssertionError("card FF1 blocks do not fit one AES block")
    base = np.zeros((count, 16), dtype=np.uint8)
    base[:, :tail.shape[1]] = tail
    base = np.bitwise_xor(base, state)
    halves = base.view(">u8").astype(np.uint64)  # (count, 2): high, low
    hi = halves[:, 0].copy()
    lo = halves[:, 1].copy()
    round_lo = [lo ^ np.uint64(i << (8 * b)) for i in range(_ROUNDS)]

    mod_u = np.int64(10**u)
    mod_v = np.int64(10**v)

    def rounds(idx: Any, x: Any, y: Any) -> tuple[Any, Any]:
        sub_hi = hi[idx]
        block = np.empty((len(idx), 2), dtype=">u8")
        block[:, 0] = sub_hi
        order = range(_ROUNDS) if encrypt else range(_ROUNDS - 1, -1, -1)
        for i in order:
            src = y if encrypt else x
            block[:, 1] = round_lo[i][idx] ^ src.astype(np.uint64)
            out = np.frombuffer(update(block.tobytes()), dtype=">u8")[0::2]
            mod = mod_v if i & 1 else mod_u
            prf = (out % np.uint64(mod)).astype(np.int64)
            if encrypt:
                x, y = y, (x + prf) % mod
            else:
                y, x = x, (y - prf) % mod
        return x, y

    if not luhn:
        a_num, b_num = rounds(np.arange(count), a_num, b_num)
        return _join(digits, bin_length, u, v, a_num, b_num)

    # Luhn: the fixed digits' share, and the weights of the middle's digits.
    positions = np.arange(length - 1, -1, -1)  # from the right; check digit at 0
    doubled = positions % 2 == 1
    table = np.array(_TABLE, dtype=np.int64)
    contrib = np.where(doubled, table[digits], digits)
    fixed = contrib[:, :bin_length].sum(axis=1) + contrib[:, length - 4:].sum(axis=1)
    mid_doubled = doubled[bin_length:length - 4]
    pow_u = 10 ** np.arange(u - 1, -1, -1, dtype=np.int64)
    pow_v = 10 ** np.arange(v - 1, -1, -1, dtype=np.int64)

    out_a = np.empty(count, dtype=np.int64)
    out_b = np.empty(count, dtype=np.int64)
    idx = np.arange(count)
    x, y = a_num, b_num
    for _ in range(_MAX_WALK):
        x, y = rounds(idx, x, y)
        mid_digits = np.concatenate(((x[:, None] // pow_u) % 10, (y[:, None] // pow_v) % 10),
                                    axis=1)
        share = np.where(mid_doubled, table[mid_digits], mid_digits).sum(axis=1)
        ok = (fixed[idx] + share) % 10 == 0
        out_a[idx[ok]] = x[ok]
        out_b[idx[ok]] = y[ok]
        keep = ~ok
        if not keep.any():
            return _join(digits, bin_length, u, v, out_a, out_b)
        idx, x, y = idx[keep], x[keep], y[keep]
    raise AssertionError("card tokenisation did not converge")  # pragma: no cover


def _join(digits: Any, bin_length: int, u: int, v: int, a_num: Any, b_num: Any) -> list[str]:
    import numpy as np

    count, length = digits.shape
    out = digits.copy()
    pow_u = 10 ** np.arange(u - 1, -1, -1, dtype=np.int64)
    pow_v = 10 ** np.arange(v - 1, -1, -1, dtype=np.int64)
    out[:, bin_length:bin_length + u] = (a_num[:, None] // pow_u) % 10
    out[:, bin_length + u:length - 4] = (b_num[:, None] // pow_v) % 10
    text = (out.astype(np.uint8) + 48).tobytes().decode("ascii")
    return [text[i:i + length] for i in range(0, count * length, length)]
