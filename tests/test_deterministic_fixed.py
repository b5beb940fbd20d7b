"""Fixed tokens: fpd1 and fps1 tokens written today must decrypt with every later release.

The layouts are documented in docs/explanation/blind_indexes.md; these tests pin them
both as literal strings and by re-deriving them with `cryptography` directly.
"""

from __future__ import annotations

import base64
import datetime as dt

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

import finprivacy as fp
from finprivacy.crypto import DeterministicCipher, SubjectKeyRecord, SubjectKeys
from finprivacy.storage._subject_keys import MemorySubjectKeyStore

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CARD = "6222020200112233446"
FPD1_CARD = "fpd1.k2026a.ypz9UZDhk-jFUg3XNhHyRlpLkT3beD0RiNqlHIcWlhdH_N4O"
FPD1_BYTES = "fpd1.k2026a.m0vA1aOTFtEUZ4Ivj2eKeV7m-w"
REF = "AAAAAAAAAAAAAAAAAAAAAA"
DEK = bytes(range(100, 132))
WRAPPED = ("fp1.k2026a.AAAAAAAAAAAAAAAAAuEhOoe86cfgv3sz-G3gX24nofywapiaQd-74zJEm261dxUw2i3oFCm"
           "OGgeAsPht9Q")
FPS1_CARD = ("fps1.AAAAAAAAAAAAAAAAAAAAAA.AAECAwQFBgcICQoLnp0Kfo9989mvI675p6i6gdojCaa_HDmYJvgSi5"
             "Dum6F3YjLB")


def _keyring() -> fp.Keyring:
    return fp.Keyring._from_material("k2026a", bytes(range(32)), created_at=T0)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_fpd1_fixed_tokens() -> None:
    det = DeterministicCipher(_keyring())
    assert det.encrypt(CARD, context="clients.card_no") == FPD1_CARD
    assert det.decrypt(FPD1_CARD, context="clients.card_no") == CARD
    assert det.encrypt(b"\x00\x01", context="clients.raw") == FPD1_BYTES
    assert det.decrypt(FPD1_BYTES, context="clients.raw") == b"\x00\x01"


def test_fpd1_layout() -> None:
    kr = _keyring()
    _, key = kr.derive_key(b"finprivacy/fpd1/aes-siv/v1\x00clients.card_no", length=64)
    prefix, kid, body = FPD1_CARD.split(".")
    assert (prefix, kid) == ("fpd1", "k2026a")
    plain = AESSIV(key).decrypt(_unb64(body), [b"fpd1", b"k2026a", b"clients.card_no"])
    assert plain == b"s" + CARD.encode()


def test_fps1_fixed_token_and_layout() -> None:
    kr = _keyring()
    assert kr.decrypt(WRAPPED, context=f"finprivacy.subject_key.{REF}") == DEK
    store = MemorySubjectKeyStore()
    store.create(SubjectKeyRecord(REF, "client-42", WRAPPED, T0))
    assert SubjectKeys(kr, store).decrypt(FPS1_CARD, context="clients.card_no") == CARD
    prefix, ref, body = FPS1_CARD.split(".")
    assert (prefix, ref) == ("fps1", REF)
    raw = _unb64(body)
    nonce, sealed = raw[:12], raw[12:]
    plain = AESGCM(DEK).decrypt(nonce, sealed, b"fps1\x00" + REF.encode() + b"\x00clients.card_no")
    assert plain == b"\x01" + CARD.encode()
    assert len(sealed) == 1 + len(CARD) + 16
