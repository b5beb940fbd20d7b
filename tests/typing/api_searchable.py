"""Blind indexes, AES-SIV, FF1, card tokens, subject keys, hashing and KMS/HSM providers
as users write them; checked by mypy --strict, never run."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, assert_type

import pydantic

import finprivacy as fp
from finprivacy.crypto import (
    NORMALIZERS,
    PROFILE_FINANCE,
    PROFILE_RFC9106_LOW_MEMORY,
    PROFILE_TESTING_ONLY,
    BlindIndexPlan,
    BlindIndexSet,
    HashProfile,
    SubjectKeyRecord,
    SubjectKeyStore,
    SubjectTombstone,
    luhn_valid,
)


def blind_indexes(kr: fp.Keyring) -> None:
    plan = fp.plan_blind_index(1_000_000, input_entropy_bits=30.5, other_index_bits=8)
    assert_type(plan, BlindIndexPlan)
    assert_type(plan.bits, int)
    assert_type(plan.expected_false_positives, float)
    assert_type(plan.notes, tuple[str, ...])
    idx = fp.BlindIndex(kr, "clients.card_no", bits=plan.bits,
                        normalize=["nfkc", "digits", str.strip], algorithm="hmac-sha256")
    assert_type(idx.compute("6222 0202 0011 2233 446"), str)
    assert_type(idx.compute(b"raw bytes", key_id=kr.primary_id), str)
    assert_type(idx.lookup_values("6222"), list[str])
    assert_type(idx.needs_reindex("k1:00ff"), bool)
    assert_type(idx.normalize("x"), str)
    both = fp.CompoundBlindIndex(kr, "clients.last4_year", bits=16,
                                 fields={"card_no": "last4", "birth_date": lambda d: d[:4]})
    assert_type(both.compute({"card_no": "3446", "birth_date": "1990-05-17"}), str)
    assert_type(both.fields, tuple[str, ...])
    indexes = BlindIndexSet([idx, both])
    assert_type(indexes.lookup_values("clients.card_no", "6222"), list[str])
    assert_type(indexes.names(), list[str])
    assert_type(NORMALIZERS["digits"]("１２３"), str)


def deterministic(kr: fp.Keyring) -> None:
    det = fp.DeterministicCipher(kr)
    tok = det.encrypt("110105194912310021", context="clients.id_no")
    assert_type(tok, str)
    assert_type(det.decrypt(tok, context="clients.id_no"), str | bytes)
    assert_type(det.decrypt(tok, context="clients.id_no", as_type=str), str)
    assert_type(det.decrypt(tok, context="clients.id_no", as_type=bytes), bytes)
    assert_type(det.lookup_tokens("x", context="clients.id_no"), list[str])
    assert_type(det.needs_reencrypt(tok), bool)
    assert_type(det.reencrypt(tok, context="clients.id_no"), str)


def format_preserving(key: bytes) -> None:
    ff1 = fp.FF1(key, radix=10)
    assert_type(ff1.encrypt("0123456789", tweak=b"clients"), str)
    assert_type(ff1.decrypt("2433477484"), str)
    assert_type(ff1.encrypt_numerals([0, 1, 2, 3, 4, 5]), list[int])
    assert_type(ff1.min_length, int)
    hexff1 = fp.FF1(key, radix=16, alphabet="0123456789ABCDEF")
    assert_type(hexff1.alphabet, str)
    cards = fp.CardTokenizer(key, bin_length=8, luhn=False)
    t = cards.tokenize("6222020200112233446", context="legacy.export")
    assert_type(t, str)
    assert_type(cards.detokenize(t, context="legacy.export"), str)
    assert_type(luhn_valid(t), bool)


def card_tokens_from_keyring(kr: fp.Keyring) -> None:
    cards = fp.CardTokenizer.from_keyring(kr, "legacy-export", key_id=None, bin_length=6)
    assert_type(cards.key_id, str | None)


def shredding(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    sk = fp.SubjectKeys(kr, "sqlite:///subject_keys.db", cache_size=1024, cache_ttl=30.0)
    sk2 = fp.SubjectKeys(kr, store, clock=fp.FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    tok = sk.encrypt("client-42", "6222020200112233446", context="clients.card_no")
    assert_type(tok, str)
    assert_type(sk.decrypt(tok, context="clients.card_no"), str | bytes)
    assert_type(sk2.decrypt(tok, context="clients.card_no", as_type=str), str)
    tomb = sk.shred("client-42", reason="erasure request R-118")
    assert_type(tomb, SubjectTombstone)
    assert_type(tomb.shredded_at, dt.datetime)
    assert_type(sk.tombstone("client-42"), SubjectTombstone | None)
    assert_type(sk.is_shredded("client-42"), bool)
    assert_type(sk.rewrap(batch=100), int)
    found = sk.store.for_subject("client-7")
    if isinstance(found, SubjectKeyRecord):
        assert_type(found.key_ref, str)
    try:
        sk.decrypt(tok, context="clients.card_no")
    except fp.SubjectErasedError as exc:
        assert_type(exc, fp.SubjectErasedError)


class Client(pydantic.BaseModel):
    name: str
    phone_pin: Annotated[str, fp.Hashed(kind="pin", profile=PROFILE_TESTING_ONLY)]


def hashing(kr: fp.Keyring) -> None:
    h = fp.SecretHasher(PROFILE_FINANCE, kind="security_answer", pepper=kr)
    stored = h.hash(fp.Secret("Beijing"))
    assert_type(stored, str)
    assert_type(h.verify(stored, "beijing"), None)
    assert_type(h.is_valid(stored, "beijing"), bool)
    assert_type(h.needs_rehash(stored), bool)
    custom = HashProfile("stronger", time_cost=4, memory_cost=256 * 1024, parallelism=4)
    assert_type(fp.SecretHasher(custom).profile, HashProfile)
    assert_type(PROFILE_RFC9106_LOW_MEMORY.memory_cost, int)
    c = Client(name="Wang Fang", phone_pin="246810")
    marker = fp.Hashed(hasher=fp.SecretHasher(PROFILE_TESTING_ONLY, kind="pin"))
    assert_type(marker.verify(c.phone_pin, "246810"), None)


def providers(kr: fp.Keyring) -> None:
    kms = fp.AwsKmsProvider("alias/finprivacy", region="ap-east-1",
                            encryption_context={"app": "ledger"}, check_key_state=False)
    kr.save("keys.json", provider=kms)
    assert_type(fp.Keyring.load("keys.json", provider=kms), fp.Keyring)
    hsm = fp.Pkcs11Provider(library="/usr/lib/softhsm/libsofthsm2.so",
                            token_label="finprivacy", key_label="keyring-kek",
                            pin=fp.Secret("246810"))
    hsm.create_key()
    provider: fp.KeyProvider = hsm
    assert_type(provider.wrap_key(b"\x00" * 32), dict[str, str])
