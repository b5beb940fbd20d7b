"""Encrypt the card and ID numbers of a bookkeeping firm's clients, then rotate the key.

Lotus Bookkeeping verifies its clients' bank accounts, so its client table holds
resident ID numbers and bank card numbers. This script keeps those two columns as
finprivacy tokens in an SQLite file: a stolen database or backup shows nothing, a
token copied to another row or column fails to decrypt, and the key can be rotated
without downtime. Run it with ``python examples/encrypt_fields.py``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Annotated

import pydantic

import finprivacy as fp


class Client(pydantic.BaseModel):
    """A client record as the bookkeeping application sees it."""

    id: int
    name: str
    # The card number is bound to its column; the ID number also to its row.
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context="clients.card_no")]
    id_no: Annotated[fp.Secret[str] | None,
                     fp.Encrypted(context="clients.id_no", context_field="id")] = None


CLIENTS = [
    Client(id=1, name="Wang Fang", card_no=fp.Secret("6222020200112233445"),
           id_no=fp.Secret("11010519491231002X")),
    Client(id=2, name="Chen Jie", card_no=fp.Secret("6217000010012345678"),
           id_no=fp.Secret("440524188001010014")),
    Client(id=3, name="Lotus Tea House Ltd.", card_no=fp.Secret("6228480402564890018")),
]


def save(db: sqlite3.Connection, client: Client) -> None:
    row = client.model_dump(mode="json")  # encrypted fields become tokens here
    db.execute("INSERT OR REPLACE INTO clients VALUES (:id, :name, :card_no, :id_no)", row)


def load_all(db: sqlite3.Connection) -> list[Client]:
    rows = db.execute("SELECT id, name, card_no, id_no FROM clients ORDER BY id")
    return [Client.model_validate(dict(zip(("id", "name", "card_no", "id_no"), r,
                                           strict=True)),
                                  context={"require_tokens": True})  # rows hold tokens only
            for r in rows]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # 1. A keyring, sealed in a file under a key-encryption key from the environment
        #    (in production the orchestrator injects LOTUS_KEK; never commit it).
        os.environ.setdefault("LOTUS_KEK", fp.EnvironmentProvider.generate_kek())
        provider = fp.EnvironmentProvider("LOTUS_KEK")
        keyring = fp.Keyring.generate()
        keyring.save(folder / "keyring.json", provider=provider)
        print("keyring:", keyring)

        db = sqlite3.connect(folder / "lotus.db")
        db.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                   "card_no TEXT NOT NULL, id_no TEXT)")

        # 2. Store the clients: the database only ever sees tokens.
        with fp.use_keyring(keyring):
            for client in CLIENTS:
                save(db, client)
        stored = db.execute("SELECT card_no FROM clients WHERE id = 1").fetchone()[0]
        print("what the database holds for client 1's card:", stored[:40] + "…")

        # 3. Another process loads the keyring file and reads the clients back.
        keyring = fp.Keyring.load(folder / "keyring.json", provider=provider)
        with fp.use_keyring(keyring):
            clients = load_all(db)
        print("loaded:", clients[0])  # card_no=Secret('**********')
        print("card ending", clients[0].card_no.reveal()[-4:], "for", clients[0].name)

        # 4. A token copied to another row fails loudly instead of showing the wrong value.
        db.execute("UPDATE clients SET id_no = (SELECT id_no FROM clients WHERE id = 1) "
                   "WHERE id = 2")
        try:
            with fp.use_keyring(keyring):
                load_all(db)
        except fp.DecryptionError as exc:
            print("copied ID number refused:", exc)
        with fp.use_keyring(keyring):
            save(db, clients[1])  # put client 2's own ID number back

        # 5. Rotate: a new primary key; old tokens still decrypt; re-encrypt, then retire.
        old_id = keyring.primary_id
        new_id = keyring.rotate()
        keyring.save(folder / "keyring.json", provider=provider)
        with fp.use_keyring(keyring):
            for client in load_all(db):
                if fp.needs_resave(client):
                    save(db, client)
            assert not any(fp.needs_resave(c) for c in load_all(db))
        keyring.retire(old_id)
        keyring.save(folder / "keyring.json", provider=provider)
        print(f"rotated {old_id} -> {new_id}; keys now:",
              ", ".join(f"{k.key_id} ({k.status})" for k in keyring))
        db.close()


if __name__ == "__main__":
    main()
