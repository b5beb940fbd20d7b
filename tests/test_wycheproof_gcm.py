"""Project Wycheproof AES-GCM vectors through finprivacy's AEAD seam.

Source: tests/vectors/wycheproof/aes_gcm_test.json (C2SP/wycheproof, see README.md
there). finprivacy only makes 96-bit nonces (SP 800-38D §8.2), so only the groups with
``ivSize == 96`` apply; every valid vector must seal and open to the expected bytes,
every invalid one must raise DecryptionError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import finprivacy as fp
from finprivacy.crypto._aead import NONCE_SIZE, Aead

VECTORS = Path(__file__).parent / "vectors" / "wycheproof" / "aes_gcm_test.json"


def _cases() -> list[Any]:
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    cases = []
    for group in data["testGroups"]:
        if group["ivSize"] != NONCE_SIZE * 8:
            continue
        assert group["tagSize"] == 128
        for t in group["tests"]:
            cases.append(pytest.param(group["keySize"], t, id=f"tc{t['tcId']}"))
    return cases


CASES = _cases()


def test_vector_file_is_the_expected_one() -> None:
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert data["algorithm"] == "AES-GCM"
    assert data["numberOfTests"] == 316
    results = [t for _, t in (c.values for c in CASES)]
    assert len(results) >= 100
    assert {t["result"] for t in results} == {"valid", "invalid"}
    assert any(size == 256 for size, _ in (c.values for c in CASES))


@pytest.mark.parametrize(("key_size", "case"), CASES)
def test_wycheproof_aes_gcm(key_size: int, case: dict[str, Any]) -> None:
    key = bytes.fromhex(case["key"])
    assert len(key) * 8 == key_size
    iv, aad = bytes.fromhex(case["iv"]), bytes.fromhex(case["aad"])
    msg = bytes.fromhex(case["msg"])
    sealed = bytes.fromhex(case["ct"]) + bytes.fromhex(case["tag"])
    aead = Aead(key)
    if case["result"] == "valid":
        assert aead.open(iv, sealed, aad) == msg
        assert aead.seal(iv, msg, aad) == sealed
    else:
        with pytest.raises(fp.DecryptionError) as info:
            aead.open(iv, sealed, aad)
        assert info.value.__cause__ is None


def test_open_refuses_wrong_nonce_size() -> None:
    aead = Aead(bytes(32))
    sealed = aead.seal(bytes(12), b"x", b"")
    for nonce in (b"", bytes(8), bytes(16)):
        with pytest.raises(fp.DecryptionError):
            aead.open(nonce, sealed, b"")


def test_aead_refuses_pickle() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Aead(bytes(32)))
    assert "key" in repr(Aead(bytes(32)))
    assert bytes(32).hex() not in repr(Aead(bytes(32)))
