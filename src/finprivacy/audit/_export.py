"""The auditor export (JSON Lines) and its stand-alone verifier.

One JSON object per line, in this order::

    {"type": "header", "format": "finprivacy-audit-export/1", "origin": …, "start": s,
     "size": n, "keys": {key_id: base64 public key}, "start_chain": base64,
     "start_frontier": [base64, …]}
    {"type": "checkpoint", "body": text, "signature": base64}                (oldest first)
    {"type": "consistency", "old_size": m, "new_size": n, "hashes": [base64, …]}
    {"type": "inclusion", "index": i, "size": n, "hashes": [base64, …]}
    {"type": "entry", "seq": s, "entry": base64 of the exact stored bytes,
     "chain": base64 of the chain value after it}                             (s … n-1)

``start`` > 0 when older segments were pruned: ``start_chain`` and ``start_frontier``
are then the head at ``start``, which the verifier accepts only if a signed checkpoint
of size ``start`` in the export matches them. The last checkpoint covers all ``size``
entries, so every byte of the export is bound to a signature. Checkpoints and proofs
come before the entries so the verifier streams the entries in O(log n) memory. The
per-entry chain values are a convenience that lets the verifier name the first edited
entry; the signatures do not depend on them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hmac
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

from ..crypto._signing import Ed25519Verifier, ed25519_key_id
from ..errors import AuditIntegrityError, FormatError, InvalidInputError
from ._entry import decode_entry
from ._merkle import GENESIS_CHAIN, CompactRange, chain_hash, leaf_hash
from ._proofs import Checkpoint, ConsistencyProof, InclusionProof, PublicKeys
from ._verify import segment_ending_at

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._store import AuditStore


class ExportSource(Protocol):
    """What an export reads from a log: its identity, keys, store and proofs.

    :class:`~finprivacy.audit.AuditLog` is one.
    """

    @property
    def origin(self) -> str:
        """The log's origin line."""
        ...

    @property
    def public_keys(self) -> Mapping[str, Ed25519Verifier]:
        """The verifiers of every key the log knows, by key id."""
        ...

    @property
    def store(self) -> AuditStore:
        """The store holding the entries."""
        ...

    def checkpoint(self) -> Checkpoint:
        """Sign and return a checkpoint of the current head."""
        ...

    def checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint."""
        ...

    def inclusion_proof(self, seq: int, size: int | None = None) -> InclusionProof:
        """Prove entry ``seq`` is in the tree of ``size`` entries."""
        ...

    def consistency_proof(self, old_size: int, new_size: int | None = None
                          ) -> ConsistencyProof:
        """Prove the tree of ``old_size`` entries is a prefix of the one of ``new_size``."""
        ...

__all__ = ["EXPORT_FORMAT", "ExportReport", "ExportSource", "verify_export"]

EXPORT_FORMAT = "finprivacy-audit-export/1"
"""The ``format`` value of an export's header line."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"{what} must be base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise FormatError(f"{what} is not valid base64") from None


def _lines(log: ExportSource, inclusion_for: Sequence[int]) -> tuple[Checkpoint, Iterator[str]]:
    final = log.checkpoint()
    state = log.store.state()
    start = state.start
    chain: bytes = GENESIS_CHAIN
    frontier: tuple[bytes, ...] = ()
    if start:  # entries before start were pruned: the export starts at that segment's head
        seg = segment_ending_at(log.store, start)
        chain, frontier = seg.chain, seg.frontier
    cps = [c for c in log.checkpoints() if c.size <= final.size]
    old_sizes = sorted({c.size for c in cps if start <= c.size < final.size and c.size > 0})
    incl = [log.inclusion_proof(i, final.size) for i in inclusion_for]
    cons = [log.consistency_proof(m, final.size) for m in old_sizes]
    dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode

    def generate() -> Iterator[str]:
        yield dumps({
            "type": "header", "format": EXPORT_FORMAT, "origin": log.origin, "start": start,
            "size": final.size,
            "keys": {k: _b64(v.public_key_bytes()) for k, v in sorted(log.public_keys.items())},
            "start_chain": _b64(chain), "start_frontier": [_b64(h) for h in frontier]})
        for c in cps:
            yield dumps({"type": "checkpoint", **c.to_json()})
        for p in cons:
            yield dumps({"type": "consistency", **p.to_json()})
        for q in incl:
            yield dumps({"type": "inclusion", **q.to_json()})
        for e in log.store.entries(start, final.size):
            yield dumps({"type": "entry", "seq": e.seq, "entry": _b64(e.raw),
                         "chain": _b64(e.chain)})

    return final, generate()


def write_export(log: ExportSource, dest: str | os.PathLike[str] | IO[str], *,
                 inclusion_for: Sequence[int] = ()) -> Checkpoint:
    """Write ``log``'s export to ``dest`` (a path, written atomically, or a text stream)."""
    final, lines = _lines(log, inclusion_for)
    if isinstance(dest, str | os.PathLike):
        path = os.fspath(dest)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".audit-export-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                for line in lines:
                    fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    else:
        for line in lines:
            dest.write(line + "\n")
    return final


@dataclasses.dataclass(frozen=True, slots=True)
class ExportReport:
    """What :func:`verify_export` checked."""

    origin: str
    """The log's name."""
    start: int
    """First entry in the export."""
    size: int
    """Entries the export covers (the final checkpoint's size)."""
    entries: int
    """Entries re-hashed and decoded."""
    checkpoints: int
    """Checkpoints whose signatures were checked."""
    proofs: int
    """Consistency and inclusion proofs checked."""
    key_ids: tuple[str, ...]
    """Ids of the keys that signed."""
    keys_pinned: bool
    """True when the caller supplied the public keys; False when the export's own
    header was trusted (then only internal consistency is proven)."""


def _load(obj_line: str, lineno: int) -> dict[str, Any]:
    try:
        obj = json.loads(obj_line)
    except (ValueError, RecursionError):
        raise FormatError(f"export line {lineno} is not JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise FormatError(f"export line {lineno} is not an export record")
    return obj


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 63:
        raise FormatError(f"{what} must be a non-negative integer")
    return value


def verify_export(source: str | os.PathLike[str] | Iterable[str], *,
                  keys: PublicKeys | None = None) -> ExportReport:
    """Check an auditor export end to end, without the log or its store.

    Re-hashes every entry's exact bytes (and checks each is canonical), rebuilds the
    chain and the Merkle tree, checks every checkpoint's signature and that its root
    and chain match the entries, and checks every consistency and inclusion proof.
    Pass ``keys`` (the public keys obtained out of band) to pin them; otherwise the
    header's keys are used. Raises :class:`AuditIntegrityError` (with ``position``)
    or :class:`~finprivacy.errors.FormatError`; returns an :class:`ExportReport`.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8") as fh:
            return _verify_lines(fh, keys)
    return _verify_lines(source, keys)


_ORDER = {"checkpoint": 0, "consistency": 1, "inclusion": 2, "entry": 3}


def _verify_lines(lines: Iterable[str], keys: PublicKeys | None) -> ExportReport:
    it = iter(enumerate(lines, 1))
    try:
        _, first = next(it)
    except StopIteration:
        raise FormatError("the export is empty") from None
    header = _load(first, 1)
    if header.get("type") != "header" or header.get("format") != EXPORT_FORMAT:
        raise FormatError(f"not a {EXPORT_FORMAT} export")
    origin = header.get("origin")
    if not isinstance(origin, str):
        raise FormatError("export header has no origin")
    start, size = _int(header.get("start"), "start"), _int(header.get("size"), "size")
    if start > size:
        raise FormatError("export start is after its size")
    raw_keys = header.get("keys")
    if not isinstance(raw_keys, Mapping):
        raise FormatError("export header has no keys")
    header_keys: dict[str, Ed25519Verifier] = {}
    for kid, pub in raw_keys.items():
        try:
            verifier = Ed25519Verifier(_unb64(pub, "public key"))
        except InvalidInputError:
            raise FormatError("export header holds an invalid public key") from None
        if kid != ed25519_key_id(verifier.public_key_bytes()):
            raise FormatError("export header key id does not match its key")
        header_keys[kid] = verifier
    trusted: PublicKeys = keys if keys is not None else header_keys
    chain = _unb64(header.get("start_chain"), "start_chain")
    frontier_raw = header.get("start_frontier")
    if not isinstance(frontier_raw, list) or len(chain) != 32:
        raise FormatError("export header has a bad starting head")
    frontier = [_unb64(h, "start_frontier") for h in frontier_raw]
    if any(len(h) != 32 for h in frontier):
        raise FormatError("export header has a bad starting frontier")
    try:
        cr = CompactRange(start, frontier)
    except AuditIntegrityError:
        raise FormatError("export starting frontier does not fit its start") from None
    if start == 0 and chain != GENESIS_CHAIN:
        raise AuditIntegrityError("an export from the beginning must start at the genesis "
                                  "chain value", position=0)

    checkpoints: list[Checkpoint] = []
    consistency: list[ConsistencyProof] = []
    inclusion: list[InclusionProof] = []
    by_size: dict[int, list[Checkpoint]] = {}
    wanted_leaves: set[int] = set()
    leaves: dict[int, bytes] = {}
    phase = 0
    prepared = False
    expected = start

    def prepare() -> None:
        for cp in checkpoints:
            cp.verify_signature(trusted)
            if cp.origin != origin:
                raise AuditIntegrityError("a checkpoint names another log",
                                          position=max(cp.size - 1, 0))
            if cp.size > size:
                raise AuditIntegrityError("a checkpoint covers more entries than the export",
                                          position=size)
            by_size.setdefault(cp.size, []).append(cp)
        if size not in by_size:
            raise AuditIntegrityError("no signed checkpoint covers the end of the export",
                                      position=max(size - 1, 0))
        if start and start not in by_size:
            raise AuditIntegrityError("no signed checkpoint vouches for the export's start",
                                      position=start - 1)
        wanted_leaves.update(p.index for p in inclusion)
        check(start)

    def check(at: int) -> None:
        cps = by_size.get(at)
        if not cps:
            return
        root = cr.root()
        for cp in cps:
            if not (hmac.compare_digest(root, cp.root) and hmac.compare_digest(chain, cp.chain)):
                raise AuditIntegrityError(
                    f"the checkpoint at size {at} does not match the entries",
                    position=max(at - 1, 0))

    for lineno, line in it:
        if not line.strip():
            continue
        obj = _load(line, lineno)
        kind = obj["type"]
        order = _ORDER.get(kind)
        if order is None:
            raise FormatError(f"export line {lineno}: unknown record type")
        if order < phase:
            raise FormatError(f"export line {lineno}: records are out of order")
        phase = order
        body = {k: v for k, v in obj.items() if k != "type"}
        if kind == "checkpoint":
            checkpoints.append(Checkpoint.from_json(body))
        elif kind == "consistency":
            consistency.append(ConsistencyProof.from_json(body))
        elif kind == "inclusion":
            inclusion.append(InclusionProof.from_json(body))
        else:
            if not prepared:
                prepare()
                prepared = True
            if set(body) not in ({"seq", "entry"}, {"seq", "entry", "chain"}):
                raise FormatError(f"export line {lineno}: bad entry record")
            seq = _int(body["seq"], "seq")
            if seq != expected:
                raise AuditIntegrityError(f"entry {expected} is missing or out of order",
                                          position=expected)
            if seq >= size:
                raise AuditIntegrityError("entry beyond the export's size", position=seq)
            raw = _unb64(body["entry"], "entry")
            try:
                decode_entry(raw, seq)
            except FormatError:
                raise AuditIntegrityError(f"entry {seq} is not a canonical entry",
                                          position=seq) from None
            leaf = leaf_hash(raw)
            if seq in wanted_leaves:
                leaves[seq] = leaf
            chain = chain_hash(chain, leaf)
            if "chain" in body and _unb64(body["chain"], "chain") != chain:
                raise AuditIntegrityError(f"entry {seq} does not match its chain value",
                                          position=seq)
            cr.append(leaf)
            expected += 1
            check(expected)
    if not prepared:
        prepare()
    if expected != size:
        raise AuditIntegrityError(f"entry {expected} is missing", position=expected)
    for cproof in consistency:
        olds, news = by_size.get(cproof.old_size), by_size.get(cproof.new_size)
        if not olds or not news:
            raise AuditIntegrityError("a consistency proof names a size with no checkpoint",
                                      position=cproof.old_size)
        cproof.verify(olds[0], news[-1])
    for iproof in inclusion:
        cps = by_size.get(iproof.size)
        if not cps or iproof.index not in leaves:
            raise AuditIntegrityError("an inclusion proof names an entry or size not in the "
                                      "export", position=iproof.index)
        iproof.verify_leaf(leaves[iproof.index], cps[-1])
    key_ids = tuple(sorted({c.key_id for c in checkpoints}))
    return ExportReport(origin=origin, start=start, size=size, entries=size - start,
                        checkpoints=len(checkpoints), proofs=len(consistency) + len(inclusion),
                        key_ids=key_ids, keys_pinned=keys is not None)
