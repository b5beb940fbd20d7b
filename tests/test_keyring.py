"""Keyring: round trips, rotation, key states, derived keys, the current keyring."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import pickle
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import AES256_GCM, KeyStatus, current_keyring, use_keyring

CTX = "customers.card_no"
CARD = "6222020200112233445"
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def kr() -> fp.Keyring:
    return fp.Keyring.generate()


@given(st.text())
def test_str_round_trip(kr: fp.Keyring, value: str) -> None:
    token = kr.encrypt(value, context=CTX)
    out = kr.decrypt(token, context=CTX)
    assert out == value
    assert type(out) is str
    assert kr.decrypt_str(token, context=CTX) == value


@given(st.binary(max_size=4096))
def test_bytes_round_trip(kr: fp.Keyring, value: bytes) -> None:
    token = kr.encrypt(value, context=CTX)
    out = kr.decrypt(token, context=CTX)
    assert out == value
    assert type(out) is bytes
    assert kr.decrypt_bytes(token, context=CTX) == value


@pytest.mark.parametrize("value", ["", b"", "é", "张三 110101199003077777", "😀" * 3,
                                   "a" * 100_000, b"\x00" * 70_000, bytearray(b"ab")])
def test_round_trip_corners(kr: fp.Keyring, value: str | bytes) -> None:
    out = kr.decrypt(kr.encrypt(value, context=CTX), context=CTX)
    assert out == value
    assert type(out) is (str if isinstance(value, str) else bytes)


def test_type_confusion_helpers(kr: fp.Keyring) -> None:
    with pytest.raises(fp.DecryptionError):
        kr.decrypt_bytes(kr.encrypt("x", context=CTX), context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt_str(kr.encrypt(b"x", context=CTX), context=CTX)


@pytest.mark.parametrize("value", [1, None, 1.5, ["x"], fp.Secret("x")])
def test_encrypt_refuses_other_types(kr: fp.Keyring, value: object) -> None:
    with pytest.raises(fp.InvalidInputError, match="str or bytes"):
        kr.encrypt(value, context=CTX)  # type: ignore[arg-type]


@pytest.mark.parametrize("context", ["", None, b"ctx", 3])
def test_context_is_required(kr: fp.Keyring, context: object) -> None:
    with pytest.raises(fp.InvalidInputError, match="context"):
        kr.encrypt("x", context=context)  # type: ignore[arg-type]
    token = kr.encrypt("x", context=CTX)
    with pytest.raises((fp.InvalidInputError, fp.DecryptionError)):
        kr.decrypt(token, context=context)  # type: ignore[arg-type]


def test_lone_surrogates_are_refused_without_echo(kr: fp.Keyring) -> None:
    with pytest.raises(fp.InvalidInputError) as info:
        kr.encrypt("abc\ud800", context=CTX)
    assert "abc" not in str(info.value)


def test_nonce_seam_refuses_bad_nonce(kr: fp.Keyring) -> None:
    with pytest.raises(fp.InvalidInputError):
        kr._encrypt("x", context=CTX, nonce=b"short")


# -- keys and rotation -------------------------------------------------------------


def test_generate_uses_clock_and_template() -> None:
    clock = fp.FixedClock(T0)
    kr = fp.Keyring.generate(clock=clock)
    (info,) = kr.keys()
    assert info.key_id == kr.primary_id == info.id
    assert info.status is KeyStatus.PRIMARY
    assert info.is_primary
    assert info.algorithm == "AES-256-GCM"
    assert info.template == AES256_GCM.name
    assert info.created_at == T0
    assert info.created_at.tzinfo is not None
    assert len(info.key_id) == 8
    assert int(info.key_id, 16) >= 0
    with pytest.raises(AttributeError):
        info.status = KeyStatus.RETIRED  # type: ignore[misc]


def test_keyring_cannot_be_constructed_directly() -> None:
    with pytest.raises(TypeError):
        fp.Keyring()


def test_naive_clock_is_refused() -> None:
    class Naive:
        def now(self) -> dt.datetime:
            return dt.datetime(2025, 1, 1)

    with pytest.raises(fp.InvalidTimeError):
        fp.Keyring.generate(clock=Naive())


def test_rotation_keeps_old_tokens_readable() -> None:
    clock = fp.FixedClock(T0)
    kr = fp.Keyring.generate(clock=clock)
    first = kr.primary_id
    old = kr.encrypt(CARD, context=CTX)
    assert not kr.needs_reencrypt(old)
    clock.advance(dt.timedelta(days=90))
    new_id = kr.rotate()
    assert new_id == kr.primary_id != first
    assert kr.key(first).status is KeyStatus.DECRYPT_ONLY
    assert kr.key(first).changed_at == clock.now()
    assert kr.key(new_id).created_at == clock.now()
    assert kr.decrypt(old, context=CTX) == CARD
    assert kr.needs_reencrypt(old)
    fresh = kr.reencrypt(old, context=CTX)
    assert fresh.startswith(f"fp1.{new_id}.")
    assert not kr.needs_reencrypt(fresh)
    assert kr.decrypt(fresh, context=CTX) == CARD
    assert kr.reencrypt(fresh, context=CTX) == fresh
    assert kr.key_id_of(old) == first
    b = kr.encrypt(b"\x00raw", context=CTX)
    kr.rotate()
    assert kr.reencrypt(b, context=CTX) != b
    assert kr.decrypt(kr.reencrypt(b, context=CTX), context=CTX) == b"\x00raw"


def test_reencrypt_authenticates_first(kr: fp.Keyring) -> None:
    token = kr.encrypt(CARD, context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.reencrypt(token, context="other")
    with pytest.raises(fp.DecryptionError):
        kr.reencrypt(token[:-3], context=CTX)


def test_needs_reencrypt_refuses_foreign_tokens(kr: fp.Keyring) -> None:
    other = fp.Keyring.generate().encrypt("x", context=CTX)
    for bad in (other, "junk", "fpd1.abc.AAAA"):
        with pytest.raises(fp.DecryptionError):
            kr.needs_reencrypt(bad)


def test_keys_listing_ignores_insertion_order() -> None:
    clock = fp.FixedClock(T0)
    kr = fp.Keyring.generate(clock=clock)
    ids = [kr.primary_id]
    for _ in range(4):
        clock.advance(dt.timedelta(days=1))
        ids.append(kr.rotate())
    assert [k.key_id for k in kr] == ids  # iterating a keyring yields keys()
    assert list(kr) == kr.keys()
    infos = kr.keys()
    assert [k.key_id for k in infos if k.is_primary] == [ids[-1]]
    assert len(set(ids)) == 5
    assert len(kr) == 5
    assert ids[0] in kr


def test_decryption_finds_keys_by_id_not_by_trying() -> None:
    kr = fp.Keyring.generate()
    tokens = {}
    for _ in range(5):
        tokens[kr.primary_id] = kr.encrypt(CARD, context=CTX)
        kr.rotate()
    for key_id, token in tokens.items():
        assert token.split(".")[1] == key_id
        assert kr.decrypt(token, context=CTX) == CARD


def test_retire_reinstate_destroy() -> None:
    clock = fp.FixedClock(T0)
    kr = fp.Keyring.generate(clock=clock)
    old_id = kr.primary_id
    old = kr.encrypt(CARD, context=CTX)
    with pytest.raises(fp.KeyStateError, match=f"{old_id}.*rotate"):
        kr.retire(old_id)
    kr.rotate()
    with pytest.raises(fp.KeyStateError, match="retire it"):
        kr.destroy(old_id)
    kr.retire(old_id)
    kr.retire(old_id)  # idempotent
    assert kr.key(old_id).status is KeyStatus.RETIRED
    with pytest.raises(fp.KeyUnavailableError) as info:
        kr.decrypt(old, context=CTX)
    assert isinstance(info.value, fp.KeyStateError)
    assert isinstance(info.value, fp.DecryptionError)  # every unreadable token is one
    assert (info.value.key_id, info.value.status) == (old_id, "retired")
    msg = str(info.value)
    assert old_id in msg
    assert "reinstate" in msg
    assert CARD not in msg
    with pytest.raises(fp.KeyStateError, match=old_id) as state:
        kr.derive_key(b"x", key_id=old_id)
    assert not isinstance(state.value, fp.DecryptionError)
    kr.reinstate(old_id)
    assert kr.decrypt(old, context=CTX) == CARD
    kr.retire(old_id)
    clock.advance(dt.timedelta(days=1))
    kr.destroy(old_id)
    assert kr.key(old_id).status is KeyStatus.DESTROYED
    assert kr.key(old_id).changed_at == clock.now()
    with pytest.raises(fp.KeyUnavailableError) as info:
        kr.decrypt(old, context=CTX)
    assert info.value.status == "destroyed"
    assert old_id in str(info.value)
    assert "destroyed" in str(info.value)
    with pytest.raises(fp.KeyStateError):
        kr.export_key_material(old_id)
    with pytest.raises(fp.KeyStateError):
        kr.reinstate(old_id)
    with pytest.raises(fp.KeyStateError):
        kr.retire(old_id)
    kr.destroy(old_id)  # idempotent


def test_promote() -> None:
    kr = fp.Keyring.generate()
    first = kr.primary_id
    second = kr.rotate()
    kr.promote(first)
    assert kr.primary_id == first
    assert kr.key(second).status is KeyStatus.DECRYPT_ONLY
    kr.promote(first)
    kr.retire(second)
    with pytest.raises(fp.KeyStateError):
        kr.promote(second)


def test_unknown_key_ids(kr: fp.Keyring) -> None:
    for op in (kr.retire, kr.destroy, kr.reinstate, kr.promote, kr.export_key_material,
               kr.key):
        with pytest.raises(fp.KeyringError, match="no key 'ffffffff'"):
            op("ffffffff")
    with pytest.raises(fp.KeyringError, match="no such key"):
        kr.key("bad id!")


def test_derive_key(kr: fp.Keyring) -> None:
    kid, key = kr.derive_key(b"finprivacy/blind-index/customers.card_no")
    assert kid == kr.primary_id
    assert len(key) == 32
    assert kr.derive_key(b"finprivacy/blind-index/customers.card_no") == (kid, key)
    assert kr.derive_key(b"other")[1] != key
    for bad in (b"", "text"):
        with pytest.raises(fp.InvalidInputError):
            kr.derive_key(bad)  # type: ignore[arg-type]
    for length in (0, 15, 8161, True):
        with pytest.raises(fp.InvalidInputError):
            kr.derive_key(b"x", length=length)


def test_derive_key_from_old_key() -> None:
    kr = fp.Keyring.generate()
    old_id, old_key = kr.derive_key(b"bi")
    kr.rotate()
    assert kr.derive_key(b"bi")[1] != old_key
    assert kr.derive_key(b"bi", key_id=old_id) == (old_id, old_key)


def test_export_key_material_is_explicit() -> None:
    kr = fp.Keyring._from_material("k1", bytes(32))
    assert kr.export_key_material("k1") == bytes(32)


# -- leaks and copies --------------------------------------------------------------


def test_repr_shows_ids_only() -> None:
    material = bytes(range(32))
    kr = fp.Keyring._from_material("k1", material)
    text = repr(kr) + str(kr) + repr(kr.keys())
    assert "k1" in repr(kr)
    assert "AES-256-GCM" in repr(kr)
    assert "primary" in repr(kr)
    for leak in (material.hex(), repr(material), material.decode("latin-1")):
        assert leak not in text


def test_keyring_refuses_pickle_and_copy(kr: fp.Keyring) -> None:
    for attempt in (lambda: pickle.dumps(kr), lambda: copy.copy(kr),
                    lambda: copy.deepcopy(kr), lambda: pickle.dumps(kr._primary)):
        with pytest.raises(TypeError):
            attempt()


# -- the current keyring -----------------------------------------------------------


def test_use_keyring_nests_and_restores(kr: fp.Keyring) -> None:
    with pytest.raises(fp.ConfigurationError, match="use_keyring"):
        current_keyring()
    other = fp.Keyring.generate()
    with use_keyring(kr) as got:
        assert got is kr
        assert current_keyring() is kr
        with fp.use_keyring(other):
            assert current_keyring() is other
        assert current_keyring() is kr
        with pytest.raises(RuntimeError), fp.use_keyring(other):
            raise RuntimeError
        assert current_keyring() is kr
    with pytest.raises(fp.ConfigurationError):
        current_keyring()


def test_use_keyring_as_decorator(kr: fp.Keyring) -> None:
    @use_keyring(kr)
    def inner() -> fp.Keyring:
        return current_keyring()

    assert inner() is kr
    assert inner() is kr


def test_use_keyring_decorates_async_functions(kr: fp.Keyring) -> None:
    @use_keyring(kr)
    async def job() -> fp.Keyring:
        await asyncio.sleep(0)
        return current_keyring()

    assert asyncio.run(job()) is kr
    with pytest.raises(fp.ConfigurationError):
        current_keyring()


def test_use_keyring_object_can_be_reentered(kr: fp.Keyring) -> None:
    other = fp.Keyring.generate()
    cm = use_keyring(kr)
    with cm, use_keyring(other), cm:
        assert current_keyring() is kr
    with pytest.raises(fp.ConfigurationError):
        current_keyring()
    assert "Keyring" in repr(cm)


def test_use_keyring_refuses_non_keyrings() -> None:
    with pytest.raises(fp.ConfigurationError), use_keyring("k"):  # type: ignore[arg-type]
        pass


def test_use_keyring_is_per_thread_and_task(kr: fp.Keyring) -> None:
    seen: list[object] = []

    def worker() -> None:
        try:
            seen.append(current_keyring())
        except fp.ConfigurationError:
            seen.append(None)

    with use_keyring(kr):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == [None]

    other = fp.Keyring.generate()

    async def task(k: fp.Keyring) -> bool:
        with use_keyring(k):
            await asyncio.sleep(0)
            return current_keyring() is k

    async def main() -> list[bool]:
        return await asyncio.gather(task(kr), task(other))

    assert asyncio.run(main()) == [True, True]


def test_concurrent_encrypt_and_rotate() -> None:
    kr = fp.Keyring.generate()
    errors: list[BaseException] = []
    tokens: list[str] = []

    def work() -> None:
        try:
            for i in range(200):
                tokens.append(kr.encrypt(str(i), context=CTX))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(10):
        kr.rotate()
    for t in threads:
        t.join()
    assert not errors
    assert all(kr.decrypt(t, context=CTX).isdigit() for t in tokens)  # type: ignore[union-attr]
