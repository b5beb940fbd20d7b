r"""Signed checkpoints and the inclusion and consistency proofs an auditor checks.

A checkpoint commits to the whole log at one size. Its signed body is UTF-8 text,
one ``label value`` pair per line, each line ending in ``\n``::

    finprivacy-audit-checkpoint/v1
    origin lotus-bookkeeping/audit
    size 1024
    root <base64 of the RFC 6962 Merkle tree hash of entries [0, size)>
    chain <base64 of the hash-chain value after entry size-1>
    time 2026-03-31T23:59:59.000000Z
    key <Ed25519 key id, 16 hex digits>

The Ed25519 signature (RFC 8032) is over exactly those bytes. An auditor who keeps a
checkpoint and the log's public key can check, with the functions here alone, that an
entry is in the log (:class:`InclusionProof`) and that a later checkpoint extends the
one kept (:class:`ConsistencyProof`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..crypto._signing import Ed25519Verifier
from ..errors import AuditIntegrityError, FormatError, InvalidInputError, VerificationError
from ._entry import format_time
from ._merkle import leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "CHECKPOINT_HEADER",
    "Checkpoint",
    "ConsistencyProof",
    "InclusionProof",
    "PublicKeys",
    "read_public_key",
    "verify_checkpoint",
]

CHECKPOINT_HEADER = "finprivacy-audit-checkpoint/v1"
"""The first line of every checkpoint body (format version 1)."""

_ORIGIN = re.compile(r"[\x21-\x7e]{1,128}\Z")
_KEY_ID = re.compile(r"[0-9a-f]{16}\Z")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")

PublicKeys = Ed25519Verifier | Mapping[str, Ed25519Verifier] | Sequence[Ed25519Verifier]
"""One verifier, a mapping from key id to verifier, or a sequence of verifiers."""


def _valid_origin(value: object) -> bool:
    return isinstance(value, str) and _ORIGIN.match(value) is not None


def _all_bytes(*values: object) -> bool:
    return all(isinstance(v, bytes | bytearray) for v in values)


def _all_checkpoints(*values: object) -> bool:
    return all(isinstance(v, Checkpoint) for v in values)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, length: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"{what} must be base64 text")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise FormatError(f"{what} is not valid base64") from None
    if length is not None and len(data) != length:
        raise FormatError(f"{what} must decode to {length} bytes")
    if _b64(data) != text:
        raise FormatError(f"{what} is not canonical base64")
    return data


def _verifier_for(key_id: str, keys: PublicKeys) -> Ed25519Verifier:
    if isinstance(keys, Ed25519Verifier):
        candidates: dict[str, Ed25519Verifier] = {keys.key_id: keys}
    elif isinstance(keys, Mapping):
        candidates = dict(keys)
    else:
        candidates = {k.key_id: k for k in keys}
    verifier = candidates.get(key_id)
    if verifier is None or verifier.key_id != key_id:
        raise AuditIntegrityError(f"checkpoint signed by unknown key {key_id}")
    return verifier


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A signed statement of the log's size, Merkle root and chain head at one time."""

    origin: str
    """The log's name (e.g. ``lotus-bookkeeping/audit``); stops a checkpoint of one log
    being passed off as another's."""
    size: int
    """Number of entries covered: ``[0, size)``."""
    root: bytes
    """RFC 6962 Merkle tree hash of the first ``size`` entries."""
    chain: bytes
    """Hash-chain value after entry ``size - 1`` (32 zero bytes when ``size`` is 0)."""
    time: _dt.datetime
    """When it was signed (aware UTC, microseconds)."""
    key_id: str
    """Id of the Ed25519 key that signed it."""
    signature: bytes = dataclasses.field(repr=False)
    """Ed25519 signature over :attr:`body`."""

    @staticmethod
    def make_body(*, origin: str, size: int, root: bytes, chain: bytes, time: _dt.datetime,
                  key_id: str) -> bytes:
        """Return the exact bytes that are signed for these values."""
        if not _valid_origin(origin):
            raise InvalidInputError("origin must be 1-128 printable ASCII characters "
                                    "without spaces")
        return (f"{CHECKPOINT_HEADER}\norigin {origin}\nsize {size}\nroot {_b64(root)}\n"
                f"chain {_b64(chain)}\ntime {format_time(time)}\nkey {key_id}\n"
                ).encode("ascii")

    @property
    def signed(self) -> bool:
        """False for the unsigned tree head of a log that has no signer."""
        return bool(self.signature)

    @property
    def body(self) -> bytes:
        """The signed bytes (see the module docstring for the layout)."""
        return self.make_body(origin=self.origin, size=self.size, root=self.root,
                              chain=self.chain, time=self.time, key_id=self.key_id)

    @classmethod
    def parse(cls, body: bytes, signature: bytes) -> Checkpoint:
        """Parse a checkpoint body; raises :class:`FormatError` unless it is canonical."""
        if not _all_bytes(body, signature):
            raise FormatError("a checkpoint body and signature are bytes")
        try:
            text = bytes(body).decode("ascii")
        except UnicodeDecodeError:
            raise FormatError("a checkpoint body is ASCII text") from None
        lines = text.split("\n")
        labels = ["origin", "size", "root", "chain", "time", "key"]
        if len(lines) != 8 or lines[0] != CHECKPOINT_HEADER or lines[7] != "":
            raise FormatError("not a finprivacy checkpoint (version 1)")
        values: dict[str, str] = {}
        for label, line in zip(labels, lines[1:7], strict=True):
            head, sep, value = line.partition(" ")
            if head != label or not sep:
                raise FormatError(f"checkpoint line {label!r} is missing or out of order")
            values[label] = value
        size_text = values["size"]
        if not size_text.isdigit() or not size_text.isascii() or (
                size_text != "0" and size_text.startswith("0")) or len(size_text) > 19:
            raise FormatError("checkpoint size is not a canonical integer")
        if not _TIME.match(values["time"]):
            raise FormatError("checkpoint time is not canonical")
        try:
            when = _dt.datetime.fromisoformat(values["time"][:-1]).replace(tzinfo=_dt.UTC)
        except ValueError:
            raise FormatError("checkpoint time is not a valid time") from None
        if not _KEY_ID.match(values["key"]):
            raise FormatError("checkpoint key id is not 16 hex digits")
        cp = cls(origin=values["origin"], size=int(size_text),
                 root=_unb64(values["root"], "checkpoint root", 32),
                 chain=_unb64(values["chain"], "checkpoint chain", 32),
                 time=when, key_id=values["key"], signature=bytes(signature))
        try:
            again = cp.body
        except InvalidInputError:
            raise FormatError("checkpoint origin is not valid") from None
        if again != bytes(body):
            raise FormatError("checkpoint body is not canonical")
        return cp

    def verify_signature(self, keys: PublicKeys) -> None:
        """Check the Ed25519 signature with the key named by :attr:`key_id`.

        Raises :class:`AuditIntegrityError` (``position`` = last entry covered) for an
        unknown key or a bad signature.
        """
        position = max(self.size - 1, 0)
        try:
            verifier = _verifier_for(self.key_id, keys)
            verifier.verify(self.signature, self.body)
        except (VerificationError, AuditIntegrityError):
            raise AuditIntegrityError(
                f"checkpoint at size {self.size} has a bad signature or unknown key "
                f"{self.key_id}", position=position) from None

    def to_json(self) -> dict[str, str]:
        """``{"body": text, "signature": base64}``, as exported."""
        return {"body": self.body.decode("ascii"), "signature": _b64(self.signature)}

    @classmethod
    def from_json(cls, obj: object) -> Checkpoint:
        """Inverse of :meth:`to_json`; raises :class:`FormatError` on any other shape."""
        if not isinstance(obj, Mapping) or set(obj) != {"body", "signature"}:
            raise FormatError("a checkpoint is an object with 'body' and 'signature'")
        body = obj["body"]
        if not isinstance(body, str):
            raise FormatError("checkpoint body must be text")
        try:
            body_bytes = body.encode("ascii")
        except UnicodeEncodeError:
            raise FormatError("checkpoint body must be ASCII") from None
        return cls.parse(body_bytes, _unb64(obj["signature"], "checkpoint signature", 64))


def verify_checkpoint(checkpoint: Checkpoint, keys: PublicKeys) -> None:
    """Check a checkpoint's signature; raise :class:`AuditIntegrityError` if it is bad."""
    if not isinstance(checkpoint, Checkpoint):
        raise InvalidInputError("expected a Checkpoint")
    checkpoint.verify_signature(keys)


def _hash_list(obj: object, what: str) -> tuple[bytes, ...]:
    if not isinstance(obj, list) or len(obj) > 64:
        raise FormatError(f"{what} must be a list of at most 64 base64 hashes")
    return tuple(_unb64(h, what, 32) for h in obj)


def _int(obj: object, what: str) -> int:
    if not isinstance(obj, int) or isinstance(obj, bool) or not 0 <= obj < 1 << 63:
        raise FormatError(f"{what} must be a non-negative integer")
    return obj


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InclusionProof:
    """Proof that the entry at ``index`` is in the tree of ``size`` entries (RFC 9162 2.1.3)."""

    index: int
    """The entry's sequence number."""
    size: int
    """The tree size the proof is for (a checkpoint's size)."""
    hashes: tuple[bytes, ...]
    """The audit path, leaf side first."""

    def verify(self, entry: bytes, checkpoint: Checkpoint, keys: PublicKeys | None = None) -> None:
        """Check that ``entry`` (its exact bytes) is in the log ``checkpoint`` describes.

        With ``keys`` the checkpoint's signature is checked first. Raises
        :class:`AuditIntegrityError` on any failure.
        """
        if not isinstance(entry, bytes | bytearray):
            raise InvalidInputError("entry must be the entry's exact bytes")
        self.verify_leaf(leaf_hash(bytes(entry)), checkpoint, keys)

    def verify_leaf(self, leaf: bytes, checkpoint: Checkpoint,
                    keys: PublicKeys | None = None) -> None:
        """Like :meth:`verify` but with the entry's RFC 6962 leaf hash."""
        if not isinstance(checkpoint, Checkpoint):
            raise InvalidInputError("expected a Checkpoint")
        if keys is not None:
            checkpoint.verify_signature(keys)
        if checkpoint.size != self.size:
            raise AuditIntegrityError(
                f"proof is for size {self.size}, checkpoint has size {checkpoint.size}",
                position=self.index)
        verify_inclusion(self.index, self.size, leaf, self.hashes, checkpoint.root)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (hashes in base64)."""
        return {"index": self.index, "size": self.size, "hashes": [_b64(h) for h in self.hashes]}

    @classmethod
    def from_json(cls, obj: object) -> InclusionProof:
        """Inverse of :meth:`to_json`; raises :class:`FormatError` on any other shape."""
        if not isinstance(obj, Mapping) or set(obj) != {"index", "size", "hashes"}:
            raise FormatError("an inclusion proof has 'index', 'size' and 'hashes'")
        return cls(index=_int(obj["index"], "index"), size=_int(obj["size"], "size"),
                   hashes=_hash_list(obj["hashes"], "proof hash"))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyProof:
    """Proof that the tree of ``new_size`` extends the tree of ``old_size`` (RFC 9162 2.1.4)."""

    old_size: int
    """The size of the earlier tree (the checkpoint the auditor kept)."""
    new_size: int
    """The size of the later tree."""
    hashes: tuple[bytes, ...]
    """The proof's node hashes."""

    def verify(self, old: Checkpoint, new: Checkpoint, keys: PublicKeys | None = None) -> None:
        """Check that checkpoint ``new`` extends checkpoint ``old``.

        With ``keys`` both signatures are checked first; the origins must match.
        Raises :class:`AuditIntegrityError` on any failure.
        """
        if not _all_checkpoints(old, new):
            raise InvalidInputError("expected two Checkpoints")
        if keys is not None:
            old.verify_signature(keys)
            new.verify_signature(keys)
        if old.origin != new.origin:
            raise AuditIntegrityError("the checkpoints are of different logs",
                                      position=self.old_size)
        if (old.size, new.size) != (self.old_size, self.new_size):
            raise AuditIntegrityError("the proof is for other tree sizes",
                                      position=self.old_size)
        if old.size == new.size and not hmac.compare_digest(old.chain, new.chain):
            raise AuditIntegrityError("two checkpoints of one size disagree",
                                      position=max(old.size - 1, 0))
        if old.size == 0:
            return  # every tree extends the empty tree
        verify_consistency(self.old_size, self.new_size, old.root, new.root, self.hashes)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (hashes in base64)."""
        return {"old_size": self.old_size, "new_size": self.new_size,
                "hashes": [_b64(h) for h in self.hashes]}

    @classmethod
    def from_json(cls, obj: object) -> ConsistencyProof:
        """Inverse of :meth:`to_json`; raises :class:`FormatError` on any other shape."""
        if not isinstance(obj, Mapping) or set(obj) != {"old_size", "new_size", "hashes"}:
            raise FormatError("a consistency proof has 'old_size', 'new_size' and 'hashes'")
        return cls(old_size=_int(obj["old_size"], "old_size"),
                   new_size=_int(obj["new_size"], "new_size"),
                   hashes=_hash_list(obj["hashes"], "proof hash"))


def read_public_key(path: str | os.PathLike[str]) -> Ed25519Verifier:
    """Read an Ed25519 public key file: 32 raw bytes, or their hex or base64 text.

    What ``finprivacy audit check --public-key`` and the stand-alone verifier read; a
    file in none of these forms raises :class:`~finprivacy.errors.FormatError`.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) == 32:
        return Ed25519Verifier(data)
    try:
        text = data.decode("ascii", errors="strict").strip()
    except UnicodeDecodeError:
        raise FormatError("the public key file is not 32 bytes, hex or base64") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise FormatError("the public key file is not 32 bytes, hex or base64") from None
    return Ed25519Verifier(raw)
