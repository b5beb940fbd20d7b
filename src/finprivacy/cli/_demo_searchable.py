"""Demo chapter 2: find a client by card number, hand out card tokens, erase a client.

Uses the keyring of the encryption chapter when it is in the demo folder (a fresh one
otherwise) and adds to ``lotus.db`` a table ``client_cards`` (card tokens with a blind
index), and ``subject_keys.db`` (per-client keys for crypto-shredding) beside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..crypto import (
    PROFILE_RFC9106_LOW_MEMORY,
    BlindIndex,
    CardTokenizer,
    Keyring,
    SecretHasher,
    SubjectKeys,
    plan_blind_index,
)
from ..errors import SubjectErasedError, VerificationError

__all__ = ["chapter"]

_CARDS = [
    (1, "Wang Fang", "6222 0202 0011 2233 446"),
    (2, "Chen Jie", "6228480402564890018"),
    (3, "Lotus Tea House Ltd.", "6217 0000 1001 2345 670"),
]


def _keyring(workdir: Path) -> Keyring:
    if (workdir / "keyring.json").exists():
        from ._demo_encryption import open_demo_keyring

        return open_demo_keyring(workdir)
    return Keyring.generate()


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Search by blind index, export FF1 card tokens, hash a PIN, shred a departed client."""
    kr = _keyring(workdir)
    plan = plan_blind_index(20_000, input_entropy_bits=30)
    idx = BlindIndex(kr, "client_cards.card_no", bits=plan.bits, normalize=["nfkc", "digits"])
    say(f"The front desk must find clients by card number. For about 20,000 clients the "
        f"planner picks a {plan.bits}-bit blind index "
        f"(~{plan.expected_false_positives:.1f} false positives per lookup).")
    db = sqlite3.connect(workdir / "lotus.db")
    try:
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS client_cards (client_id INTEGER PRIMARY "
                       "KEY, name TEXT, card_no TEXT NOT NULL, card_bidx TEXT NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS client_cards_bidx "
                       "ON client_cards (card_bidx)")
            for cid, name, card in _CARDS:
                digits = idx.normalize(card)
                db.execute("INSERT OR REPLACE INTO client_cards VALUES (?, ?, ?, ?)",
                           (cid, name, kr.encrypt(digits, context="client_cards.card_no"),
                            idx.compute(card)))
        asked = "６２２８ ４８０４ ０２５６ ４８９０ ０１８"
        values = idx.lookup_values(asked)
        marks = ",".join("?" * len(values))
        rows = db.execute("SELECT client_id, name, card_no FROM client_cards "  # noqa: S608
                          f"WHERE card_bidx IN ({marks})", values).fetchall()
        wanted = idx.normalize(asked)
        hits = [name for _, name, tok in rows
                if kr.decrypt(tok, context="client_cards.card_no") == wanted]
        say(f"  a caller reads out a card number with full-width digits; the index finds "
            f"{hits} after decrypting {len(rows)} candidate row(s), not the whole table")
        sample = db.execute("SELECT card_bidx FROM client_cards WHERE client_id = 2").fetchone()
        say(f"  what the index column shows a thief: {sample[0]}")
    finally:
        db.close()

    cards = CardTokenizer.from_keyring(kr, "legacy-reconciliation", bin_length=6, luhn=True)
    token = cards.tokenize("6228480402564890018", context="reconciliation")
    say(f"The old reconciliation tool only takes card numbers: it gets {token} "
        f"(BIN and last 4 kept, passes Luhn; key {cards.key_id}), and Lotus maps it back "
        "with the key when the tool reports a mismatch.")

    pins = SecretHasher(PROFILE_RFC9106_LOW_MEMORY, kind="pin", pepper=kr)
    stored = pins.hash("246810")
    try:
        pins.verify(stored, "135790")
    except VerificationError:
        say(f"Phone-banking PINs are Argon2id hashes ({stored[:22]}…), never encrypted; "
            "a wrong PIN is refused and the hash cannot be turned back into a PIN.")

    sk = SubjectKeys(kr, f"sqlite:///{workdir / 'subject_keys.db'}")
    statements = {cid: [sk.encrypt(f"client-{cid}", f"2026-03-{d:02d} 支出 {d * 37}.00 元",
                                   context="statements.line") for d in range(1, 31)]
                  for cid, _, _ in _CARDS}
    say("Each client's statement lines are encrypted under a key of their own "
        f"({sum(map(len, statements.values()))} lines for {len(statements)} clients).")
    tomb = sk.shred("client-2", reason="client left; erasure request R-2026-118 "
                                      "(PIPL art. 47)")
    try:
        sk.decrypt(statements[2][0], context="statements.line")
    except SubjectErasedError:
        say(f"Chen Jie leaves and asks to be erased: one key is shredded at "
            f"{tomb.shredded_at:%Y-%m-%d %H:%M} UTC and all 30 of their lines, in every "
            "export and data backup, are unreadable for good.")
    say(f"  the tombstone keeps when and why: {tomb.reason!r}; Wang Fang's lines still "
        f"read: {sk.decrypt(statements[1][0], context='statements.line')!r}")
