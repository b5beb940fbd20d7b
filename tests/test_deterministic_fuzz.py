"""Hypothesis fuzzing of the token decoders of this area: only the typed error escapes."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import DeterministicCipher, SecretHasher, SubjectKeys
from finprivacy.crypto._hashing import PROFILE_TESTING_ONLY

KR = fp.Keyring.generate()
DET = DeterministicCipher(KR)
SK = SubjectKeys(KR, "memory:")
GOOD_DET = DET.encrypt("6222020200112233446", context="c")
GOOD_SK = SK.encrypt("client-1", "6222020200112233446", context="c")
IDX = fp.BlindIndex(KR, "fuzz.index", bits=24)
HASHER = SecretHasher(PROFILE_TESTING_ONLY, kind="pin")
STORED = HASHER.hash("246810")
TOKEN_CHARS = string.ascii_letters + string.digits + "-_.=+/ "


def _mutations() -> st.SearchStrategy[str]:
    good = st.sampled_from([GOOD_DET, GOOD_SK])
    return st.one_of(
        st.text(max_size=120),
        st.text(alphabet=TOKEN_CHARS, max_size=120),
        st.builds(lambda t, i, c: t[:i] + c + t[i + 1:], good,
                  st.integers(0, len(GOOD_DET) - 1), st.sampled_from(TOKEN_CHARS)),
        st.builds(lambda t, n: t[:n], good, st.integers(0, len(GOOD_DET))),
        st.builds(lambda t, extra: t + extra, good, st.text(alphabet=TOKEN_CHARS, max_size=8)),
    )


@given(token=_mutations())
def test_deterministic_decrypt_raises_only_decryption_error(token: str) -> None:
    error: fp.DecryptionError | None = None
    try:
        out = DET.decrypt(token, context="c")
    except fp.DecryptionError as exc:
        error = exc
    if error is not None:
        assert "6222020200112233446" not in str(error)
    else:
        assert token == GOOD_DET
        assert out == "6222020200112233446"


@given(token=_mutations())
def test_subject_decrypt_raises_only_decryption_error(token: str) -> None:
    error: fp.DecryptionError | None = None
    try:
        out = SK.decrypt(token, context="c")
    except fp.DecryptionError as exc:
        error = exc
    if error is not None:
        assert not isinstance(error, fp.SubjectErasedError)
        assert "6222020200112233446" not in str(error)
    else:
        assert token == GOOD_SK
        assert out == "6222020200112233446"


@given(stored=st.one_of(st.text(max_size=120),
                        st.builds(lambda i, c: STORED[:i] + c + STORED[i + 1:],
                                  st.integers(0, len(STORED) - 1),
                                  st.sampled_from(TOKEN_CHARS + "$,"))))
def test_hash_verify_raises_only_verification_error(stored: str) -> None:
    message = ""
    try:
        HASHER.verify(stored, "246810")
    except fp.VerificationError as exc:
        message = str(exc)
    assert "246810" not in message


@given(stored=st.text(max_size=80))
def test_index_value_parser(stored: str) -> None:
    try:
        key_id = IDX.key_id_of(stored)
    except fp.InvalidInputError:
        return
    assert stored.startswith(key_id + ":")
