"""The keyring's hot paths agree with a reference built from the token codec.

``Keyring.encrypt``/``decrypt`` are tuned (a key lookup by text prefix, cached AAD
bytes, inlined strict base64url with either codec). Here every outcome, on valid and
damaged tokens, odd contexts and odd values, is compared with a slow reference written
from the documented layout: ``_token.decode_token``/``b64url_decode`` (the reference
codec), HKDF and raw AES-GCM. Same value, or the same error type. Each case runs with
the fastpybase64 codec and with it hidden.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Callable, Iterator

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import Keyring, _keyring
from finprivacy.crypto._token import b64url_decode, encode_token

CTX = "customers.card_no"
ALPHABET = string.ascii_letters + string.digits + "-_"


class _Ctx(str):
    """A str subclass: decrypt reads it as text, encrypt refuses it."""

    __slots__ = ()


def _gcm(material: bytes) -> AESGCM:
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=None,
                       info=b"finprivacy/v1/fp1/AES-256-GCM").derive(material))


class _Ring:
    """A keyring with keys in every state and of two id lengths, and its reference."""

    def __init__(self) -> None:
        kr = Keyring._from_material("k", bytes(range(32)))  # a 1-char id: the other length
        kr.rotate()
        old = kr.primary_id  # decrypt-only, same id length as the primary
        kr.rotate()
        retired = kr.primary_id
        kr.rotate()
        destroyed = kr.primary_id
        kr.rotate()
        self.material = {k.key_id: kr.export_key_material(k.key_id) for k in kr}
        kr.retire(retired)
        kr.retire(destroyed)
        kr.destroy(destroyed)
        self.kr = kr
        self.status = {k.key_id: k.status for k in kr}
        self.gcm = {kid: _gcm(m) for kid, m in self.material.items()}
        self.ids = ["k", old, retired, destroyed, kr.primary_id]

    def seal(self, key_id: str, plain: bytes, context: str, nonce: bytes) -> str:
        aad = b"fp1\x00" + key_id.encode() + b"\x00" + context.encode()
        return encode_token("fp1", key_id, nonce + self.gcm[key_id].encrypt(nonce, plain, aad))

    def reference_decrypt(self, token: object, context: object) -> str | bytes:
        """The documented order of checks, from the reference codec."""
        if not isinstance(token, str):
            if not isinstance(token, bytes | bytearray | memoryview):
                raise fp.DecryptionError("x")
            try:
                token = bytes(token).decode("ascii")
            except UnicodeDecodeError:
                raise fp.DecryptionError("x") from None
        assert isinstance(token, str)
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "fp1" or parts[1] not in self.status:
            raise fp.DecryptionError("x")
        key_id, data = parts[1], parts[2]
        if self.status[key_id] in (fp.crypto.KeyStatus.RETIRED, fp.crypto.KeyStatus.DESTROYED):
            raise fp.KeyUnavailableError("x", key_id=key_id, status="x")
        try:
            body = b64url_decode(data)
        except ValueError:
            raise fp.DecryptionError("x") from None
        if len(body) < 12 + 1 + 16:
            raise fp.DecryptionError("x")
        try:
            aad = b"fp1\x00" + key_id.encode() + b"\x00" + context.encode(  # type: ignore[attr-defined]
                "utf-8")
        except AttributeError:
            raise fp.InvalidInputError("x") from None
        except UnicodeEncodeError:
            raise fp.DecryptionError("x") from None
        try:
            plain = self.gcm[key_id].decrypt(body[:12], body[12:], aad)
        except InvalidTag:
            raise fp.DecryptionError("x") from None
        if plain[0] == 1:
            try:
                return plain[1:].decode("utf-8")
            except UnicodeDecodeError:
                raise fp.DecryptionError("x") from None
        if plain[0] == 2:
            return plain[1:]
        raise fp.DecryptionError("x")

    def reference_encrypt(self, value: object, context: object, nonce: bytes) -> str:
        if isinstance(value, str):
            try:
                plain = b"\x01" + str(value).encode("utf-8")
            except UnicodeEncodeError:
                raise fp.InvalidInputError("value or context is not encodable as UTF-8") from None
        elif isinstance(value, bytes | bytearray | memoryview):
            plain = b"\x02" + bytes(value)
        else:
            raise fp.InvalidInputError(f"can only encrypt str or bytes, not {type(value).__name__}")
        if type(context) is not str or not context:
            raise fp.InvalidInputError("context must be a non-empty str")
        try:
            context.encode("utf-8")
        except UnicodeEncodeError:
            raise fp.InvalidInputError("value or context is not encodable as UTF-8") from None
        return self.seal(self.kr.primary_id, plain, context, nonce)


RING = _Ring()


def _outcome(fn: Callable[[], object]) -> tuple[object, ...]:
    try:
        value = fn()
    except Exception as exc:  # the error type is the outcome
        return ("error", type(exc))
    return ("value", type(value), value)


@contextlib.contextmanager
def _using(fast: bool) -> Iterator[None]:
    """Run the block with the fastpybase64 codec (as installed) or with it hidden."""
    saved = _keyring._url_encode, _keyring._url_decode
    if not fast:
        _keyring._url_encode = _keyring._url_decode = None
    try:
        yield
    finally:
        _keyring._url_encode, _keyring._url_decode = saved


def _with_each_codec(fn: Callable[[], object]) -> list[tuple[object, ...]]:
    outcomes = []
    for fast in (True, False):
        with _using(fast):
            outcomes.append(_outcome(fn))
    return outcomes


def _agrees(token: object, context: object) -> tuple[object, ...]:
    """Assert that decrypt, with either codec, does what the reference does; return it."""
    expect = _outcome(lambda: RING.reference_decrypt(token, context))
    for got in _with_each_codec(lambda: RING.kr.decrypt(token, context=context)):  # type: ignore[arg-type]
        assert got == expect
    return expect


# Short and long values (text length of a body = 4/3 of 29 + size).
SIZES = st.one_of(st.integers(0, 80), st.integers(80, 1200))
NOISE = st.sampled_from([*ALPHABET, *"+/=.. \n\x00éＡ%"])
CONTEXTS = st.sampled_from([*[CTX] * 8, "other", "a", "customers.card_no#42", "对账", "",
                            "\ud800", _Ctx(CTX), None, b"customers.card_no", 7, [CTX]])


@st.composite
def tokens(draw: st.DrawFn) -> object:
    """A token of any key, then maybe damaged anywhere, or given as bytes."""
    key_id = draw(st.sampled_from(RING.ids))
    size = draw(SIZES)
    # Sealed with the right key, so only the codec and the flag can refuse: no flag
    # at all (an empty plaintext), an unknown flag, text that is not UTF-8.
    flag = draw(st.sampled_from([b"\x01", b"\x02", b"\x01", b"\x02", b"", b"\x03"]))
    value = draw(st.one_of(st.just(b"a" * size), st.binary(min_size=size, max_size=size)))
    nonce = draw(st.binary(min_size=12, max_size=12))
    token = RING.seal(key_id, flag + value, CTX, nonce)
    how = draw(st.sampled_from(["none", "none", "none", "replace", "insert", "delete",
                                "truncate", "append"]))
    i = draw(st.integers(0, len(token)))
    noise = draw(NOISE)
    if how == "replace" and i < len(token):
        token = token[:i] + noise + token[i + 1:]
    elif how == "insert":
        token = token[:i] + noise + token[i:]
    elif how == "delete" and i < len(token):
        token = token[:i] + token[i + 1:]
    elif how == "truncate":
        token = token[:i]
    elif how == "append":
        token += noise
    kind = draw(st.sampled_from(["str", "str", "str", "bytes", "subclass"]))
    if kind == "bytes":
        return token.encode("utf-8")
    if kind == "subclass":
        return _Ctx(token)
    return token


@settings(max_examples=400)
@given(tokens(), CONTEXTS)
def test_decrypt_agrees_with_the_reference(token: object, context: object) -> None:
    _agrees(token, context)


@given(st.sampled_from(RING.ids), st.text(ALPHABET, max_size=80), CONTEXTS)
def test_decrypt_of_any_text_body_agrees_with_the_reference(key_id: str, data: str,
                                                            context: object) -> None:
    # Canonical or not, any length: only the reference codec's verdict counts.
    _agrees(f"fp1.{key_id}.{data}", context)


@given(SIZES, st.integers(0, 63))
def test_changed_last_character_agrees_with_the_reference(size: int, shift: int) -> None:
    # The unused low bits of the last character: one text form per body.
    token = RING.seal(RING.kr.primary_id, b"\x02" + b"z" * size, CTX, bytes(12))
    changed = token[:-1] + ALPHABET[(ALPHABET.index(token[-1]) + shift) % 64]
    _agrees(changed, CTX)


def _view(data: bytes) -> memoryview:
    return memoryview(data)


VALUES = st.one_of(st.text(max_size=300), st.binary(max_size=1500),
                   st.builds(bytearray, st.binary(max_size=40)),
                   st.binary(max_size=40).map(_view),
                   st.builds(_Ctx, st.text(max_size=40)),
                   st.sampled_from(["\udfff", 5, None, 1.5]))


@settings(max_examples=300)
@given(VALUES, CONTEXTS, st.binary(min_size=12, max_size=12))
def test_encrypt_agrees_with_the_reference(value: object, context: object,
                                           nonce: bytes) -> None:
    def detailed(fn: Callable[[], object]) -> tuple[object, ...]:
        try:
            return ("value", fn())
        except fp.FinPrivacyError as exc:
            return ("error", type(exc), str(exc))

    expect = detailed(lambda: RING.reference_encrypt(value, context, nonce))
    for fast in (True, False):
        with _using(fast):
            got = detailed(lambda: RING.kr._encrypt(value, context=context,  # type: ignore[arg-type]
                                                    nonce=nonce))
        assert got == expect


def test_a_context_seen_by_decrypt_is_still_checked_by_encrypt() -> None:
    kr = Keyring.generate()
    token = kr.encrypt("x", context=CTX)
    for context in ("", "\ud800"):
        with pytest.raises(fp.DecryptionError):
            kr.decrypt(token, context=context)
        with pytest.raises(fp.InvalidInputError):
            kr.encrypt("x", context=context)
    assert kr.decrypt(token, context=_Ctx(CTX)) == "x"  # decrypt reads a str subclass
    with pytest.raises(fp.InvalidInputError):  # encrypt refuses it, though CTX is cached
        kr.encrypt("x", context=_Ctx(CTX))


def test_the_aad_cache_is_bounded_and_stays_right() -> None:
    kr = Keyring.generate()
    key = kr._primary
    contexts = [fp.crypto.record_context(CTX, n) for n in range(3 * _keyring._AAD_CACHE_MAX)]
    tokens = [kr.encrypt(str(n), context=c) for n, c in enumerate(contexts)]
    assert len(key.aads) <= _keyring._AAD_CACHE_MAX
    for n, (token, context) in enumerate(zip(tokens, contexts, strict=True)):
        assert kr.decrypt(token, context=context) == str(n)
        with pytest.raises(fp.DecryptionError):
            kr.decrypt(token, context=contexts[n - 1])
    assert len(key.aads) <= _keyring._AAD_CACHE_MAX
    assert all(aad == key.aad_prefix + c.encode() for c, aad in key.aads.items())


def test_tokens_of_keys_with_other_id_lengths_take_the_general_path() -> None:
    kr = Keyring._from_material("a-much-longer-key-id", bytes(32))
    first = kr.encrypt("one", context=CTX)
    kr.rotate()
    second = kr.encrypt("two", context=CTX)
    assert len(kr.key_id_of(first)) != len(kr.key_id_of(second))
    assert kr.decrypt(first, context=CTX) == "one"
    assert kr.decrypt(second, context=CTX) == "two"
    kr.promote("a-much-longer-key-id")
    assert kr.decrypt(first, context=CTX) == "one"
    assert kr.decrypt(second, context=CTX) == "two"
    third = kr.encrypt("three", context=CTX)
    assert kr.decrypt(third, context=CTX) == "three"


@pytest.mark.parametrize("index", range(5))
@pytest.mark.parametrize("extra", [".", ".A", "..", ".fp1"])
def test_a_fourth_part_is_malformed_before_any_key_state(index: int, extra: str) -> None:
    key_id = RING.ids[index]
    for plain in (b"\x01abc", b""):
        token = RING.seal(key_id, plain, CTX, bytes(12))
        _agrees(token, CTX)
        for bad in (token + extra, token.replace(f".{key_id}.", f".{key_id}.{extra[1:]}.")):
            assert _agrees(bad, CTX) == ("error", fp.DecryptionError)


@pytest.mark.parametrize("size", range(4))
@pytest.mark.parametrize("stray", [" ", "\n", "\x00", ".", "%", "=", "+", "/", "é"])
def test_a_stray_character_anywhere_in_the_body_is_refused(size: int, stray: str) -> None:
    # binascii skips stray characters; the length check must catch every one of them.
    token = RING.seal(RING.kr.primary_id, b"\x02" + b"s" * size, CTX, bytes(12))
    start = token.rindex(".") + 1
    for i in range(start, len(token) + 1):
        assert _agrees(token[:i] + stray + token[i:], CTX) == ("error", fp.DecryptionError)
        if i < len(token):
            assert _agrees(token[:i] + stray + token[i + 1:], CTX) == (
                "error", fp.DecryptionError)


@pytest.mark.parametrize("plain", [b"", b"\x00", b"\x03x", b"\x01\xff", b"\x01ok", b"\x02ok",
                                   b"\x01" + "账".encode() * 100, b"\x02" * 300])
def test_authentic_odd_plaintexts_agree_with_the_reference(plain: bytes) -> None:
    for key_id in RING.ids:
        for n in range(3):
            _agrees(RING.seal(key_id, plain + b"\x00" * n, CTX, bytes(12)), CTX)


@settings(max_examples=200)
@given(VALUES, CONTEXTS)
def test_encrypt_and_its_fixed_nonce_twin_agree(value: object, context: object) -> None:
    # encrypt() and the test seam _encrypt() share _seal(): same token for the same
    # nonce, same error for the same input, with either codec.
    for fast in (True, False):
        with _using(fast):
            def error(fn: Callable[[], object]) -> tuple[type, str] | None:
                try:
                    fn()
                except fp.FinPrivacyError as exc:
                    return type(exc), str(exc)
                return None

            fails = error(lambda: RING.kr.encrypt(value, context=context))  # type: ignore[arg-type]
            assert fails == error(lambda: RING.kr._encrypt(
                value, context=context, nonce=bytes(12)))  # type: ignore[arg-type]
            if fails is None:
                token = RING.kr.encrypt(value, context=context)  # type: ignore[arg-type]
                nonce = b64url_decode(token.rsplit(".", 1)[1])[:12]
                assert RING.kr._encrypt(value, context=context,  # type: ignore[arg-type]
                                        nonce=nonce) == token
                assert RING.reference_decrypt(token, context) == (
                    bytes(value) if isinstance(value, bytes | bytearray | memoryview)
                    else str(value))

