"""Streaming file encryption (issue 19), all in the same run on the same file.

* ``fp.encrypt_file`` / ``fp.decrypt_file`` of 1 GiB (quick: 64 MiB) against the raw
  floor: AES-256-GCM over the same file in 1 MiB chunks (read, seal, write), with no
  format at all. Target: ≥ 0.8× its throughput.
* Tink ``StreamingAead`` (``AES256_GCM_HKDF_1MB``) and age (pyrage, X25519 recipient),
  each encrypting and decrypting the same file. Targets: ≥ 2.5× Tink and ≥ 2× age.
* Files live on tmpfs (``/dev/shm``) where there is one, so disk write-back does not
  decide the figures.
* Backup of a 1 GiB SQLite database (quick: 64 MiB) against an unencrypted copy through
  the backup API. Target: ≤ 1.5× its time.
* Peak memory: the resident set of a child process that encrypts and decrypts the
  file, less that of one that only imports finprivacy. Target: ≤ 64 MiB.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from benchmarks._harness import Timer, heading

MIB = 1 << 20


def _rate(size: int, seconds: float) -> str:
    return f"{size / MIB / seconds:9.0f} MiB/s"


def _line(name: str, size: int, seconds: float, floor: float | None = None,
          *, target: float | None = None, faster_than: bool = False) -> None:
    text = f"{name:<52} {_rate(size, seconds)}"
    if floor is not None:
        ratio = (seconds / floor) if faster_than else (floor / seconds)
        label = "x faster" if faster_than else "x raw AES-GCM"
        text += f"   {ratio:6.2f}{label}"
        if target is not None:
            text += f"  (target ≥ {target}: {'ok' if ratio >= target else 'MISSED'})"
    print(text)


def _raw_gcm(src: Path, dst: Path, back: Path) -> tuple[float, float]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    buf = bytearray(MIB)
    with Timer() as enc, open(src, "rb") as i, open(dst, "wb") as o:
        n = 0
        while k := i.readinto(buf):
            o.write(aead.encrypt(n.to_bytes(12, "big"), memoryview(buf)[:k], b""))
            n += 1
    sealed = bytearray(MIB + 16)
    with Timer() as dec, open(dst, "rb") as i, open(back, "wb") as o:
        n = 0
        while k := i.readinto(sealed):
            o.write(aead.decrypt(n.to_bytes(12, "big"), memoryview(sealed)[:k], b""))
            n += 1
    return enc.seconds, dec.seconds


def _tink(src: Path, dst: Path, back: Path) -> tuple[float, float] | None:
    try:
        import tink
        from tink import streaming_aead
    except ImportError:
        return None
    streaming_aead.register()
    handle = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
    primitive = handle.primitive(streaming_aead.StreamingAead)
    with Timer() as enc, open(src, "rb") as i, open(dst, "wb") as raw, \
            primitive.new_encrypting_stream(raw, b"vouchers") as o:
        while chunk := i.read(MIB):
            o.write(chunk)
    with Timer() as dec, open(dst, "rb") as raw, open(back, "wb") as o, \
            primitive.new_decrypting_stream(raw, b"vouchers") as i:
        while chunk := i.read(MIB):
            o.write(chunk)
    return enc.seconds, dec.seconds


def _age(src: Path, dst: Path, back: Path) -> tuple[float, float] | None:
    try:
        import pyrage
    except ImportError:
        return None
    ident = pyrage.x25519.Identity.generate()
    with Timer() as enc:
        pyrage.encrypt_file(str(src), str(dst), [ident.to_public()])
    with Timer() as dec:
        pyrage.decrypt_file(str(dst), str(back), [ident])
    return enc.seconds, dec.seconds


_CHILD = textwrap.dedent("""
    import sys
    import finprivacy as fp

    def peak_kib():
        # VmHWM: the high-water mark of this process image (ru_maxrss would carry the
        # parent's over exec).
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    if sys.argv[1] == "work":
        kr = fp.Keyring.generate()
        fp.encrypt_file(sys.argv[2], sys.argv[3], keyring=kr, context="bench")
        fp.decrypt_file(sys.argv[3], sys.argv[4], keyring=kr, context="bench")
        with fp.open_encrypted(sys.argv[3], keyring=kr, context="bench") as r:
            while r.read(1 << 16):
                pass
    print(peak_kib())
""")


def _peak_kib(*args: str) -> int:
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


def main(*, quick: bool = False) -> None:
    import finprivacy as fp

    size = (64 if quick else 1024) * MIB
    heading(f"files: streaming encryption of {size // MIB} MiB")
    # In memory (tmpfs) when there is one: the figures compare the encryption, not the
    # disk's write-back, which made the same run vary by 2x between orders.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "plain"
        with open(src, "wb") as f:
            block = os.urandom(MIB)
            for _ in range(size // MIB):
                f.write(block)
        enc, back = tmp / "enc", tmp / "back"
        kr = fp.Keyring.generate()

        raw_e = raw_d = ours_e = ours_d = float("inf")
        def fresh() -> None:  # every run writes new files: freeing old pages is not timed
            for p in (enc, back):
                p.unlink(missing_ok=True)

        for _ in range(2):  # alternate: drift hits both alike
            fresh()
            e, d = _raw_gcm(src, enc, back)
            fresh()
            raw_e, raw_d = min(raw_e, e), min(raw_d, d)
            with Timer() as te:
                fp.encrypt_file(src, enc, keyring=kr, context="bench")
            back.unlink(missing_ok=True)
            with Timer() as td:
                fp.decrypt_file(enc, back, keyring=kr, context="bench")
            ours_e, ours_d = min(ours_e, te.seconds), min(ours_d, td.seconds)
        _line("raw AES-256-GCM, 1 MiB chunks: encrypt", size, raw_e)
        _line("raw AES-256-GCM, 1 MiB chunks: decrypt", size, raw_d)
        _line("fp.encrypt_file", size, ours_e, raw_e, target=0.8)
        _line("fp.decrypt_file", size, ours_d, raw_d, target=0.8)
        for name, run, target in (("Tink StreamingAead AES256_GCM_HKDF_1MB", _tink, 2.5),
                                  ("age (pyrage, X25519)", _age, 2.0)):
            for p in (tmp / "peer", tmp / "peer.back", enc, back):
                p.unlink(missing_ok=True)
            got = run(src, tmp / "peer", tmp / "peer.back")
            if got is None:
                print(f"  ({name} not installed: pip install -e '.[bench]')")
                continue
            _line(f"{name}: encrypt", size, got[0], ours_e, target=target, faster_than=True)
            _line(f"{name}: decrypt", size, got[1], ours_d, target=target, faster_than=True)
        fp.encrypt_file(src, enc, keyring=kr, context="bench")
        peak = (_peak_kib("work", str(src), str(enc), str(back)) - _peak_kib("import")) / 1024
        print(f"{'peak memory over a bare import, encrypt + decrypt + read':<52} {peak:9.1f} MiB"
              f"  (target ≤ 64 MiB: {'ok' if peak <= 64 else 'MISSED'})")
    bench_backup(quick=quick)


def bench_backup(*, quick: bool = False) -> None:
    """Encrypted SQLite backup against an unencrypted backup-API copy (target ≤ 1.5×)."""
    import sqlite3

    import finprivacy as fp
    from finprivacy.backup import create_backup

    mib = 64 if quick else 1024
    heading(f"backup: a {mib} MiB SQLite database")
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "books.db"
        conn = sqlite3.connect(db)
        conn.execute("create table ledger (id integer primary key, memo blob)")
        row = os.urandom(4000)
        with conn:
            conn.executemany("insert into ledger (memo) values (?)",
                             ((row,) for _ in range(mib * MIB // 4096)))
        conn.close()
        size = db.stat().st_size
        kr = fp.Keyring.generate()
        plain_t = ours_t = floor_t = float("inf")
        for i in range(2):
            copy = tmp / f"floor{i}.db"
            with Timer() as t:  # the least any hashed backup does: copy, hash, write
                src, dst = sqlite3.connect(db), sqlite3.connect(copy)
                src.backup(dst)
                src.close()
                dst.close()
                digest = hashlib.sha256()
                with open(copy, "rb") as i_f, open(tmp / "floor.out", "wb") as o_f:
                    while chunk := i_f.read(MIB):
                        digest.update(chunk)
                        o_f.write(chunk)
            floor_t = min(floor_t, t.seconds)
            copy.unlink()
            (tmp / "floor.out").unlink()
            copy = tmp / f"copy{i}.db"
            with Timer() as t:
                src, dst = sqlite3.connect(db), sqlite3.connect(copy)
                src.backup(dst)
                src.close()
                dst.close()
            plain_t = min(plain_t, t.seconds)
            copy.unlink()
            with Timer() as t:
                create_backup(f"sqlite:///{db}", tmp / f"b{i}", keyring=kr)
            ours_t = min(ours_t, t.seconds)
        _line("sqlite3 backup API copy (unencrypted)", size, plain_t)
        print(f"{'floor: that copy + SHA-256 + writing it again':<52} {_rate(size, floor_t)}"
              f"   {floor_t / plain_t:6.2f}x the copy's time")
        ratio = ours_t / plain_t
        print(f"{'finprivacy backup create (encrypted, signed)':<52} {_rate(size, ours_t)}"
              f"   {ratio:6.2f}x the copy's time  (target ≤ 1.5: "
              f"{'ok' if ratio <= 1.5 else 'MISSED'})")
