"""Backups: snapshot, encrypt, sign, verify, restore, prune (see the package docstring)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._stores import redact_url
from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock
from ..crypto import Ed25519Signer, Ed25519Verifier, Keyring, atomic_output, open_encrypted
from ..errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    VerificationError,
)

__all__ = [
    "BackupManifest",
    "RestoreReport",
    "create_backup",
    "list_backups",
    "prune_backups",
    "read_manifest",
    "restore_backup",
    "verify_backup",
]

FORMAT = 1
_SIGN_INFO = b"finprivacy/backup/manifest-ed25519"
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True)
class BackupManifest:
    """What a backup holds; signed, so it cannot be altered unnoticed."""

    file: str
    """The encrypted snapshot's file name, beside the manifest."""
    name: str
    """The backup's name (the context suffix)."""
    kind: str
    """``sqlite`` or ``postgresql``."""
    source: str
    """Where it came from (no password)."""
    created: _dt.datetime
    """When it was taken (UTC)."""
    plaintext_size: int
    plaintext_sha256: str
    size: int
    """Size of the encrypted file."""
    key_id: str
    """The keyring key that sealed the snapshot's file key."""
    tables: Mapping[str, int]
    """Row count per table at backup time."""
    signer: str = ""
    """Id of the Ed25519 key that signed the manifest (derived from the keyring)."""
    age_file: str = ""
    """The off-site copy for age recipients, if one was made (opens with ``age -d``)."""
    signature: str = ""
    format: int = FORMAT

    def body(self) -> bytes:
        """Return the canonical bytes that are signed (all but the signature)."""
        data = self.as_dict()
        data.pop("signature")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    def as_dict(self) -> dict[str, Any]:
        """Return the fields, JSON-ready."""
        data = dataclasses.asdict(self)
        data["created"] = self.created.isoformat()
        data["tables"] = dict(self.tables)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BackupManifest:
        """Read a manifest written by :meth:`as_dict`."""
        try:
            fields = {f.name for f in dataclasses.fields(cls)}
            if set(data) != fields or data["format"] != FORMAT:
                raise ValueError("fields")
            return cls(**{**data, "created": _dt.datetime.fromisoformat(data["created"]),
                          "tables": dict(data["tables"])})
        except (KeyError, TypeError, ValueError):
            raise VerificationError("not a finprivacy backup manifest (format 1)") from None


@dataclasses.dataclass(frozen=True, slots=True)
class RestoreReport:
    """The outcome of :func:`restore_backup`."""

    target: str
    tables: Mapping[str, int]
    """Row counts found in the restored database."""
    integrity: str
    """``ok`` (SQLite ``integrity_check``; ``pg_restore`` exit 0)."""


def _signer(keyring: Keyring, key_id: str | None = None) -> Ed25519Signer:
    _, seed = keyring.derive_key(_SIGN_INFO, key_id=key_id)
    return Ed25519Signer.from_private_bytes(seed)


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_output(path) as f:
        f.write(data)


def _kind(source: str) -> str:
    if source.startswith("sqlite:///"):
        return "sqlite"
    if source.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    raise InvalidInputError("a backup source is sqlite:///path or postgresql://…")


def _sqlite_path(url: str) -> str:
    path = url.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        raise InvalidInputError("back up a SQLite file, not an in-memory database")
    return path


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise ConfigurationError(f"{name} not found: install the PostgreSQL client tools")
    return found


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    """Libpq arguments for a URL (the password travels in PGPASSWORD, never argv)."""
    parts = urllib.parse.urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = urllib.parse.unquote(parts.password)
    clean = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1] if "@" in parts.netloc
                           else parts.netloc)
    if parts.username:
        clean = clean._replace(netloc=f"{parts.username}@{clean.netloc}")
    return ["--dbname", urllib.parse.urlunsplit(clean)], env


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]  # noqa: S608
            for n in names}


def _pg_counts(url: str) -> dict[str, int]:
    from ..storage import open_database

    db = open_database(url)
    try:
        rows = db.fetchall(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema') ORDER BY 1, 2")
        out = {}
        for schema, table in rows:
            quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))
            count = db.fetchall(f"SELECT count(*) FROM {quoted}")  # noqa: S608 - quoted
            out[f"{schema}.{table}"] = int(count[0][0])
        return out
    finally:
        db.close()


def _sqlite_snapshot(path: str) -> Iterator[bytes]:
    """Yield the database through the online backup API into memory, in chunks.

    (An anonymous memory file was tried: SQLite resolves ``/proc/self/fd/N`` to its
    link target and would create a real file there; it must never touch the disk.)
    """
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    mem = sqlite3.connect(":memory:")
    try:
        src.backup(mem)
        data = mem.serialize()
    finally:
        src.close()
        mem.close()
    view = memoryview(data)
    for i in range(0, len(view), _CHUNK):
        yield bytes(view[i:i + _CHUNK])


def _snapshot(kind: str, source: str) -> Iterator[bytes]:
    """Yield the snapshot's plaintext in chunks; nothing touches the disk."""
    if kind == "sqlite":
        path = _sqlite_path(source)
        if not os.path.isfile(path):
            raise NotFoundError(f"no SQLite database at {path}")
        yield from _sqlite_snapshot(path)
        return
    args, env = _pg_env(source)
    proc = subprocess.Popen(  # noqa: S603 - our arguments, no shell
        [_pg_tool("pg_dump"), "--format=custom", "--no-password", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if proc.stdout is None or proc.stderr is None:  # pragma: no cover - PIPE was asked
        raise ConfigurationError("pg_dump gave no pipe")
    with proc:  # closes the pipes
        try:
            while chunk := proc.stdout.read(_CHUNK):
                yield chunk
            err = proc.stderr.read().decode(errors="replace")
            if proc.wait() != 0:
                raise ConfigurationError(f"pg_dump failed: {err.strip()[:300]}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def create_backup(source: str, directory: str | os.PathLike[str], *, keyring: Keyring,
                  name: str = "books", clock: Clock | None = None,
                  age_recipients: Sequence[str] = ()) -> BackupManifest:
    """Back up ``source`` (``sqlite:///…`` or ``postgresql://…``) into ``directory``.

    ``age_recipients`` (``age1…`` X25519 public keys; extra ``age``) also writes
    ``<stem>.age``, the same snapshot encrypted to those recipients with age, so a
    disaster copy opens with the standard ``age`` tool and the recipient's identity
    even without finprivacy or the keyring. The trade-off: whoever holds one of those
    identities can read every such backup, and key rotation or crypto-shredding in the
    keyring does not reach it; keep the identities offline, like a safe's key.
    """
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise InvalidInputError("a backup name is letters, digits, '-' and '_'")
    kind = _kind(source)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    now = (clock or SystemClock()).now()
    stem = f"{name}-{now:%Y%m%dT%H%M%S%fZ}"
    target = folder / f"{stem}.fpbk"
    if target.exists():
        raise InvalidInputError(f"{target.name} exists already")
    tables = _pg_counts(source) if kind == "postgresql" else None
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".part", dir=folder)
    os.close(fd)
    try:
        writer = open_encrypted(tmp, "wb", keyring=keyring, context=f"backup:{name}")
        try:
            for chunk in _snapshot(kind, source):
                digest.update(chunk)
                size += len(chunk)
                writer.write(chunk)
        except BaseException:
            writer.abandon()
            raise
        key_id = writer.key_id
        writer.close()
        if kind == "sqlite":
            conn = sqlite3.connect(f"file:{_sqlite_path(source)}?mode=ro", uri=True)
            try:
                tables = _sqlite_counts(conn)
            finally:
                conn.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    age_name = ""
    if age_recipients:
        try:
            age_name = _age_copy(folder, stem, target, keyring, f"backup:{name}",
                                 age_recipients)
        except BaseException:
            target.unlink(missing_ok=True)  # no snapshot without its manifest
            raise
    signer = _signer(keyring)
    manifest = BackupManifest(
        file=target.name, name=name, kind=kind, source=redact_url(source), created=now,
        plaintext_size=size, plaintext_sha256=digest.hexdigest(),
        size=target.stat().st_size, key_id=key_id, tables=tables or {},
        signer=signer.key_id, age_file=age_name)
    signed = dataclasses.replace(manifest, signature=signer.sign(manifest.body()).hex())
    _atomic_write(folder / f"{stem}.manifest.json",
                  json.dumps(signed.as_dict(), indent=2, sort_keys=True).encode())
    return signed


def _age_copy(folder: Path, stem: str, snapshot: Path, keyring: Keyring, context: str,
              recipients: Sequence[str]) -> str:
    """Write ``<stem>.age`` from the encrypted snapshot, streaming (no plaintext file)."""
    try:
        import pyrage
    except ImportError:
        raise ConfigurationError("age recipients need pyrage: pip install "
                                 "'finprivacy[age]'") from None
    try:
        parsed = [pyrage.x25519.Recipient.from_str(r) for r in recipients]
    except Exception:
        raise InvalidInputError("an age recipient is an 'age1…' X25519 public key") from None
    target = folder / f"{stem}.age"
    with open_encrypted(snapshot, keyring=keyring, context=context) as reader, \
            atomic_output(target) as out:
        pyrage.encrypt_io(reader, out, parsed)
    return target.name


def _manifest_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.name.endswith(".fpbk"):
        p = p.with_name(p.name.removesuffix(".fpbk") + ".manifest.json")
    if not p.is_file():
        raise NotFoundError(f"no backup manifest at {p}")
    return p


def read_manifest(path: str | os.PathLike[str]) -> BackupManifest:
    """Read a manifest (not verified: see :func:`verify_backup`)."""
    p = _manifest_path(path)
    try:
        data = json.loads(p.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise VerificationError(f"{p.name} is not a backup manifest") from None
    if not isinstance(data, dict):
        raise VerificationError(f"{p.name} is not a backup manifest")
    return BackupManifest.from_dict(data)


def verify_backup(path: str | os.PathLike[str], *, keyring: Keyring) -> BackupManifest:
    """Check the signature, authenticate every segment and the hash; restore nothing.

    Raises :class:`~finprivacy.errors.VerificationError` (manifest) or
    :class:`~finprivacy.errors.DecryptionError` (snapshot) on any failure.
    """
    mp = _manifest_path(path)
    manifest = read_manifest(mp)
    try:
        signer = _signer(keyring, _signer_key(keyring, manifest.signer))
        Ed25519Verifier(signer.public_key_bytes()).verify(bytes.fromhex(manifest.signature),
                                                        manifest.body())
    except (ValueError, VerificationError):
        raise VerificationError(f"{mp.name}: the signature does not verify") from None
    snapshot = mp.parent / manifest.file
    if not snapshot.is_file() or snapshot.stat().st_size != manifest.size:
        raise VerificationError(f"{manifest.file} is missing or not the size recorded")
    digest = hashlib.sha256()
    with open_encrypted(snapshot, keyring=keyring, context=f"backup:{manifest.name}") as r:
        while chunk := r.read(_CHUNK):
            digest.update(chunk)
        size = r.size
    if size != manifest.plaintext_size or digest.hexdigest() != manifest.plaintext_sha256:
        raise VerificationError(f"{manifest.file} does not match its manifest")
    return manifest


def _signer_key(keyring: Keyring, signer_id: str) -> str | None:
    """Return the keyring key whose derived signing key has id ``signer_id``."""
    for info in keyring.keys():  # noqa: SIM118 - Keyring.keys() is a method, not a dict
        try:
            if _signer(keyring, info.key_id).key_id == signer_id:
                return info.key_id
        except Exception:  # noqa: S112 - a key that cannot derive is not the one
            continue
    raise VerificationError("the manifest was signed by a key this keyring does not hold")


def restore_backup(path: str | os.PathLike[str], target: str, *,
                   keyring: Keyring) -> RestoreReport:
    """Restore into a new database ``target`` and check it; the snapshot is verified first.

    ``target`` is ``sqlite:///new.db`` (must not exist) or ``postgresql://…/newdb`` (an
    empty database the caller created). Row counts must equal the manifest's.
    """
    manifest = verify_backup(path, keyring=keyring)
    snapshot = _manifest_path(path).parent / manifest.file
    context = f"backup:{manifest.name}"
    if _kind(target) != manifest.kind:
        raise InvalidInputError(f"a {manifest.kind} backup restores into {manifest.kind}")
    if manifest.kind == "sqlite":
        dest = Path(_sqlite_path(target))
        if dest.exists():
            raise InvalidInputError(f"{dest} exists; restore into a new file")
        with open_encrypted(snapshot, keyring=keyring, context=context) as r:
            data = r.read()
        mem = sqlite3.connect(":memory:")
        part = dest.with_name(f".{dest.name}.restoring")
        try:
            mem.deserialize(data)
            out = sqlite3.connect(part)
            try:
                mem.backup(out)
                integrity = out.execute("PRAGMA integrity_check").fetchone()[0]
                counts = _sqlite_counts(out)
            finally:
                out.close()
            if integrity != "ok" or counts != dict(manifest.tables):
                raise VerificationError(f"restored database fails its checks ({integrity})")
            os.replace(part, dest)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        finally:
            mem.close()
        return RestoreReport(target=str(dest), tables=counts, integrity=integrity)
    args, env = _pg_env(target)
    proc = subprocess.Popen(  # noqa: S603 - our arguments, no shell
        [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--no-password", *args],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if proc.stdin is None or proc.stderr is None:  # pragma: no cover - PIPE was asked
        raise ConfigurationError("pg_restore gave no pipe")
    with proc:  # closes the pipes
        try:
            with open_encrypted(snapshot, keyring=keyring, context=context) as r:
                while chunk := r.read(_CHUNK):
                    proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise VerificationError(f"pg_restore failed: {err.strip()[:300]}")
    counts = _pg_counts(target)
    if counts != dict(manifest.tables):
        raise VerificationError("restored row counts differ from the manifest")
    return RestoreReport(target=redact_url(target), tables=counts, integrity="ok")


def list_backups(directory: str | os.PathLike[str]) -> list[BackupManifest]:
    """Return the backups in ``directory``, oldest first (manifests read, not verified).

    A snapshot without its manifest (an interrupted backup) is not listed; a missing
    folder raises :class:`~finprivacy.errors.NotFoundError`.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise NotFoundError(f"no backup folder at {folder}")
    found = []
    for p in sorted(folder.glob("*.manifest.json")):
        try:
            found.append(read_manifest(p))
        except VerificationError:
            continue
    return sorted(found, key=lambda m: m.created)


def prune_backups(directory: str | os.PathLike[str], *, keep_last: int = 7,
                  keep_days: int | None = None, name: str | None = None,
                  audit: AuditSink | None = None, actor: str = "backup.prune",
                  clock: Clock | None = None, dry_run: bool = False) -> list[BackupManifest]:
    """Dispose of old backups; return those removed (or that would be, with ``dry_run``).

    A backup is kept when it is among the ``keep_last`` newest of its name, or younger
    than ``keep_days``. Each disposal is recorded in ``audit`` (action
    ``backup.dispose``, with the file, its hash and its time) before the files go.
    """
    if keep_last < 1:
        raise InvalidInputError("keep_last must be at least 1: never prune every backup")
    now = (clock or SystemClock()).now()
    removed = []
    by_name: dict[str, list[BackupManifest]] = {}
    for m in list_backups(directory):
        if name is None or m.name == name:
            by_name.setdefault(m.name, []).append(m)
    for group in by_name.values():
        for m in group[:-keep_last]:
            if keep_days is not None and now - m.created < _dt.timedelta(days=keep_days):
                continue
            removed.append(m)
            if dry_run:
                continue
            if audit is not None:
                audit.record(AuditEvent(
                    action="backup.dispose", actor=actor, decision="info", time=now,
                    reason="retention", details={"file": m.file, "sha256": m.plaintext_sha256,
                                                 "created": m.created.isoformat()}))
            folder = Path(directory)
            (folder / m.file).unlink(missing_ok=True)
            if m.age_file:
                (folder / m.age_file).unlink(missing_ok=True)
            (folder / m.file.replace(".fpbk", ".manifest.json")).unlink(missing_ok=True)
    return removed

