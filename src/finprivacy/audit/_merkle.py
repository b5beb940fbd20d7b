"""RFC 6962 / RFC 9162 Merkle tree hashing, compact ranges and proofs.

Hashing follows RFC 6962 section 2.1 (kept unchanged by RFC 9162 section 2.1.1):
``leaf = SHA-256(0x00 || entry)`` and ``node = SHA-256(0x01 || left || right)``; the
empty tree's root is ``SHA-256("")``. The hash chain uses a third prefix,
``chain_i = SHA-256(0x02 || chain_{i-1} || leaf_i)`` starting from 32 zero bytes,
so no chain input can be read as a leaf or a node input.

Proof *generation* works on stored perfect subtrees: ``node(level, index)`` is the
root of leaves ``[index * 2**level, (index + 1) * 2**level)``. Every range a proof
names is either such a perfect subtree or the ragged right edge of the tree, whose
hash folds O(log n) perfect subtrees. Proof *verification* (RFC 9162 sections
2.1.3.2 and 2.1.4.2) needs only hashes and sizes: an auditor with a signed checkpoint
and these functions needs nothing else from the log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from ..errors import AuditIntegrityError, InvalidInputError

__all__ = [
    "CHAIN_SHA",
    "EMPTY_ROOT",
    "GENESIS_CHAIN",
    "LEAF_SHA",
    "NODE_SHA",
    "chain_hash",
    "consistency_ranges",
    "frontier_root",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_blocks",
    "root_from_proof_consistency",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
HASH_LEN = 32
EMPTY_ROOT = _sha256(b"").digest()
"""The root of the empty tree (RFC 6962 section 2.1: the hash of an empty string)."""
GENESIS_CHAIN = bytes(HASH_LEN)
"""The chain value before the first entry: 32 zero bytes."""

# Hash objects already holding the leaf, node and chain prefix byte: every hash of the
# log starts from one of these. ``copy()`` of one is cheaper than a new
# ``hashlib.sha256()`` and saves concatenating the prefix (the same SHA-256 of the same
# bytes): the append path, the verification walk and the parallel verifier use them.
LEAF_SHA = _sha256(b"\x00")
NODE_SHA = _sha256(b"\x01")
CHAIN_SHA = _sha256(b"\x02")

NodeKey = tuple[int, int]
"""``(level, index)`` of a perfect subtree."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash: ``SHA-256(0x00 || entry)``."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """Return the next hash-chain value: ``SHA-256(0x02 || previous || leaf)``."""
    return _sha256(b"\x02" + previous + leaf).digest()


def _largest_pow2_below(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_blocks(start: int, stop: int) -> list[NodeKey]:
    """Split ``[start, stop)`` into perfect subtrees, left to right, as RFC 6962 does.

    ``start`` must be aligned to the largest block, which holds for every range a
    proof names (it starts at a multiple of a power of two at least as big as the
    range's first split).
    """
    keys: list[NodeKey] = []
    pos = start
    while pos < stop:
        size = stop - pos
        level = size.bit_length() - 1
        while pos % (1 << level):
            level -= 1
        keys.append((level, pos >> level))
        pos += 1 << level
    return keys


def fold_blocks(hashes: Sequence[bytes]) -> bytes:
    """Return the root of a range from its perfect blocks (left to right): fold from the right."""
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = node_hash(h, root)
    return root


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """Return the tree root from the compact range of ``[0, size)`` (``EMPTY_ROOT`` if empty)."""
    if not frontier:
        return EMPTY_ROOT
    return fold_blocks(frontier)


def frontier_levels(size: int) -> list[int]:
    """Return the levels of the compact range of ``[0, size)``, largest first."""
    return [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges of the RFC 9162 inclusion proof ``PATH(index, D[size])``.

    Ranges are listed leaf-side first, as the proof is.
    """
    if not 0 <= index < size:
        raise InvalidInputError("index must be within the tree size")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_pow2_below(hi - lo)
        if index - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def inclusion_keys(index: int, size: int) -> list[list[NodeKey]]:
    """Return the stored subtrees whose hashes form ``PATH(index, D[size])``, leaf side first.

    Walks the levels bottom-up: at each level the sibling is a perfect subtree, except
    at the ragged right edge, where it is the fold of the perfect blocks of its range
    (a node with no sibling is promoted, as RFC 6962's split rule implies).
    """
    if not 0 <= index < size:
        raise InvalidInputError("index must be within the tree size")
    out: list[list[NodeKey]] = []
    level, i, last = 0, index, size - 1
    while last:
        if i & 1:
            out.append([(level, i - 1)])
        elif i < last:
            start = (i + 1) << level
            if start + (1 << level) <= size:
                out.append([(level, i + 1)])
            else:
                out.append(perfect_blocks(start, size))
        i >>= 1
        last >>= 1
        level += 1
    return out


def hashes_for_keys(
    plans: Sequence[Sequence[NodeKey]],
    fetch: Callable[[Sequence[NodeKey]], dict[NodeKey, bytes]],
) -> list[bytes]:
    """Fetch every key of ``plans`` in one call and fold each plan into one hash."""
    found = fetch([k for plan in plans for k in plan])
    try:
        return [found[plan[0]] if len(plan) == 1 else fold_blocks([found[k] for k in plan])
                for plan in plans]
    except KeyError:
        raise AuditIntegrityError(
            "a tree node needed for the proof is missing (pruned or never stored)") from None


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges of the RFC 9162 consistency proof ``PROOF(old_size, D[new_size])``."""
    if not 0 < old_size <= new_size:
        raise InvalidInputError("consistency needs 0 < old_size <= new_size")
    if old_size == new_size:
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while True:
        n = hi - lo
        if m == n:
            if not whole:
                out.append((lo, hi))
            break
        k = _largest_pow2_below(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    out.reverse()
    return out


def hashes_for_ranges(
    ranges: Sequence[tuple[int, int]],
    fetch: Callable[[Sequence[NodeKey]], dict[NodeKey, bytes]],
) -> list[bytes]:
    """Resolve each range to its hash, fetching all perfect blocks in one call."""
    plans: list[list[NodeKey]] = []
    wanted: list[NodeKey] = []
    for a, b in ranges:
        size = b - a
        if size & (size - 1) == 0 and a % size == 0:  # one perfect subtree: the usual case
            level = size.bit_length() - 1
            plan = [(level, a >> level)]
        else:
            plan = perfect_blocks(a, b)
        plans.append(plan)
        wanted.extend(plan)
    found = fetch(wanted)
    out: list[bytes] = []
    try:
        for plan in plans:
            out.append(found[plan[0]] if len(plan) == 1 else fold_blocks([found[k] for k in plan]))
    except KeyError:
        raise AuditIntegrityError(
            "a tree node needed for the proof is missing (pruned or never stored)") from None
    return out


# -- verification (RFC 9162 section 2.1.3.2 and 2.1.4.2) -------------------------------------


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_LEN:
        raise InvalidInputError(f"{what} must be a 32-byte SHA-256 hash")
    return bytes(value)


def _check_size(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << 63:
        raise InvalidInputError(f"{what} must be a non-negative integer below 2**63")
    return value


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf hash and its inclusion path (RFC 9162 2.1.3.2).

    Raises :class:`AuditIntegrityError` when the path has the wrong length for
    ``index`` and ``size``.
    """
    index = _check_size(index, "index")
    size = _check_size(size, "size")
    leaf = _check_hash(leaf, "leaf hash")
    if index >= size:
        raise AuditIntegrityError("inclusion proof: index is not below the tree size",
                                  position=index)
    if isinstance(path, bytes | str):
        raise InvalidInputError("a proof is a sequence of 32-byte hashes")
    fn, sn = index, size - 1
    r = leaf
    sha = _sha256
    for p in path:
        if type(p) is not bytes or len(p) != HASH_LEN:
            p = _check_hash(p, "proof hash")
        if sn == 0:
            raise AuditIntegrityError("inclusion proof is too long", position=index)
        if fn & 1 or fn == sn:
            r = sha(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise AuditIntegrityError("inclusion proof is too short", position=index)
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes],
                     root: bytes) -> None:
    """Check that ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Returns ``None`` on success and raises :class:`AuditIntegrityError` (``position``
    = ``index``) otherwise; malformed arguments raise
    :class:`~finprivacy.errors.InvalidInputError`.
    """
    root = _check_hash(root, "root")
    computed = root_from_inclusion(index, size, leaf, path)
    if not hmac.compare_digest(computed, root):
        raise AuditIntegrityError("inclusion proof does not lead to the root", position=index)


def root_from_proof_consistency(old_size: int, new_size: int, old_root: bytes,
                                proof: Sequence[bytes]) -> tuple[bytes, bytes]:
    """Run RFC 9162 2.1.4.2 and return ``(old_root', new_root')`` recomputed from the proof."""
    old_size = _check_size(old_size, "old size")
    new_size = _check_size(new_size, "new size")
    old_root = _check_hash(old_root, "old root")
    if isinstance(proof, bytes | str):
        raise InvalidInputError("a proof is a sequence of 32-byte hashes")
    hashes = [_check_hash(p, "proof hash") for p in proof]
    if old_size == 0 or old_size > new_size:
        raise AuditIntegrityError("consistency proof: need 0 < old size <= new size",
                                  position=old_size)
    if old_size == new_size:
        if hashes:
            raise AuditIntegrityError("consistency proof for equal sizes must be empty",
                                      position=old_size)
        return old_root, old_root
    if not hashes:
        raise AuditIntegrityError("consistency proof is empty", position=old_size)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        hashes = [old_root, *hashes]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise AuditIntegrityError("consistency proof is too long", position=old_size)
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise AuditIntegrityError("consistency proof is too short", position=old_size)
    return fr, sr


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    Returns ``None`` on success; raises :class:`AuditIntegrityError` (``position`` =
    ``old_size``) when the proof does not hold.
    """
    new_root = _check_hash(new_root, "new root")
    fr, sr = root_from_proof_consistency(old_size, new_size, old_root, proof)
    if not hmac.compare_digest(fr, old_root):
        raise AuditIntegrityError("consistency proof does not lead to the old root",
                                  position=old_size)
    if not hmac.compare_digest(sr, new_root):
        raise AuditIntegrityError("consistency proof does not lead to the new root",
                                  position=old_size)


class CompactRange:
    """The compact range (frontier) of ``[0, size)``: one perfect subtree root per set bit.

    Appending a leaf merges equal-sized subtrees and reports each new perfect node,
    which is how the sequencer learns the nodes to store. O(1) amortised per leaf.
    """

    __slots__ = ("frontier", "size")

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if len(frontier) != bin(size).count("1"):
            raise AuditIntegrityError("stored frontier does not match the tree size",
                                      position=size)
        self.size = size
        self.frontier = list(frontier)

    def append(self, leaf: bytes, nodes: list[tuple[int, int, bytes]] | None = None) -> None:
        """Add a leaf hash; if ``nodes`` is given, append every new ``(level, index, hash)``."""
        h = leaf
        s = self.size
        level = 0
        frontier = self.frontier
        while s & 1:
            h = node_hash(frontier.pop(), h)
            level += 1
            s >>= 1
            if nodes is not None:
                nodes.append((level, ((self.size + 1) >> level) - 1, h))
        frontier.append(h)
        self.size += 1

    def root(self) -> bytes:
        """Return the Merkle tree hash of ``[0, size)``."""
        return frontier_root(self.frontier)

    def copy(self) -> CompactRange:
        """Return an independent copy."""
        return CompactRange(self.size, self.frontier)


def frontier_keys(size: int) -> list[NodeKey]:
    """``(level, index)`` of the compact range of ``[0, size)``, largest first."""
    keys: list[NodeKey] = []
    pos = 0
    for level in frontier_levels(size):
        keys.append((level, pos >> level))
        pos += 1 << level
    return keys
