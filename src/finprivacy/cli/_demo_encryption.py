"""Demo chapter 1: Lotus Bookkeeping encrypts its clients' card and ID numbers.

Creates ``keyring.json`` (sealed under a random passphrase kept, for the demo only, in
``demo-passphrase.txt`` beside it) and ``lotus.db`` (table ``clients``: id, name,
card_no and id_no as ``fp1`` tokens) in the demo folder, then rotates the key and
re-encrypts every row. Later chapters open the keyring with :func:`open_demo_keyring`.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pydantic

from ..crypto import Keyring, PassphraseProvider, use_keyring
from ..errors import DecryptionError, KeyStateError
from ..pydantic import Encrypted, needs_resave
from ..secret import Secret

__all__ = ["DemoClient", "chapter", "open_demo_keyring"]

_PASSFILE = "demo-passphrase.txt"


def _demo_provider(workdir: Path) -> PassphraseProvider:
    # Demo only: a real deployment reads the passphrase from a prompt or a secret store
    # (or uses EnvironmentProvider / a KMS), never from a file beside the keyring.
    passfile = workdir / _PASSFILE
    if not passfile.exists():
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    return PassphraseProvider(passfile.read_text().strip())


def open_demo_keyring(workdir: Path) -> Keyring:
    """Load the keyring the encryption chapter wrote into ``workdir``."""
    return Keyring.load(workdir / "keyring.json", provider=_demo_provider(workdir))


class DemoClient(pydantic.BaseModel):
    """A client of Lotus Bookkeeping, as the demo stores it."""

    id: int
    name: str
    card_no: Annotated[Secret[str], Encrypted(context="clients.card_no")]
    id_no: Annotated[Secret[str] | None,
                     Encrypted(context="clients.id_no", context_field="id")] = None


_CLIENTS = [
    (1, "Wang Fang", "6222020200112233445", "11010519491231002X"),
    (2, "Chen Jie", "6217000010012345678", "440524188001010014"),
    (3, "Lotus Tea House Ltd.", "6228480402564890018", None),
]
_COLUMNS = ("id", "name", "card_no", "id_no")


def _save(db: sqlite3.Connection, client: DemoClient) -> None:
    db.execute("INSERT OR REPLACE INTO clients VALUES (:id, :name, :card_no, :id_no)",
               client.model_dump(mode="json"))


def _load(db: sqlite3.Connection) -> list[DemoClient]:
    rows = db.execute("SELECT id, name, card_no, id_no FROM clients ORDER BY id").fetchall()
    return [DemoClient.model_validate(dict(zip(_COLUMNS, row, strict=True)),
                                      context={"require_tokens": True}) for row in rows]


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Store clients with encrypted fields, rotate the key, re-encrypt, show masked reprs."""
    keyfile = workdir / "keyring.json"
    provider = _demo_provider(workdir)
    keyring = Keyring.generate()
    keyring.save(keyfile, provider=provider)
    say(f"Lotus Bookkeeping creates a keyring: {keyring!r}")
    say(f"  sealed in {keyfile.name} under an Argon2id key from a passphrase (RFC 9106)")

    db = sqlite3.connect(workdir / "lotus.db")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS clients (id INTEGER PRIMARY KEY, "
                   "name TEXT NOT NULL, card_no TEXT NOT NULL, id_no TEXT)")
        with use_keyring(keyring), db:
            for cid, name, card, id_no in _CLIENTS:
                _save(db, DemoClient(id=cid, name=name, card_no=Secret(card),
                                     id_no=Secret(id_no) if id_no else None))
        say(f"It stores {len(_CLIENTS)} clients in lotus.db. What a stolen copy shows:")
        for cid, name, card, _ in db.execute("SELECT * FROM clients ORDER BY id"):
            say(f"  {cid} {name:<22} card_no={card[:34]}…")

        keyring = Keyring.load(keyfile, provider=provider)
        with use_keyring(keyring):
            clients = _load(db)
        say("The application loads them back; reprs and logs stay masked:")
        say(f"  {clients[0]!r}")
        say(f"  a clerk who needs it calls reveal(): card ending "
            f"{clients[0].card_no.reveal()[-4:]}")

        stolen = db.execute("SELECT id_no FROM clients WHERE id = 1").fetchone()[0]
        db.execute("UPDATE clients SET id_no = ? WHERE id = 2", (stolen,))
        try:
            with use_keyring(keyring):
                _load(db)
        except DecryptionError:
            say("Someone copies client 1's ID token onto client 2: decryption refuses it "
                "(the token is bound to its row).")
        with use_keyring(keyring), db:
            _save(db, clients[1])

        backup_token = keyring.encrypt(_CLIENTS[0][2], context="clients.card_no")
        old_id = keyring.primary_id
        new_id = keyring.rotate()
        say(f"A year later the key is rotated: {old_id} -> {new_id}; old tokens still read.")
        with use_keyring(keyring), db:
            stale = [c for c in _load(db) if needs_resave(c)]
            for client in stale:
                _save(db, client)
            left = sum(needs_resave(c) for c in _load(db))
        say(f"  re-encrypted {len(stale)} rows under {new_id} ({left} left to do)")
        keyring.retire(old_id)
        keyring.save(keyfile, provider=provider)
        say("  the old key is retired: " + ", ".join(f"{k.key_id} {k.status}" for k in keyring))
        try:
            keyring.decrypt(backup_token, context="clients.card_no")
        except KeyStateError as exc:
            say(f"  an old backup's token now says: {exc}")
    finally:
        db.close()
