"""The optional fastpybase64 codec (``speed`` extra) makes exactly the tokens the stdlib does.

Token bodies are encoded and decoded with fastpybase64 (simdutf) when it is installed
(the ``dev`` extra installs it, so the suite runs both codecs). The text of every
token, and the accept/refuse verdict on every malformed token, must not depend on
which codec ran: these tests run each case with fastpybase64 and with it hidden.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import _keyring

CTX = "customers.statement"
NONCE = bytes(range(12))
KEYRING = fp.Keyring.generate()
# Short and long bodies, with all three base64 remainders.
SIZES = st.one_of(st.integers(0, 100), st.integers(0, 600))
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOISE = st.sampled_from([*ALPHABET, "+", "/", "=", " ", "\n", "é", ".", "\x00", "Ａ"])


@pytest.fixture
def without_fast_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_keyring, "_url_encode", None)
    monkeypatch.setattr(_keyring, "_url_decode", None)


def _both(fn: object) -> tuple[object, object]:
    """Run ``fn()`` with fastpybase64 and without; each outcome is a value or an error type."""
    assert callable(fn)
    outcomes = []
    saved = _keyring._url_encode, _keyring._url_decode
    for codec in (saved, (None, None)):
        _keyring._url_encode, _keyring._url_decode = codec
        try:
            outcomes.append(fn())
        except fp.FinPrivacyError as exc:
            outcomes.append(type(exc))
        finally:
            _keyring._url_encode, _keyring._url_decode = saved
    return outcomes[0], outcomes[1]


def test_the_dev_extra_installs_the_fast_codec() -> None:
    assert _keyring._url_encode is not None
    assert _keyring._url_decode is not None


@given(st.integers(0, 3000).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_tokens_are_identical_with_either_codec(value: bytes) -> None:
    fast, slow = _both(lambda: KEYRING._encrypt(value, context=CTX, nonce=NONCE))
    assert fast == slow
    assert isinstance(fast, str)
    back_fast, back_slow = _both(lambda: KEYRING.decrypt(fast, context=CTX))
    assert back_fast == back_slow == value


@given(SIZES, st.data())
def test_malformed_long_tokens_get_the_same_verdict(size: int, data: st.DataObject) -> None:
    token = KEYRING._encrypt(b"x" * size, context=CTX, nonce=NONCE)
    head, body = token.rsplit(".", 1)
    i = data.draw(st.integers(0, len(body)))
    how = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    noise = data.draw(NOISE)
    if how == "replace" and i < len(body):
        body = body[:i] + noise + body[i + 1:]
    elif how == "insert":
        body = body[:i] + noise + body[i:]
    elif how == "delete" and i < len(body):
        body = body[:i] + body[i + 1:]
    else:
        body = body[:i]
    fast, slow = _both(lambda: KEYRING.decrypt(f"{head}.{body}", context=CTX))
    assert fast == slow


@pytest.mark.parametrize("size", [300, 302, 599, 602])
def test_non_canonical_final_character_is_refused(size: int) -> None:
    # A body of size + 29 bytes (flag, nonce, tag) leaves 1 or 2 bytes in the final
    # group for these sizes, so the last character has unused low bits.
    token = KEYRING._encrypt(b"y" * size, context=CTX, nonce=NONCE)
    body = token.rsplit(".", 1)[1]
    assert len(body) % 4 in (2, 3)
    last = ALPHABET.index(body[-1])
    flipped = token[:-1] + ALPHABET[last ^ 1]
    fast, slow = _both(lambda: KEYRING.decrypt(flipped, context=CTX))
    assert fast is slow is fp.DecryptionError


def test_the_stdlib_codec_still_works_alone(without_fast_codec: None) -> None:
    value = "对账单 " * 200
    token = KEYRING.encrypt(value, context=CTX)
    assert KEYRING.decrypt(token, context=CTX) == value
