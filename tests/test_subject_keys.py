from __future__ import annotations

import datetime as dt
import pickle
import threading
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy._stores import open_store
from finprivacy.crypto import SubjectKeyRecord, SubjectKeys, SubjectKeyStore, SubjectTombstone

CTX = "clients.card_no"
CARD = "6222020200112233446"
T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


class CountingKeyring:
    """Delegates to a real keyring and counts the calls that unwrap subject keys."""

    def __init__(self, kr: fp.Keyring) -> None:
        self.kr = kr
        self.decrypts = 0

    @property
    def primary_id(self) -> str:
        return self.kr.primary_id

    def encrypt(self, value: str | bytes, *, context: str) -> str:
        return self.kr.encrypt(value, context=context)

    def decrypt(self, token: str, *, context: str) -> str | bytes:
        self.decrypts += 1
        return self.kr.decrypt(token, context=context)

    def needs_reencrypt(self, token: str) -> bool:
        return self.kr.needs_reencrypt(token)

    def reencrypt(self, token: str, *, context: str) -> str:
        return self.kr.reencrypt(token, context=context)


@pytest.fixture
def kr() -> fp.Keyring:
    return fp.Keyring.generate()


@pytest.fixture
def store(store_url: str) -> SubjectKeyStore:
    s = open_store("subject_keys", store_url)
    assert isinstance(s, SubjectKeyStore)
    return s


def test_public_names() -> None:
    assert fp.SubjectKeys is SubjectKeys


# -- contract tests over memory, SQLite and PostgreSQL --------------------------------


def test_roundtrip_and_token_shape(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    sk = SubjectKeys(kr, store)
    t1 = sk.encrypt("client-42", CARD, context=CTX)
    t2 = sk.encrypt("client-42", b"\x00statement", context="clients.statements")
    t3 = sk.encrypt("client-43", CARD, context=CTX)
    assert sk.decrypt(t1, context=CTX) == CARD
    assert sk.decrypt(t1, context=CTX, as_type=str) == CARD
    assert sk.decrypt(t2, context="clients.statements") == b"\x00statement"
    prefix, ref, _ = t1.split(".")
    assert prefix == "fps1"
    assert "client-42" not in t1
    # The key reference is random, not derived from the subject id: another store
    # gives the same subject another reference.
    assert SubjectKeys(kr, "memory:").encrypt("client-42", CARD, context=CTX).split(".")[1] != ref
    assert t2.split(".")[1] == ref  # one key per subject
    assert t3.split(".")[1] != ref
    assert sk.encrypt("client-42", CARD, context=CTX) != t1  # randomized
    # A fresh object on the same store (another process) reads the tokens.
    assert SubjectKeys(kr, store).decrypt(t3, context=CTX) == CARD


def test_shred_erases_every_copy(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    clock = fp.FixedClock(T0)
    sk = SubjectKeys(kr, store, clock=clock)
    tokens = [sk.encrypt("client-42", f"row {i}", context=CTX) for i in range(20)]
    backup = list(tokens)  # copies elsewhere: exports, backups
    other = sk.encrypt("client-7", CARD, context=CTX)
    assert sk.decrypt(tokens[0], context=CTX) == "row 0"  # key is cached now
    clock.advance(dt.timedelta(days=3))
    tomb = sk.shred("client-42", reason="erasure request R-118 (PIPL art. 47)")
    assert isinstance(tomb, SubjectTombstone)
    assert tomb.shredded_at == T0 + dt.timedelta(days=3)
    assert tomb.created_at == T0
    assert tomb.reason == "erasure request R-118 (PIPL art. 47)"
    assert tomb.key_ref == tokens[0].split(".")[1]
    for t in tokens + backup:
        with pytest.raises(fp.SubjectErasedError) as info:
            sk.decrypt(t, context=CTX)
        assert isinstance(info.value, fp.DecryptionError)
        assert "row" not in str(info.value)
        assert "client-42" not in str(info.value)  # the token never names its subject
    # A fresh object (no cache) agrees.
    with pytest.raises(fp.SubjectErasedError):
        SubjectKeys(kr, store).decrypt(backup[5], context=CTX)
    assert sk.decrypt(other, context=CTX) == CARD
    assert sk.is_shredded("client-42")
    assert not sk.is_shredded("client-7")
    assert sk.tombstone("client-42") == tomb
    assert sk.tombstone("client-7") is None
    # Idempotent: shredding again returns the first tombstone.
    clock.advance(dt.timedelta(days=1))
    assert sk.shred("client-42", reason="again") == tomb
    # The erased subject cannot get a new key under the same id.
    with pytest.raises(fp.SubjectErasedError, match="client-42"):
        sk.encrypt("client-42", "new data", context=CTX)
    with pytest.raises(fp.NotFoundError, match="nobody"):
        sk.shred("nobody", reason="test")
    stored = store.get(tomb.key_ref)
    assert isinstance(stored, SubjectTombstone)
    assert store.for_subject("client-42") == stored


def test_wrapped_key_is_gone_from_the_store(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    sk = SubjectKeys(kr, store)
    sk.encrypt("client-42", CARD, context=CTX)
    record = store.for_subject("client-42")
    assert isinstance(record, SubjectKeyRecord)
    assert record.wrapped_key not in repr(record)
    sk.shred("client-42", reason="erasure")
    gone = store.get(record.key_ref)
    assert isinstance(gone, SubjectTombstone)
    assert not hasattr(gone, "wrapped_key")
    assert record.key_ref not in [r.key_ref for r in store.live_records()]


def test_tampered_and_misplaced_tokens(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    sk = SubjectKeys(kr, store)
    tok = sk.encrypt("client-42", CARD, context=CTX)
    prefix, ref, body = tok.split(".")
    other_ref = sk.encrypt("client-43", CARD, context=CTX).split(".")[1]
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    bad = [f"{prefix}.{ref}.{flipped}", f"{prefix}.{other_ref}.{body}", f"fp1.{ref}.{body}",
           f"{prefix}.unknownref.{body}", f"{prefix}.{ref}.{body[:20]}", "garbage", ""]
    for b in bad:
        with pytest.raises(fp.DecryptionError) as info:
            sk.decrypt(b, context=CTX)
        assert not isinstance(info.value, fp.SubjectErasedError)
        assert CARD not in str(info.value)
    with pytest.raises(fp.DecryptionError):
        sk.decrypt(tok, context="suppliers.card_no")
    with pytest.raises(fp.DecryptionError):
        sk.decrypt(sk.encrypt("client-42", b"x", context=CTX), context=CTX, as_type=str)
    # Subject tokens are not keyring tokens and vice versa.
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(tok, context=CTX)
    with pytest.raises(fp.DecryptionError):
        sk.decrypt(kr.encrypt(CARD, context=CTX), context=CTX)


def test_rewrap_after_rotation(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    sk = SubjectKeys(kr, store)
    tokens = {s: sk.encrypt(s, f"value of {s}", context=CTX) for s in ("a", "b", "c")}
    sk.shred("b", reason="erasure")
    old = kr.primary_id
    kr.rotate()
    assert sk.rewrap(batch=1) == 2  # the shredded one has nothing to rewrap
    assert sk.rewrap() == 0
    for rec in store.live_records():
        assert not kr.needs_reencrypt(rec.wrapped_key)
    kr.retire(old)
    fresh = SubjectKeys(kr, store)
    assert fresh.decrypt(tokens["a"], context=CTX) == "value of a"
    assert fresh.decrypt(tokens["c"], context=CTX) == "value of c"


def test_concurrent_first_use_makes_one_key(kr: fp.Keyring, store: SubjectKeyStore) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(SubjectKeys(kr, store).encrypt("client-99", CARD, context=CTX))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.split(".")[1] for r in results}) == 1
    fresh = SubjectKeys(kr, store)
    assert all(fresh.decrypt(r, context=CTX) == CARD for r in results)


# -- behaviour that does not depend on the backend -----------------------------------


def test_keyring_called_once_per_key_not_per_field(kr: fp.Keyring) -> None:
    counting = CountingKeyring(kr)
    store = open_store("subject_keys", "memory:")
    writer = SubjectKeys(counting, store)
    tokens = [writer.encrypt("client-42", f"{i}", context=CTX) for i in range(200)]
    assert counting.decrypts == 0  # a fresh key is never unwrapped
    reader = SubjectKeys(counting, store)
    for t in tokens:
        reader.decrypt(t, context=CTX)
    assert counting.decrypts == 1


def test_cache_is_bounded_and_invalidated(kr: fp.Keyring) -> None:
    counting = CountingKeyring(kr)
    store = open_store("subject_keys", "memory:")
    sk = SubjectKeys(counting, store, cache_size=2)
    tokens = [sk.encrypt(f"c{i}", "v", context=CTX) for i in range(5)]
    assert len(sk._cache) == 2
    sk.clear_cache()
    assert len(sk._cache) == 0
    for t in tokens:
        sk.decrypt(t, context=CTX)
    assert counting.decrypts == 5
    # A shred by another object is seen once the TTL has passed (ttl=0: at once).
    no_ttl = SubjectKeys(kr, store, cache_ttl=0)
    no_ttl.decrypt(tokens[0], context=CTX)
    SubjectKeys(kr, store).shred("c0", reason="erasure")
    with pytest.raises(fp.SubjectErasedError):
        no_ttl.decrypt(tokens[0], context=CTX)


def test_shred_overwrites_the_sqlite_file(kr: fp.Keyring, sqlite_url: str) -> None:
    sk = SubjectKeys(kr, sqlite_url)
    sk.encrypt("client-42", CARD, context=CTX)
    record = sk.store.for_subject("client-42")
    assert isinstance(record, SubjectKeyRecord)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    needle = record.wrapped_key.split(".")[2][:24].encode()

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

    assert needle in on_disk()
    sk.shred("client-42", reason="erasure")
    assert needle not in on_disk()


def test_store_url_and_bad_arguments(kr: fp.Keyring) -> None:
    assert isinstance(SubjectKeys(kr, "memory:").store, SubjectKeyStore)
    with pytest.raises(fp.ConfigurationError):
        SubjectKeys(object(), "memory:")  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError):
        SubjectKeys(kr, object())  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError):
        SubjectKeys(kr, "mysql://x")
    with pytest.raises(fp.ConfigurationError):
        SubjectKeys(kr, "memory:", cache_size=-1)
    sk = SubjectKeys(kr, "memory:")
    for bad_subject in ["", "x" * 300, 42]:
        with pytest.raises(fp.InvalidInputError):
            sk.encrypt(bad_subject, "v", context=CTX)  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        sk.encrypt("s", "v", context="")
    with pytest.raises(fp.InvalidInputError):
        sk.encrypt("s", 42, context=CTX)  # type: ignore[arg-type]
    sk.encrypt("s", "v", context=CTX)
    with pytest.raises(fp.InvalidInputError):
        sk.shred("s", reason="  ")
    with pytest.raises(fp.InvalidInputError):
        sk.rewrap(batch=0)


def test_no_secrets_in_repr_or_pickle(kr: fp.Keyring) -> None:
    sk = SubjectKeys(kr, "memory:")
    sk.encrypt("client-42", CARD, context=CTX)
    rec = sk.store.for_subject("client-42")
    assert rec is not None
    text = repr(sk) + repr(sk.store) + repr(rec)
    assert CARD not in text
    assert isinstance(rec, SubjectKeyRecord)
    assert rec.wrapped_key not in text
    for obj in (sk,):
        with pytest.raises(TypeError):
            pickle.dumps(obj)




def test_secret_values_are_accepted(kr: fp.Keyring) -> None:
    sk = SubjectKeys(kr, "memory:")
    tok = sk.encrypt("client-42", fp.Secret(CARD), context=CTX)
    assert sk.decrypt(tok, context=CTX) == CARD


def test_encrypt_after_shred_elsewhere_is_refused_once_cache_expires(kr: fp.Keyring) -> None:
    store = open_store("subject_keys", "memory:")
    writer = SubjectKeys(kr, store, cache_ttl=0)
    writer.encrypt("client-42", "a", context=CTX)
    SubjectKeys(kr, store).shred("client-42", reason="erasure")
    with pytest.raises(fp.SubjectErasedError):
        writer.encrypt("client-42", "b", context=CTX)
    cached = SubjectKeys(kr, store)
    cached.encrypt("client-43", "a", context=CTX)
    cached.shred("client-43", reason="erasure")  # same object: effective at once
    with pytest.raises(fp.SubjectErasedError):
        cached.encrypt("client-43", "b", context=CTX)


def test_shred_as_design_md_calls_it() -> None:
    kr = fp.Keyring.generate()
    sk = SubjectKeys(kr, "memory:")
    token = sk.encrypt("client-42", "statement", context="statements")
    tomb = sk.shred("client-42")
    assert tomb.reason == "no reason given"
    with pytest.raises(fp.SubjectErasedError):
        sk.decrypt(token, context="statements")
