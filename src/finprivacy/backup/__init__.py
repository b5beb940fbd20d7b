"""Encrypted, signed, verifiable database backups (``finprivacy backup …``).

A backup is two files in a backup folder:

* ``<name>-<UTC time>.fpbk``: the database snapshot in finprivacy's encrypted file
  format (docs/explanation/files.md), context ``"backup:" + name``;
* ``<same>.manifest.json``: what was backed up — source (password removed), time,
  sizes, the SHA-256 of the plaintext, the key that sealed it, table row counts —
  signed with Ed25519 under a key derived from the keyring.

``create`` streams the snapshot into the encryptor: PostgreSQL through ``pg_dump
--format=custom`` on a pipe, SQLite through the online backup API into memory and
``serialize()`` (so it needs RAM about the size of the database). No plaintext copy
is written to disk. The encrypted file is written under a temporary name and the
manifest last, both atomically: a crash leaves nothing that lists as a backup.
``verify`` authenticates every segment and the signature and checks the hash without
restoring; ``restore`` writes a new database and checks it (SQLite ``integrity_check``,
``pg_restore``'s exit status) and the row counts; ``prune`` keeps backups by a
retention rule and records each disposal in an audit sink.
"""

from __future__ import annotations

from ._backup import BackupManifest as BackupManifest
from ._backup import RestoreReport as RestoreReport
from ._backup import create_backup as create_backup
from ._backup import list_backups as list_backups
from ._backup import prune_backups as prune_backups
from ._backup import read_manifest as read_manifest
from ._backup import restore_backup as restore_backup
from ._backup import verify_backup as verify_backup

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
