"""Find clients by card number, hand out card-shaped tokens, hash PINs, erase a client.

A small bookkeeping firm keeps its clients' card numbers encrypted (fp1 tokens) in
SQLite, with a blind index beside them so the front desk can find a client by card
number; exports card-shaped FF1 tokens for a legacy reconciliation tool; keeps each
client's bank statement lines under a per-client key so that erasing a client is one
key shred; and stores phone-banking PINs as Argon2id hashes.

Run: python examples/searchable_and_shredding.py
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import finprivacy as fp
from finprivacy.crypto import PROFILE_TESTING_ONLY

CLIENTS = [
    (1, "Wang Fang", "6222 0202 0011 2233 446"),
    (2, "Chen Jie", "6228480402564890018"),
    (3, "Lotus Tea House Ltd.", "4111-1111-1111-1111"),
]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="finprivacy-example-"))
    kr = fp.Keyring.generate()
    db = sqlite3.connect(workdir / "books.db")
    db.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT, "
               "card_no TEXT, card_bidx TEXT)")
    db.execute("CREATE INDEX clients_card_bidx ON clients (card_bidx)")

    # 1. Blind index: plan the length for the expected number of clients.
    plan = fp.plan_blind_index(50_000, input_entropy_bits=30)
    print(f"plan for 50,000 clients: {plan.bits} bits, about "
          f"{plan.expected_false_positives:.1f} false positives per lookup")
    card_idx = fp.BlindIndex(kr, "clients.card_no", bits=plan.bits,
                             normalize=["nfkc", "digits"])
    with db:
        for cid, name, card in CLIENTS:
            digits = card.replace(" ", "").replace("-", "")
            db.execute("INSERT INTO clients VALUES (?, ?, ?, ?)",
                       (cid, name, kr.encrypt(digits, context="clients.card_no"),
                        card_idx.compute(card)))

    wanted = "６２２８ ４８０４ ０２５６ ４８９０ ０１８"  # typed with full-width digits
    values = card_idx.lookup_values(wanted)
    rows = db.execute(f"SELECT id, name, card_no FROM clients WHERE card_bidx IN "
                      f"({','.join('?' * len(values))})", values).fetchall()
    target = card_idx.normalize(wanted)
    found = [(cid, name) for cid, name, tok in rows
             if kr.decrypt(tok, context="clients.card_no") == target]
    print(f"front desk finds {found} ({len(rows)} candidate row(s) decrypted)")

    # After a key rotation the old index values are still found.
    old = kr.primary_id
    kr.rotate()
    assert any(v.startswith(old + ":") for v in card_idx.lookup_values(wanted))
    print(f"after rotating {old} -> {kr.primary_id}: lookups cover both key versions")

    # 2. Card-shaped tokens for a legacy tool that only accepts 16-19 digit numbers.
    cards = fp.CardTokenizer.from_keyring(kr, "legacy-export", bin_length=6, luhn=True)
    token = cards.tokenize("6228480402564890018", context="reconciliation-2026-03")
    print(f"legacy export (key {cards.key_id}): {token}  (BIN and last 4 kept, passes Luhn)")
    assert cards.detokenize(token, context="reconciliation-2026-03") == "6228480402564890018"

    # 3. Crypto-shredding: statement lines under a per-client key.
    sk = fp.SubjectKeys(kr, f"sqlite:///{workdir / 'subject_keys.db'}")
    lines = {cid: [sk.encrypt(f"client-{cid}", f"2026-03-{d:02d} 支出 {d * 100}.00 元",
                              context="statements.line") for d in range(1, 31)]
             for cid, _, _ in CLIENTS}
    tomb = sk.shred("client-2", reason="erasure request R-2026-118 (PIPL art. 47)")
    print(f"client 2 erased at {tomb.shredded_at:%Y-%m-%d %H:%M} UTC: {tomb.reason}")
    try:
        sk.decrypt(lines[2][0], context="statements.line")
    except fp.SubjectErasedError:
        print(f"  all {len(lines[2])} statement lines of client 2 are now unreadable")
    print(f"  client 1 still reads: {sk.decrypt(lines[1][0], context='statements.line')}")

    # 4. PINs are hashed, never encrypted (a cheap profile to keep the example fast;
    #    production uses the default fp.crypto.PROFILE_FINANCE).
    pins = fp.SecretHasher(PROFILE_TESTING_ONLY, kind="pin", pepper=kr)
    stored = pins.hash("246810")
    pins.verify(stored, "246810")
    try:
        pins.verify(stored, "135790")
    except fp.VerificationError:
        print("  a wrong phone-banking PIN is refused")
    db.close()


if __name__ == "__main__":
    main()
