"""The demo's encryption chapter: tokens on disk, masked output, a rotated keyring."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import finprivacy as fp
from finprivacy.cli._demo_encryption import chapter, open_demo_keyring

CARDS = ["6222020200112233445", "6217000010012345678", "6228480402564890018"]


def test_encryption_chapter(tmp_path: Path) -> None:
    lines: list[str] = []
    chapter(tmp_path, lines.append)
    text = "\n".join(lines)
    assert "Secret('**********')" in text
    assert "re-encrypted 3 rows" in text
    for card in CARDS:
        assert card not in text
    db = sqlite3.connect(tmp_path / "lotus.db")
    rows = db.execute("SELECT card_no, id_no FROM clients").fetchall()
    db.close()
    assert len(rows) == 3
    keyring = open_demo_keyring(tmp_path)
    statuses = sorted(k.status for k in keyring)
    assert statuses == ["primary", "retired"]
    raw = (tmp_path / "lotus.db").read_bytes()
    for card, id_no in rows:
        assert fp.crypto.is_token(card)
        assert keyring.key_id_of(card) == keyring.primary_id
        assert id_no is None or fp.crypto.is_token(id_no)
    for card in CARDS:
        assert card.encode() not in raw
