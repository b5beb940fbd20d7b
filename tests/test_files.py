"""Streaming file encryption (issue 19): format, random access, and every tampering.

A reference decryptor, written here from the format in docs/explanation/files.md (not
from the library), decrypts what the library writes; a file committed in
tests/vectors/files pins the format.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import file_key_id, rewrap_file

SEG = 4096
VECTOR = Path(__file__).parent / "vectors" / "files" / "voucher_v1.fpef"


@pytest.fixture
def kr() -> fp.Keyring:
    return fp.Keyring.generate()


def _enc(tmp: Path, data: bytes, kr: fp.Keyring, name: str = "c", *, context: str = "vouchers",
         seg: int = SEG) -> Path:
    src, dst = tmp / f"{name}.plain", tmp / f"{name}.fpef"
    src.write_bytes(data)
    fp.encrypt_file(src, dst, keyring=kr, context=context, segment_size=seg)
    return dst


def reference_decrypt(blob: bytes, kr: fp.Keyring, context: str) -> bytes:
    """Decrypt from the documented layout only (the spec's own reader)."""
    magic, version, seg_size, wrap_len = struct.unpack(">4sBIH", blob[:11])
    assert magic == b"FPEF" and version == 1
    wrapped = blob[11:11 + wrap_len].decode("ascii")
    prefix = blob[11 + wrap_len:18 + wrap_len]
    key = kr.decrypt_bytes(wrapped, context="finprivacy/file:" + context)
    aad = b"FPEF\x01" + seg_size.to_bytes(4, "big") + prefix + context.encode()
    body = blob[18 + wrap_len:]
    size = seg_size + 16
    chunks = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
    out = b""
    for i, chunk in enumerate(chunks):
        last = b"\x01" if i == len(chunks) - 1 else b"\x00"
        out += AESGCM(key).decrypt(prefix + i.to_bytes(4, "big") + last, chunk, aad)
    return out


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 7])
def test_round_trip_and_reference_decryptor(tmp_path: Path, kr: fp.Keyring, size: int) -> None:
    data = os.urandom(size)
    path = _enc(tmp_path, data, kr)
    assert reference_decrypt(path.read_bytes(), kr, "vouchers") == data
    out = tmp_path / "out"
    assert fp.decrypt_file(path, out, keyring=kr, context="vouchers") == size
    assert out.read_bytes() == data
    with fp.open_encrypted(path, keyring=kr, context="vouchers") as r:
        assert r.size == size and r.read() == data
    assert file_key_id(path) == kr.primary_id


def test_the_pinned_file_still_decrypts() -> None:
    kr = fp.Keyring._from_material("f11e0001", bytes(range(32)))
    blob = VECTOR.read_bytes()
    want = b"voucher 2026-001: 6222020200112233445 " * 120
    assert reference_decrypt(blob, kr, "vouchers") == want
    with fp.open_encrypted(VECTOR, keyring=kr, context="vouchers") as r:
        assert r.read() == want


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 5 * SEG), reads=st.lists(
    st.tuples(st.integers(0, 6 * SEG), st.integers(0, 2 * SEG)), max_size=8))
def test_random_access_matches_the_plaintext(tmp_path_factory: pytest.TempPathFactory,
                                             size: int, reads: list[tuple[int, int]]) -> None:
    tmp = tmp_path_factory.mktemp("ra")
    kr = fp.Keyring.generate()
    data = bytes(i % 251 for i in range(size))
    path = _enc(tmp, data, kr)
    with fp.open_encrypted(path, keyring=kr, context="vouchers") as r:
        for pos, n in reads:
            r.seek(pos)
            assert r.read(n) == data[pos:pos + n]
        r.seek(-min(size, 10), io.SEEK_END)
        assert r.read() == data[size - min(size, 10):]


def test_the_writer_streams_and_an_unclosed_file_never_reads_as_complete(
        tmp_path: Path, kr: fp.Keyring) -> None:
    path = tmp_path / "w.fpef"
    w = fp.open_encrypted(path, "wb", keyring=kr, context="scans", segment_size=SEG)
    for _ in range(10):
        w.write(b"x" * 1000)
    assert w.plaintext_size == 10_000
    w.abandon()  # a crash before close
    with pytest.raises(fp.DecryptionError):
        fp.open_encrypted(path, keyring=kr, context="scans")
    with fp.open_encrypted(path, "wb", keyring=kr, context="scans", segment_size=SEG) as w2:
        w2.write(memoryview(b"y" * 9000))
        w2.write(b"z")
    with fp.open_encrypted(path, keyring=kr, context="scans") as r:
        assert r.read() == b"y" * 9000 + b"z"


def _segments(blob: bytes) -> tuple[bytes, list[bytes]]:
    wrap_len = struct.unpack(">H", blob[9:11])[0]
    head, body = blob[:18 + wrap_len], blob[18 + wrap_len:]
    return head, [body[i:i + SEG + 16] for i in range(0, len(body), SEG + 16)]


def _refused(tmp: Path, blob: bytes, kr: fp.Keyring, context: str = "vouchers") -> None:
    bad = tmp / "bad.fpef"
    bad.write_bytes(blob)
    with pytest.raises(fp.DecryptionError), fp.open_encrypted(bad, keyring=kr,
                                                              context=context) as r:
        r.read()
    out = tmp / "bad.out"
    with pytest.raises(fp.DecryptionError):
        fp.decrypt_file(bad, out, keyring=kr, context=context)
    assert not out.exists()
    assert not [p for p in tmp.iterdir() if p.name.endswith(".part")]


def test_truncation_at_and_between_every_segment_boundary(tmp_path: Path,
                                                          kr: fp.Keyring) -> None:
    blob = _enc(tmp_path, os.urandom(3 * SEG + 50), kr).read_bytes()
    head, segs = _segments(blob)
    cuts = set()
    offset = len(head)
    for s in segs:
        cuts |= {offset, offset + 1, offset + len(s) // 2, offset + len(s) - 1}
        offset += len(s)
    cuts |= {0, 5, len(head) - 1}
    for cut in sorted(c for c in cuts if c < len(blob)):
        _refused(tmp_path, blob[:cut], kr)


def test_reordered_duplicated_swapped_and_moved_parts_are_refused(
        tmp_path: Path, kr: fp.Keyring) -> None:
    a = _enc(tmp_path, os.urandom(3 * SEG + 9), kr, "a").read_bytes()
    b = _enc(tmp_path, os.urandom(3 * SEG + 9), kr, "b").read_bytes()
    head_a, sa = _segments(a)
    head_b, sb = _segments(b)
    _refused(tmp_path, head_a + sa[1] + sa[0] + sa[2] + sa[3], kr)      # reordered
    _refused(tmp_path, head_a + sa[0] + sa[0] + sa[2] + sa[3], kr)      # duplicated
    _refused(tmp_path, head_a + sa[0] + sb[1] + sa[2] + sa[3], kr)      # swapped in
    _refused(tmp_path, head_b + b"".join(sa), kr)                       # header moved
    _refused(tmp_path, head_a + sa[0] + sa[1] + sa[2], kr)              # last dropped
    _refused(tmp_path, head_a + sa[0] + sa[1] + sa[3], kr)              # middle dropped
    flipped = bytearray(a)
    flipped[len(head_a) + 100] ^= 1
    _refused(tmp_path, bytes(flipped), kr)
    _refused(tmp_path, a, kr, context="other")                          # wrong context
    _refused(tmp_path, a, fp.Keyring.generate())                        # wrong key
    _refused(tmp_path, b"PK\x03\x04" + a[4:], kr)                       # not ours


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_typed_error(tmp_path_factory: pytest.TempPathFactory,
                                            blob: bytes) -> None:
    tmp = tmp_path_factory.mktemp("fz")
    path = tmp / "x"
    path.write_bytes(b"FPEF\x01\x00\x00\x10\x00" + blob)
    with pytest.raises(fp.DecryptionError):
        fp.open_encrypted(path, keyring=fp.Keyring.generate(), context="c")


def test_rotation_rewraps_the_header_only(tmp_path: Path, kr: fp.Keyring) -> None:
    data = os.urandom(2 * SEG + 3)
    path = _enc(tmp_path, data, kr)
    before = path.read_bytes()
    old = kr.primary_id
    assert not rewrap_file(path, keyring=kr, context="vouchers")  # already current
    kr.rotate()
    assert rewrap_file(path, keyring=kr, context="vouchers")
    after = path.read_bytes()
    assert file_key_id(path) == kr.primary_id != old
    assert _segments(after)[1] == _segments(before)[1]  # the body, byte for byte
    with fp.open_encrypted(path, keyring=kr, context="vouchers") as r:
        assert r.read() == data


def test_a_file_under_a_subject_key_dies_with_the_subject(tmp_path: Path,
                                                          kr: fp.Keyring) -> None:
    sk = fp.SubjectKeys(kr, "memory:")
    src, dst = tmp_path / "s", tmp_path / "s.fpef"
    src.write_bytes(b"statement of client-42")
    fp.encrypt_file(src, dst, subject_keys=sk, subject="client-42", context="statements")
    with fp.open_encrypted(dst, subject_keys=sk, subject="client-42",
                           context="statements") as r:
        assert r.read() == b"statement of client-42"
    sk.shred("client-42")
    with pytest.raises(fp.SubjectErasedError):
        fp.open_encrypted(dst, subject_keys=sk, subject="client-42", context="statements")


def test_bad_arguments_and_a_failed_encryption_leave_nothing(
        tmp_path: Path, kr: fp.Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(fp.InvalidInputError):
        fp.open_encrypted(tmp_path / "x", "wb", keyring=kr, context="c", segment_size=10)
    with pytest.raises(fp.InvalidInputError):
        fp.open_encrypted(tmp_path / "x", "ab", keyring=kr, context="c")  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        fp.encrypt_file(tmp_path / "x", tmp_path / "y", keyring=kr, context="")
    with pytest.raises(fp.InvalidInputError):
        fp.encrypt_file(tmp_path / "x", tmp_path / "y", keyring=kr, subject_keys=object(),
                        subject="s", context="c")
    src = tmp_path / "big"
    src.write_bytes(os.urandom(5 * SEG))
    from finprivacy.crypto import EncryptedWriter

    calls = []

    def boom(self: EncryptedWriter, data: object) -> int:
        calls.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(EncryptedWriter, "write", boom)
    with pytest.raises(OSError, match="disk full"):
        fp.encrypt_file(src, tmp_path / "big.fpef", keyring=kr, context="c", segment_size=SEG)
    assert calls and not (tmp_path / "big.fpef").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["big"]
