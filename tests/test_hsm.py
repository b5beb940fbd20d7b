"""Pkcs11Provider against SoftHSM2, with tokens created here in a temporary folder."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.crypto import Pkcs11Provider

pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed (extra 'hsm')")

LIBRARY = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "246810"
SO_PIN = "13579135"


@pytest.fixture(scope="module")
def softhsm() -> Iterator[str]:
    util = shutil.which("softhsm2-util")
    if util is None or not os.path.exists(LIBRARY):
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    base = Path(tempfile.mkdtemp(prefix="finprivacy-softhsm-"))
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    for label in ("fp-main", "fp-empty"):
        subprocess.run([util, "--init-token", "--free", "--label", label, "--pin", PIN,
                        "--so-pin", SO_PIN], check=True, env=env, capture_output=True,
                       timeout=60)
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by SoftHSM when the library loads
    try:
        Pkcs11Provider(library=LIBRARY, token_label="fp-main", key_label="keyring-kek",
                       pin=PIN).create_key()
        yield str(conf)
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old
        shutil.rmtree(base, ignore_errors=True)


def _provider(**kw: str) -> Pkcs11Provider:
    args = {"library": LIBRARY, "token_label": "fp-main", "key_label": "keyring-kek",
            "pin": PIN}
    args.update(kw)
    return Pkcs11Provider(**args)


class CountingProvider(Pkcs11Provider):
    __slots__ = ("unwraps",)

    def __init__(self) -> None:
        super().__init__(library=LIBRARY, token_label="fp-main", key_label="keyring-kek",
                         pin=fp.Secret(PIN))
        self.unwraps = 0

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        self.unwraps += 1
        return super().unwrap_key(params)


def test_keyring_file_under_hsm_once_per_load(softhsm: str, tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    token = kr.encrypt("6222020200112233446", context="clients.card_no")
    path = tmp_path / "keys.json"
    kr.save(path, provider=_provider())
    doc = json.loads(path.read_text())
    assert doc["provider"]["kind"] == "pkcs11"
    assert doc["provider"]["params"]["mechanism"] == "CKM_AES_GCM"
    assert PIN not in path.read_text()
    counting = CountingProvider()
    loaded = fp.Keyring.load(path, provider=counting)
    assert counting.unwraps == 1
    for i in range(200):
        loaded.decrypt(loaded.encrypt(f"{i}", context="c"), context="c")
    sk = fp.SubjectKeys(loaded, "memory:")
    sk.decrypt(sk.encrypt("client-42", "x", context="c"), context="c")
    assert loaded.decrypt(token, context="clients.card_no") == "6222020200112233446"
    assert counting.unwraps == 1


def test_wrap_unwrap_roundtrip(softhsm: str) -> None:
    dek = os.urandom(32)
    params = _provider().wrap_key(dek)
    assert dek.hex() not in json.dumps(params)
    assert _provider().unwrap_key(params) == dek
    assert _provider().wrap_key(dek) != params  # fresh nonce every time
    tampered = dict(params, wrapped_dek=params["wrapped_dek"][:-4] + "AAA=")
    with pytest.raises(fp.KeyProviderError, match="could not unwrap"):
        _provider().unwrap_key(tampered)


def test_missing_token(softhsm: str) -> None:
    with pytest.raises(fp.KeyProviderError, match="'fp-absent' is not present"):
        _provider(token_label="fp-absent").wrap_key(os.urandom(32))


def test_wrong_pin(softhsm: str) -> None:
    with pytest.raises(fp.KeyProviderError, match="refused the PIN") as info:
        _provider(pin="000000").wrap_key(os.urandom(32))
    assert "000000" not in str(info.value)
    assert PIN not in str(info.value)


def test_missing_key(softhsm: str) -> None:
    with pytest.raises(fp.KeyProviderError, match="no AES key 'keyring-kek'"):
        _provider(token_label="fp-empty").wrap_key(os.urandom(32))
    params = _provider().wrap_key(os.urandom(32))
    with pytest.raises(fp.KeyProviderError, match="wrapped with key 'keyring-kek'"):
        _provider(key_label="other").unwrap_key(params)


def test_key_on_another_token_cannot_unwrap(softhsm: str) -> None:
    other = _provider(token_label="fp-empty", key_label="keyring-kek")
    other.create_key()
    params = _provider().wrap_key(os.urandom(32))
    with pytest.raises(fp.KeyProviderError, match="could not unwrap"):
        other.unwrap_key(params)
    with pytest.raises(fp.KeyProviderError, match="already has a key"):
        other.create_key()


def test_missing_library() -> None:
    with pytest.raises(fp.KeyProviderError, match="no PKCS#11 library"):
        _provider(library="/nonexistent/libpkcs11.so").wrap_key(os.urandom(32))


def test_bad_params(softhsm: str) -> None:
    for params in ({}, {"mechanism": "CKM_AES_GCM", "key_label": "keyring-kek"},
                   {"mechanism": "CKM_AES_GCM", "key_label": "keyring-kek", "nonce": "AAAA",
                    "wrapped_dek": "AAAA"}):
        with pytest.raises(fp.KeyProviderError):
            _provider().unwrap_key(params)
    with pytest.raises(fp.InvalidInputError):
        _provider(pin="")
    with pytest.raises(fp.InvalidInputError):
        _provider(token_label="")


def test_repr_and_pickle() -> None:
    p = _provider()
    assert PIN not in repr(p)
    assert repr(p) == "Pkcs11Provider(token_label='fp-main', key_label='keyring-kek', pin=***)"
    assert isinstance(p, fp.KeyProvider)
    with pytest.raises(TypeError):
        pickle.dumps(p)


def test_locked_token_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # SoftHSM2 never locks a PIN, so a locked token is simulated at the library boundary.
    import pkcs11

    class LockedToken:
        def open(self, **_: object) -> None:
            raise pkcs11.exceptions.PinLocked()

    class FakeLib:
        def get_token(self, **_: object) -> LockedToken:
            return LockedToken()

    monkeypatch.setattr(pkcs11, "lib", lambda path: FakeLib())
    with pytest.raises(fp.KeyProviderError, match="'fp-main' is locked") as info:
        _provider(library=__file__).wrap_key(os.urandom(32))
    assert PIN not in str(info.value)
