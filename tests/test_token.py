"""Token format v1: the text form, the byte layout pinned by fixed tokens, and tampering."""

from __future__ import annotations

import base64
import datetime as dt
import string

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import assume, given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import Keyring, is_token
from finprivacy.crypto._token import decode_token, encode_token

KEY_ID = "0a1b2c3d"
MATERIAL = bytes(range(32))
CTX = "customers.card_no"
CARD = "6222020200112233445"

# Written once by this release; every later release must decrypt them to the same value.
FIXED = [
    # (value, context, nonce, token)
    (CARD, CTX, bytes(range(100, 112)),
     "fp1.0a1b2c3d.ZGVmZ2hpamtsbW5vr23dTFKQq-d2nvprk0hWO0-S7Z3xtovylW1UtNQwOkFcuk8N"),
    (b"\x00\xffbytes", CTX, bytes(12),
     "fp1.0a1b2c3d.AAAAAAAAAAAAAAAAAoW7Ppmg5d669U7gtvkSeGY40w8tNPxH"),
    ("", "c", bytes(12), "fp1.0a1b2c3d.AAAAAAAAAAAAAAAAAYK5x5fpH3i9fk6sOOXt4wY"),
    ("张三", "customers.name#42", bytes(range(12)),
     "fp1.0a1b2c3d.AAECAwQFBgcICQoL62NIwepYFXcD4lKA2oLgzd9eGPNOsqU"),
]


@pytest.fixture(scope="module")
def fixed_kr() -> Keyring:
    return Keyring._from_material(KEY_ID, MATERIAL,
                                  created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def kr() -> Keyring:
    return Keyring.generate()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the pinned layout -------------------------------------------------------------


@pytest.mark.parametrize(("value", "context", "nonce", "token"), FIXED)
def test_fixed_token_is_stable(fixed_kr: Keyring, value: str | bytes, context: str,
                               nonce: bytes, token: str) -> None:
    assert fixed_kr._encrypt(value, context=context, nonce=nonce) == token
    got = fixed_kr.decrypt(token, context=context)
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(("value", "context", "nonce", "token"), FIXED)
def test_fixed_token_matches_documented_layout(value: str | bytes, context: str,
                                               nonce: bytes, token: str) -> None:
    """Decrypt with raw `cryptography` primitives following docs/explanation/tokens.md."""
    prefix, key_id, data = token.split(".")
    assert (prefix, key_id) == ("fp1", KEY_ID)
    body = _b64d(data)
    assert body[:12] == nonce
    gcm_key = HKDF(hashes.SHA256(), 32, salt=None,
                   info=b"finprivacy/v1/fp1/AES-256-GCM").derive(MATERIAL)
    aad = b"fp1\x00" + key_id.encode() + b"\x00" + context.encode()
    plain = AESGCM(gcm_key).decrypt(body[:12], body[12:], aad)
    if isinstance(value, str):
        assert plain == b"\x01" + value.encode()
    else:
        assert plain == b"\x02" + value
    assert len(body) == 12 + len(plain) + 16


def test_derive_key_is_pinned_hkdf(fixed_kr: Keyring) -> None:
    kid, key = fixed_kr.derive_key(b"finprivacy/test")
    assert kid == KEY_ID
    expect = HKDF(hashes.SHA256(), 32, salt=None,
                  info=b"finprivacy/v1/derive_key\x00finprivacy/test").derive(MATERIAL)
    assert key == expect
    assert key.hex() == "8cd2f015e12f3112c07d6521922e43f42069398b1da4f58f71e6987ff1c7aaf4"


def test_derived_keys_are_separated(fixed_kr: Keyring) -> None:
    a = fixed_kr.derive_key(b"a")[1]
    b = fixed_kr.derive_key(b"b")[1]
    assert a != b
    assert len(fixed_kr.derive_key(b"a", length=64)[1]) == 64
    gcm_key = HKDF(hashes.SHA256(), 32, salt=None,
                   info=b"finprivacy/v1/fp1/AES-256-GCM").derive(MATERIAL)
    assert fixed_kr.derive_key(b"finprivacy/v1/fp1/AES-256-GCM")[1] != gcm_key
    assert MATERIAL not in (a, b)


def test_nonces_are_fresh(kr: Keyring) -> None:
    tokens = {kr.encrypt(CARD, context=CTX) for _ in range(50)}
    assert len(tokens) == 50
    nonces = {_b64d(t.split(".")[2])[:12] for t in tokens}
    assert len(nonces) == 50


# -- the shared text form ----------------------------------------------------------


@given(st.sampled_from(["fp1", "fpd1", "fps1"]),
       st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=64),
       st.binary(max_size=200))
def test_encode_decode_round_trip(prefix: str, key_id: str, body: bytes) -> None:
    token = encode_token(prefix, key_id, body)
    assert "=" not in token
    assert decode_token(token) == (prefix, key_id, body)
    assert is_token(token)


@pytest.mark.parametrize(("prefix", "key_id"), [("fp", "k"), ("FP1", "k"), ("fp1", ""),
                                                ("fp1", "a.b"), ("fp1", "k" * 65)])
def test_encode_refuses_bad_parts(prefix: str, key_id: str) -> None:
    with pytest.raises(fp.InvalidInputError):
        encode_token(prefix, key_id, b"x")


@pytest.mark.parametrize("bad", [
    "", "fp1", "fp1.k", "fp1.k.AA.x", "fp1..AA", "fp1.k!.AA", "fp1.k.AA==", "fp1.k.A",
    "fp1.k.AB", "fp1.k.AAB", "fp1.k.A+", "fp1.k.A/", "fp1.k.AA A", "fp1.k.AÄ", "xx1.k.AA",
    "fp1.k.\nAA", "fp1.k.AAAA!", "fp1.k.AA\nAA", "fp1.k.AAAA AAAA", "fp1.k.AA==AAAA",
    "fp1.k.AAA=", "fp1.k.AAAA\n", "fp1.k.A-A-A", "fp1.k.\x00AAA",
])
def test_decode_refuses_malformed(bad: str) -> None:
    with pytest.raises(fp.DecryptionError) as info:
        decode_token(bad)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert not is_token(bad)


def test_decode_refuses_non_text() -> None:
    for bad in (None, 1, b"fp1.k.AA", ["fp1", "k", "AA"]):
        with pytest.raises(fp.DecryptionError):
            decode_token(bad)  # type: ignore[arg-type]


@given(body=st.binary(min_size=1, max_size=60), data=st.data())
def test_inserting_any_other_character_is_refused(body: bytes, data: st.DataObject) -> None:
    """binascii skips stray characters; the decoder must not."""
    text = encode_token("fp1", "k", body).split(".")[2]
    stray = data.draw(st.characters().filter(
        lambda c: c not in string.ascii_letters + string.digits + "-_."))
    pos = data.draw(st.integers(0, len(text)))
    with pytest.raises(fp.DecryptionError):
        decode_token(f"fp1.k.{text[:pos]}{stray}{text[pos:]}")


@given(st.text(string.ascii_letters + string.digits + "_-", min_size=2, max_size=40))
def test_base64_has_one_text_form(data: str) -> None:
    """A body decodes only from its canonical text, so no two texts give one token."""
    try:
        body = decode_token(f"fp1.k.{data}")[2]
    except fp.DecryptionError:
        return
    assert encode_token("fp1", "k", body) == f"fp1.k.{data}"


# -- tampering (hypothesis) --------------------------------------------------------


@given(value=st.one_of(st.text(max_size=64), st.binary(max_size=64)),
       data=st.data())
def test_flipping_any_bit_of_the_token_fails(kr: Keyring, value: str | bytes,
                                             data: st.DataObject) -> None:
    token = kr.encrypt(value, context=CTX)
    raw = bytearray(token.encode("ascii"))
    pos = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    raw[pos] ^= 1 << bit
    try:
        tampered = raw.decode("ascii")
    except UnicodeDecodeError:
        tampered = raw.decode("latin-1")
    assume(tampered != token)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(tampered, context=CTX)


@given(value=st.one_of(st.text(max_size=64), st.binary(max_size=64)), data=st.data())
def test_flipping_any_bit_of_the_body_fails(kr: Keyring, value: str | bytes,
                                            data: st.DataObject) -> None:
    token = kr.encrypt(value, context=CTX)
    prefix, key_id, body = decode_token(token)
    raw = bytearray(body)
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token(prefix, key_id, bytes(raw)), context=CTX)


@given(value=st.text(max_size=64), cut=st.integers(1, 200))
def test_truncating_fails(kr: Keyring, value: str, cut: int) -> None:
    token = kr.encrypt(value, context=CTX)
    prefix, key_id, body = decode_token(token)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(token[: max(0, len(token) - cut)], context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token(prefix, key_id, body[: max(0, len(body) - cut)]), context=CTX)


@given(value=st.text(max_size=64), extra=st.text(min_size=1, max_size=20),
       extra_bytes=st.binary(min_size=1, max_size=20))
def test_extending_fails(kr: Keyring, value: str, extra: str, extra_bytes: bytes) -> None:
    token = kr.encrypt(value, context=CTX)
    prefix, key_id, body = decode_token(token)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(token + extra, context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token(prefix, key_id, body + extra_bytes), context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token(prefix, key_id, extra_bytes + body), context=CTX)


@given(value=st.text(max_size=32),
       prefix=st.sampled_from(["fp0", "fp2", "fpd1", "fps1", "fp10", "fpx1"]))
def test_changing_the_version_fails(kr: Keyring, value: str, prefix: str) -> None:
    token = kr.encrypt(value, context=CTX)
    _, key_id, body = decode_token(token)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token(prefix, key_id, body), context=CTX)


@given(value=st.text(max_size=32))
def test_changing_the_key_id_fails(value: str) -> None:
    kr = Keyring._from_material("aaaaaaaa", MATERIAL)
    # The same material under another id: the key id is bound by the AAD, not just looked up.
    other = Keyring._from_material("bbbbbbbb", MATERIAL)
    token = kr.encrypt(value, context=CTX)
    _, _, body = decode_token(token)
    moved = encode_token("fp1", "bbbbbbbb", body)
    with pytest.raises(fp.DecryptionError):
        other.decrypt(moved, context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(moved, context=CTX)


@given(value=st.one_of(st.text(max_size=32), st.binary(max_size=32)),
       other=st.text(min_size=1, max_size=40))
def test_other_context_fails(kr: Keyring, value: str | bytes, other: str) -> None:
    assume(other != CTX)
    token = kr.encrypt(value, context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(token, context=other)


def test_record_binding(kr: Keyring) -> None:
    token = kr.encrypt(CARD, context=fp.crypto.record_context(CTX, 41))
    assert kr.decrypt(token, context=fp.crypto.record_context(CTX, 41)) == CARD
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(token, context=fp.crypto.record_context(CTX, 42))
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(token, context=CTX)
    for bad in (None, "", b"41"):
        with pytest.raises(fp.InvalidInputError):
            fp.crypto.record_context(CTX, bad)


def test_other_keyring_fails(kr: Keyring) -> None:
    token = kr.encrypt(CARD, context=CTX)
    with pytest.raises(fp.DecryptionError):
        Keyring.generate().decrypt(token, context=CTX)


@given(st.text(max_size=300))
def test_random_strings_raise_decryption_error_only(kr: Keyring, junk: str) -> None:
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(junk, context=CTX)


@given(st.binary(max_size=300))
def test_random_bytes_raise_decryption_error_only(kr: Keyring, junk: bytes) -> None:
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(junk, context=CTX)  # type: ignore[arg-type]


@given(st.binary(max_size=120))
def test_random_bodies_under_a_real_key_id_fail(kr: Keyring, body: bytes) -> None:
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token("fp1", kr.primary_id, body), context=CTX)


def test_token_bytes_are_accepted(kr: Keyring) -> None:
    token = kr.encrypt(CARD, context=CTX)
    assert kr.decrypt(token.encode("ascii"), context=CTX) == CARD  # type: ignore[arg-type]


def test_errors_are_opaque(kr: Keyring) -> None:
    token = kr.encrypt(CARD, context=CTX)
    for bad in (token[:-2], token + "A", token.replace("fp1", "fp2"), CARD):
        with pytest.raises(fp.DecryptionError) as info:
            kr.decrypt(bad, context=CTX)
        assert CARD not in str(info.value)
        assert bad not in str(info.value)
        assert info.value.__cause__ is None


def test_moving_a_token_to_a_retired_or_destroyed_key_is_a_decryption_error() -> None:
    kr = fp.Keyring.generate()
    old = kr.primary_id
    kr.rotate()
    kr.retire(old)
    token = kr.encrypt(CARD, context=CTX)
    _, _, body = decode_token(token)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token("fp1", old, body), context=CTX)
    kr.destroy(old)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(encode_token("fp1", old, body), context=CTX)
