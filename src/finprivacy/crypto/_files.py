"""Streaming file encryption: segments sealed with AES-256-GCM under a per-file key.

The format (version 1; docs/explanation/files.md draws it, tests pin it and decrypt it
with a reference reader written from the documentation):

* header::

      magic      4 bytes   b"FPEF"
      version    1 byte    0x01
      seg_size   4 bytes   big-endian, plaintext bytes per segment (4 KiB … 64 MiB)
      wrap_len   2 bytes   big-endian, length of the wrapped key
      wrapped    wrap_len  ASCII token: the 32-byte file key sealed by the keyring
                           (``fp1``) or by a subject's key (``fps1``), with context
                           ``"finprivacy/file:" + context``
      prefix     7 bytes   random nonce prefix

* then segments 0 … n-1: ``AES-256-GCM(file_key, nonce, plaintext_i, aad)`` with
  ``nonce = prefix ‖ uint32_be(i) ‖ last`` (``last`` is 0x01 for the final segment,
  0x00 otherwise) and ``aad = b"FPEF" ‖ 0x01 ‖ seg_size ‖ prefix ‖ context``. Every
  segment but the last holds exactly ``seg_size`` plaintext bytes; the last holds 0 to
  ``seg_size`` (an empty file is one empty last segment). Each ciphertext segment is
  its plaintext plus a 16-byte tag.

This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) as Tink's
streaming AEAD and age use it: reordering, dropping, duplicating or swapping segments
between files, and truncating at or between segment boundaries, all fail
authentication. The file key is random per file, so the nonce prefix never repeats
under one key; the wrapped key is the only part that depends on the keyring, so key
rotation rewraps the header without touching the body (:func:`rewrap_file`).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, Protocol, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from typing_extensions import Buffer

from ..errors import DecryptionError, InvalidInputError

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "EncryptedReader",
    "EncryptedWriter",
    "FileKeyWrapper",
    "atomic_output",
    "decrypt_file",
    "encrypt_file",
    "file_key_id",
    "open_encrypted",
    "rewrap_file",
]

MAGIC = b"FPEF"
VERSION = 1
TAG = 16
PREFIX = 7
DEFAULT_SEGMENT_SIZE = 1 << 20
"""1 MiB of plaintext per segment (what Tink's ``AES256_GCM_HKDF_1MB`` uses)."""
_MIN_SEGMENT, _MAX_SEGMENT = 1 << 12, 1 << 26
_FIXED = struct.Struct(">4sBIH")  # magic, version, seg_size, wrap_len
_BAD = "encrypted file is damaged, truncated, or not for this key or context"


class FileKeyWrapper(Protocol):
    """What seals a file's key: a :class:`~finprivacy.Keyring` or a subject's keys."""

    def wrap(self, file_key: bytes, context: str) -> str:
        """Seal the 32-byte ``file_key`` into an ASCII token bound to ``context``."""
        ...

    def unwrap(self, token: str, context: str) -> bytes:
        """Open a token made by :meth:`wrap`; raise ``DecryptionError`` if it cannot."""
        ...


class _KeyringWrapper:
    __slots__ = ("_kr",)

    def __init__(self, keyring: Any) -> None:
        self._kr = keyring

    def wrap(self, file_key: bytes, context: str) -> str:
        return str(self._kr.encrypt(file_key, context=context))

    def unwrap(self, token: str, context: str) -> bytes:
        return bytes(self._kr.decrypt_bytes(token, context=context))

    def needs_rewrap(self, token: str) -> bool:
        return bool(self._kr.needs_reencrypt(token))


class _SubjectWrapper:
    __slots__ = ("_sk", "_subject")

    def __init__(self, subject_keys: Any, subject: str) -> None:
        self._sk, self._subject = subject_keys, subject

    def wrap(self, file_key: bytes, context: str) -> str:
        return str(self._sk.encrypt(self._subject, file_key, context=context))

    def unwrap(self, token: str, context: str) -> bytes:
        return bytes(self._sk.decrypt(token, context=context, as_type=bytes))

    def needs_rewrap(self, token: str) -> bool:
        return bool(self._sk.needs_reencrypt(token))


def _wrapper(keyring: Any, subject_keys: Any, subject: str | None) -> Any:
    if subject_keys is not None:
        if keyring is not None:
            raise InvalidInputError("give keyring= or subject_keys=, not both")
        if not isinstance(subject, str) or not subject:
            raise InvalidInputError("subject_keys= needs subject=")
        return _SubjectWrapper(subject_keys, subject)
    if keyring is None:
        from ._context import current_keyring

        keyring = current_keyring()
    return _KeyringWrapper(keyring)


def _wrap_context(context: str) -> str:
    given: object = context
    if not isinstance(given, str) or not given:
        raise InvalidInputError("context must be a non-empty str")
    return "finprivacy/file:" + context


def _check_segment_size(segment_size: int) -> None:
    size: object = segment_size
    if not isinstance(size, int) or not _MIN_SEGMENT <= size <= _MAX_SEGMENT:
        raise InvalidInputError(
            f"segment_size must be between {_MIN_SEGMENT} and {_MAX_SEGMENT} bytes")


def _aad(seg_size: int, prefix: bytes, context: str) -> bytes:
    return MAGIC + bytes([VERSION]) + seg_size.to_bytes(4, "big") + prefix + context.encode()


class _Header:
    __slots__ = ("prefix", "raw", "seg_size", "wrapped")

    def __init__(self, seg_size: int, wrapped: str, prefix: bytes) -> None:
        self.seg_size, self.wrapped, self.prefix = seg_size, wrapped, prefix
        token = wrapped.encode("ascii")
        self.raw = _FIXED.pack(MAGIC, VERSION, seg_size, len(token)) + token + prefix

    @classmethod
    def read(cls, f: IO[bytes]) -> _Header:
        fixed = f.read(_FIXED.size)
        if len(fixed) != _FIXED.size:
            raise DecryptionError(_BAD)
        magic, version, seg_size, wrap_len = _FIXED.unpack(fixed)
        if magic != MAGIC:
            raise DecryptionError("not a finprivacy encrypted file (bad magic)")
        if version != VERSION:
            raise DecryptionError(f"unsupported encrypted file version {version}")
        if not _MIN_SEGMENT <= seg_size <= _MAX_SEGMENT:
            raise DecryptionError(_BAD)
        rest = f.read(wrap_len + PREFIX)
        if len(rest) != wrap_len + PREFIX:
            raise DecryptionError(_BAD)
        try:
            wrapped = rest[:wrap_len].decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionError(_BAD) from None
        return cls(seg_size, wrapped, rest[wrap_len:])


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 1 << 32:
        raise InvalidInputError("encrypted file too large (2**32 segments)")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptedWriter(io.RawIOBase):
    """A write-only file object that encrypts as it goes (``open_encrypted(..., "wb")``).

    Memory stays at one segment whatever the size. The final segment is written on
    :meth:`close`; a file never closed (a crash) fails to decrypt rather than reading
    as complete. Not seekable.
    """

    def __init__(self, raw: IO[bytes], wrapper: Any, context: str, segment_size: int,
                 *, owns: bool = True) -> None:
        super().__init__()
        _check_segment_size(segment_size)
        key = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(key)
        prefix = os.urandom(PREFIX)
        self._header = _Header(segment_size, wrapper.wrap(key, _wrap_context(context)),
                               prefix)
        self._aad = _aad(segment_size, prefix, context)
        self._raw, self._owns = raw, owns
        self._seg = segment_size
        self._buf = bytearray()
        self._index = 0
        self._written = 0
        raw.write(self._header.raw)

    def writable(self) -> bool:
        """Return True."""
        return True

    def write(self, data: Buffer) -> int:
        """Encrypt and write ``data`` (whole segments at once); return its length."""
        if self.closed:
            raise ValueError("write to a closed encrypted file")
        view = memoryview(data).cast("B")
        n = len(view)
        buf, seg = self._buf, self._seg
        pos = 0
        if buf:
            need = seg - len(buf)
            if n <= need:  # the buffer never holds more than a segment
                buf += view
                self._written += n
                return n
            buf += view[:need]
            pos = need
            self._seal(buf, last=False)
            buf.clear()
        # Whole segments straight from the caller's buffer, keeping at least one byte
        # back: the last segment is sealed on close.
        rest = n - pos
        if rest > seg:
            whole = ((rest - 1) // seg) * seg
            for start in range(pos, pos + whole, seg):
                self._seal(view[start:start + seg], last=False)
            pos += whole
        buf += view[pos:]
        self._written += n
        return n

    def _seal(self, chunk: bytes | bytearray | memoryview, *, last: bool) -> None:
        self._raw.write(self._aead.encrypt(_nonce(self._header.prefix, self._index, last),
                                           chunk, self._aad))
        self._index += 1

    def close(self) -> None:
        """Seal the final segment, flush, and close the underlying file (if owned)."""
        if self.closed:
            return
        try:
            self._seal(self._buf, last=True)
            self._buf = bytearray()
            self._raw.flush()
            if self._owns and hasattr(self._raw, "fileno"):
                os.fsync(self._raw.fileno())
        finally:
            if self._owns:
                self._raw.close()
            super().close()

    def abandon(self) -> None:
        """Close without sealing the final segment (what is written never decrypts)."""
        if not self.closed:
            if self._owns:
                self._raw.close()
            super().close()

    @property
    def key_id(self) -> str:
        """The id of the key that wrapped this file's key."""
        return self._header.wrapped.split(".")[1]

    @property
    def plaintext_size(self) -> int:
        """Bytes written so far."""
        return self._written


class EncryptedReader(io.RawIOBase):
    """A read-only, seekable file object over an encrypted file.

    Reads decrypt only the segments they touch, so memory stays at one segment and
    ``seek`` is cheap. The final segment is authenticated when the file is opened, so
    a file truncated at any point raises :class:`~finprivacy.errors.DecryptionError`
    at once; every other segment is authenticated before any of its bytes are returned.
    """

    def __init__(self, raw: IO[bytes], wrapper: Any, context: str, *,
                 owns: bool = True) -> None:
        super().__init__()
        self._raw, self._owns = raw, owns
        try:
            header = _Header.read(raw)
            key = wrapper.unwrap(header.wrapped, _wrap_context(context))
            if len(key) != 32:
                raise DecryptionError(_BAD)
            self._aead = AESGCM(key)
            self._header = header
            self._aad = _aad(header.seg_size, header.prefix, context)
            self._start = len(header.raw)
            body = raw.seek(0, io.SEEK_END) - self._start
            ct = header.seg_size + TAG
            self._count = max(1, -(-body // ct))
            last_len = body - (self._count - 1) * ct
            if last_len < TAG:
                raise DecryptionError(_BAD)
            self._size = body - self._count * TAG
            self._pos = 0
            self._cached: tuple[int, bytes] | None = None
            self._segment(self._count - 1)  # authenticates the end: no silent truncation
        except BaseException:
            if owns:
                raw.close()
            raise

    def _segment(self, index: int) -> bytes:
        cached = self._cached
        if cached is not None and cached[0] == index:
            return cached[1]
        ct = self._header.seg_size + TAG
        self._raw.seek(self._start + index * ct)
        data = self._raw.read(ct)
        last = index == self._count - 1
        try:
            plain = self._aead.decrypt(_nonce(self._header.prefix, index, last), data,
                                       self._aad)
        except InvalidTag:
            raise DecryptionError(_BAD) from None
        if not last and len(plain) != self._header.seg_size:  # pragma: no cover - GCM
            raise DecryptionError(_BAD)
        self._cached = (index, plain)
        return plain

    def readable(self) -> bool:
        """Return True."""
        return True

    def seekable(self) -> bool:
        """Return True."""
        return True

    @property
    def size(self) -> int:
        """The plaintext size in bytes."""
        return self._size

    @property
    def key_id(self) -> str:
        """The id of the key that wrapped this file's key."""
        return self._header.wrapped.split(".")[1]

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to a plaintext offset; return it."""
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise InvalidInputError(f"bad whence {whence}")
        if pos < 0:
            raise InvalidInputError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        """Return the plaintext offset."""
        return self._pos

    def readinto(self, b: Buffer) -> int:
        """Decrypt into ``b`` from the current offset; return the bytes read."""
        view = memoryview(b).cast("B")
        want = min(len(view), max(0, self._size - self._pos))
        done = 0
        seg = self._header.seg_size
        while done < want:
            index, within = divmod(self._pos, seg)
            plain = self._segment(index)
            take = min(want - done, len(plain) - within)
            view[done:done + take] = plain[within:within + take]
            done += take
            self._pos += take
        return done

    def readall(self) -> bytes:
        """Read to the end."""
        out = bytearray()
        seg = self._header.seg_size
        while self._pos < self._size:
            index, within = divmod(self._pos, seg)
            plain = self._segment(index)
            out += plain[within:]
            self._pos += len(plain) - within
        return bytes(out)

    def close(self) -> None:
        """Close the underlying file (if owned)."""
        if not self.closed:
            self._cached = None
            if self._owns:
                self._raw.close()
            super().close()


@overload
def open_encrypted(path: str | os.PathLike[str], mode: Literal["rb"] = "rb", *, context: str,
                   keyring: Any = None, subject_keys: Any = None, subject: str | None = None,
                   segment_size: int = DEFAULT_SEGMENT_SIZE) -> EncryptedReader: ...
@overload
def open_encrypted(path: str | os.PathLike[str], mode: Literal["wb"], *, context: str,
                   keyring: Any = None, subject_keys: Any = None, subject: str | None = None,
                   segment_size: int = DEFAULT_SEGMENT_SIZE) -> EncryptedWriter: ...


def open_encrypted(path: str | os.PathLike[str], mode: Literal["rb", "wb"] = "rb", *,
                   context: str, keyring: Any = None, subject_keys: Any = None,
                   subject: str | None = None,
                   segment_size: int = DEFAULT_SEGMENT_SIZE) -> EncryptedReader | EncryptedWriter:
    """Open an encrypted file for reading (seekable) or writing.

    ``context`` names what the file is (``"vouchers"``, ``"backups/books"``) and must
    be given again to read it. The file's key is sealed by ``keyring`` (default: the
    one from :func:`~finprivacy.use_keyring`) or, with ``subject_keys`` and ``subject``,
    under that client's key, so shredding the client makes the file unreadable.
    Writing goes straight to ``path``; :func:`encrypt_file` writes atomically.
    """
    if mode not in ("rb", "wb"):
        raise InvalidInputError("mode must be 'rb' or 'wb'")
    wrapper = _wrapper(keyring, subject_keys, subject)
    _wrap_context(context)
    if mode == "rb":
        return EncryptedReader(open(path, "rb"), wrapper, context)
    _check_segment_size(segment_size)  # before anything is created
    raw = open(path, "wb")  # noqa: SIM115 - the writer owns it
    try:
        return EncryptedWriter(raw, wrapper, context, segment_size)
    except BaseException:
        raw.close()
        raise


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write a file atomically: a temporary file beside ``path``, fsync, rename.

    Until the block ends without an error nothing exists at ``path`` (an existing file
    is replaced only then); on any error the temporary file is removed.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encrypt_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, context: str,
                 keyring: Any = None, subject_keys: Any = None, subject: str | None = None,
                 segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Encrypt ``src`` into ``dst`` atomically (temporary file, fsync, rename); return its size.

    Until the rename nothing exists at ``dst``, so a crash never leaves a file that
    looks complete.
    """
    wrapper = _wrapper(keyring, subject_keys, subject)
    _wrap_context(context)
    _check_segment_size(segment_size)
    with open(src, "rb") as inp, atomic_output(dst) as raw:
        writer = EncryptedWriter(raw, wrapper, context, segment_size, owns=False)
        buf = bytearray(segment_size * 4)
        view = memoryview(buf)
        while n := inp.readinto(buf):
            writer.write(view[:n])
        writer.close()
    return writer.plaintext_size


def decrypt_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, context: str,
                 keyring: Any = None, subject_keys: Any = None,
                 subject: str | None = None) -> int:
    """Decrypt ``src`` into ``dst`` atomically; return the plaintext size.

    Every segment is authenticated before ``dst`` appears: a damaged file raises
    :class:`~finprivacy.errors.DecryptionError` and leaves nothing at ``dst``.
    """
    wrapper = _wrapper(keyring, subject_keys, subject)
    _wrap_context(context)
    with EncryptedReader(open(src, "rb"), wrapper, context) as reader:
        with atomic_output(dst) as out:
            buf = bytearray(reader._header.seg_size)
            while n := reader.readinto(buf):
                out.write(memoryview(buf)[:n])
        return reader.size


def file_key_id(path: str | os.PathLike[str]) -> str:
    """Return the id of the key that sealed an encrypted file's key (no decryption)."""
    with open(path, "rb") as f:
        header = _Header.read(f)
    parts = header.wrapped.split(".")
    if len(parts) != 3:
        raise DecryptionError(_BAD)
    return parts[1]


def rewrap_file(path: str | os.PathLike[str], *, context: str, keyring: Any = None,
                subject_keys: Any = None, subject: str | None = None) -> bool:
    """Seal the file's key again under the current primary key; return whether it did.

    Only the header changes: the body is copied byte for byte, never decrypted or
    re-encrypted. The file is replaced atomically. Files already under the primary key
    are left alone (``False``).
    """
    wrapper = _wrapper(keyring, subject_keys, subject)
    target = Path(path)
    with open(target, "rb") as f:
        header = _Header.read(f)
        if not wrapper.needs_rewrap(header.wrapped):
            return False
        wctx = _wrap_context(context)
        key = wrapper.unwrap(header.wrapped, wctx)
        new = _Header(header.seg_size, wrapper.wrap(key, wctx), header.prefix)
        with atomic_output(target) as out:
            out.write(new.raw)
            while chunk := f.read(1 << 20):
                out.write(chunk)
    return True

