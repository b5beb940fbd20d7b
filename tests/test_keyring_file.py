"""Keyring files: round trips, wrong passphrase, damage, atomic save, providers, environment."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import ARGON2_TESTING_ONLY, KeyStatus, PassphraseProvider, _keyfile

PASS = "correct horse battery staple"
CTX = "customers.card_no"
CARD = "6222020200112233445"
T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _cheap(passphrase: str = PASS) -> PassphraseProvider:
    return PassphraseProvider(passphrase, profile=ARGON2_TESTING_ONLY)


@pytest.fixture
def kr() -> fp.Keyring:
    clock = fp.FixedClock(T0)
    kr = fp.Keyring.generate(clock=clock)
    clock.advance(dt.timedelta(days=30))
    kr.rotate()
    clock.advance(dt.timedelta(days=30))
    old = kr.rotate()
    kr.rotate()
    kr.retire(old)
    return kr


def _same(a: fp.Keyring, b: fp.Keyring) -> None:
    assert a.keys() == b.keys()
    assert a.primary_id == b.primary_id
    infos = a.keys()
    for info in infos:
        if info.status is not KeyStatus.DESTROYED:
            assert a.export_key_material(info.key_id) == b.export_key_material(info.key_id)


def test_file_round_trip(kr: fp.Keyring, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    tokens = {}
    infos = kr.keys()
    for info in infos:
        if info.status in (KeyStatus.PRIMARY, KeyStatus.DECRYPT_ONLY):
            tokens[info.key_id] = kr.encrypt(CARD, context=CTX)
    kr.save(path, provider=_cheap())
    back = fp.Keyring.load(path, provider=_cheap())
    _same(kr, back)
    for token in tokens.values():
        assert back.decrypt(token, context=CTX) == CARD
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]


def test_destroyed_keys_survive_as_ids(kr: fp.Keyring, tmp_path: Path) -> None:
    infos = kr.keys()
    retired = next(k.key_id for k in infos if k.status is KeyStatus.RETIRED)
    kr.destroy(retired)
    kr.save(tmp_path / "k", provider=_cheap())
    back = fp.Keyring.load(tmp_path / "k", provider=_cheap())
    assert back.key(retired).status is KeyStatus.DESTROYED
    with pytest.raises(fp.KeyStateError):
        back.export_key_material(retired)


def test_save_with_passphrase_shorthand(tmp_path: Path) -> None:
    """``save(passphrase=)`` uses the default RFC 9106 profile (64 MiB, t=3): run once."""
    kr = fp.Keyring.generate()
    kr.save(tmp_path / "k", passphrase=PASS)
    doc = json.loads((tmp_path / "k").read_text())
    params = doc["provider"]["params"]
    assert doc["provider"]["kind"] == "passphrase"
    assert (params["kdf"], params["time_cost"], params["memory_cost"],
            params["parallelism"]) == ("argon2id", "3", "65536", "4")
    assert len(base64.b64decode(params["salt"])) == 16
    _same(kr, fp.Keyring.load(tmp_path / "k", passphrase=fp.Secret(PASS)))


def test_file_holds_no_plain_material(kr: fp.Keyring, tmp_path: Path) -> None:
    kr.save(tmp_path / "k", provider=_cheap())
    raw = (tmp_path / "k").read_bytes()
    infos = kr.keys()
    for info in infos:
        material = kr.export_key_material(info.key_id)
        for form in (material, material.hex().encode(), base64.b64encode(material),
                     base64.urlsafe_b64encode(material).rstrip(b"=")):
            assert form not in raw
        assert info.key_id.encode() not in raw  # even ids are sealed
    assert PASS.encode() not in raw


def test_salt_is_fresh_per_save(kr: fp.Keyring, tmp_path: Path) -> None:
    kr.save(tmp_path / "a", provider=_cheap())
    kr.save(tmp_path / "b", provider=_cheap())
    a = json.loads((tmp_path / "a").read_text())
    b = json.loads((tmp_path / "b").read_text())
    assert a["provider"]["params"]["salt"] != b["provider"]["params"]["salt"]
    assert a["ciphertext"] != b["ciphertext"]


def test_wrong_passphrase(kr: fp.Keyring, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    kr.save(path, provider=_cheap())
    with pytest.raises(fp.KeyringError) as info:
        fp.Keyring.load(path, provider=_cheap("Tr0ub4dor&3"))
    msg = str(info.value)
    assert str(path) in msg
    assert "wrong passphrase" in msg
    assert "Tr0ub4dor&3" not in msg
    assert PASS not in msg


def test_truncated_file(kr: fp.Keyring, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    kr.save(path, provider=_cheap())
    data = path.read_bytes()
    for cut in (0, 1, len(data) // 3, len(data) // 2, len(data) - 10):
        path.write_bytes(data[:cut])
        with pytest.raises(fp.KeyringError, match=str(path)):
            fp.Keyring.load(path, provider=_cheap())


@settings(max_examples=40)
@given(data=st.data())
def test_corrupted_file(data: st.DataObject) -> None:
    raw = bytearray(_SEALED.encode())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    try:
        back = fp.Keyring.loads(bytes(raw), provider=_cheap(), source="keys.json")
    except fp.KeyringError as exc:
        message = str(exc)
    else:  # only JSON whitespace or an equivalent escape can survive a flip
        _same(_KR, back)
        return
    assert "keys.json" in message
    assert PASS not in message


_KR = fp.Keyring.generate()
_SEALED = _KR.dumps(provider=_cheap())


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(version=2),
    lambda d: d.update(format="other"),
    lambda d: d.pop("ciphertext"),
    lambda d: d.update(nonce="!!"),
    lambda d: d["provider"].update(kind="environment"),
    lambda d: d["provider"]["params"].update(time_cost="9999"),
    lambda d: d["provider"]["params"].update(memory_cost="99999999999"),
    lambda d: d["provider"]["params"].update(salt="AAAA"),
    lambda d: d["provider"]["params"].pop("parallelism"),
    lambda d: d["provider"]["params"].update(kdf="scrypt"),
    lambda d: d["provider"].update(params=[]),
    lambda d: d.clear(),
])
def test_damaged_documents(mutate: object) -> None:
    doc = json.loads(_SEALED)
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(fp.KeyringError, match=r"keys\.json"):
        fp.Keyring.loads(json.dumps(doc), provider=_cheap(), source="keys.json")


def test_damaged_key_list_inside_a_valid_seal() -> None:
    """A payload that authenticates but is malformed still gives KeyringError."""
    class Fixed:
        kind = "fixed"

        def wrap_key(self, dek: bytes) -> dict[str, str]:
            self.dek = dek
            return {}

        def unwrap_key(self, params: Mapping[str, str]) -> bytes:
            return self.dek

    for payload in ({"keys": []}, {"keys": [{"id": "x"}], "primary": "x"},
                    {"keys": [{"id": "a", "template": "AES256_GCM", "status": "decrypt-only",
                               "created_at": T0.isoformat(), "changed_at": T0.isoformat(),
                               "material": "AA"}], "primary": "a"}):
        prov = Fixed()
        text = _keyfile.seal_document(payload, prov)
        with pytest.raises(fp.KeyringError, match="corrupted"):
            fp.Keyring.loads(text, provider=prov)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(fp.KeyringError, match="does not exist"):
        fp.Keyring.load(tmp_path / "nope", provider=_cheap())
    with pytest.raises(fp.KeyringError, match="cannot be written"):
        fp.Keyring.generate().save(tmp_path / "no" / "dir" / "k", provider=_cheap())


def test_crash_before_rename_keeps_old_file(kr: fp.Keyring, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.json"
    kr.save(path, provider=_cheap())
    before = path.read_bytes()
    kr.rotate()

    def crash(src: object, dst: object) -> None:
        raise OSError(5, "simulated crash between write and rename")

    monkeypatch.setattr(_keyfile.os, "replace", crash)
    with pytest.raises(fp.KeyringError, match="cannot be written"):
        kr.save(path, provider=_cheap())
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]
    old = fp.Keyring.load(path, provider=_cheap())
    assert old.primary_id != kr.primary_id


def test_hard_crash_leaves_temp_file_and_old_file_loads(kr: fp.Keyring, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A process killed after fsync but before rename: the temp file stays, the old loads."""
    path = tmp_path / "keys.json"
    kr.save(path, provider=_cheap())
    kr.rotate()

    class Killed(BaseException):
        pass

    def die(src: object, dst: object) -> None:
        raise Killed

    monkeypatch.setattr(_keyfile.os, "replace", die)
    monkeypatch.setattr(_keyfile.os, "unlink", lambda p: None)  # a dead process cleans nothing
    with pytest.raises(Killed):
        kr.save(path, provider=_cheap())
    monkeypatch.undo()
    leftovers = [p for p in tmp_path.iterdir() if p.name != "keys.json"]
    assert len(leftovers) == 1
    assert leftovers[0].name.startswith(".keys.json.")
    assert fp.Keyring.load(path, provider=_cheap()).primary_id != kr.primary_id
    # The next save still works and replaces the file.
    kr.save(path, provider=_cheap())
    assert fp.Keyring.load(path, provider=_cheap()).primary_id == kr.primary_id


def test_save_and_load_need_exactly_one_secret_source(kr: fp.Keyring, tmp_path: Path) -> None:
    with pytest.raises(fp.InvalidInputError):
        kr.save(tmp_path / "k")
    with pytest.raises(fp.InvalidInputError):
        kr.save(tmp_path / "k", passphrase="x", provider=_cheap())
    with pytest.raises(fp.InvalidInputError):
        kr.save(tmp_path / "k", provider="passphrase")  # type: ignore[arg-type]
    for bad in ("", b""):
        with pytest.raises(fp.InvalidInputError):
            PassphraseProvider(bad)


# -- environment provider and loading from the environment -------------------------


def test_environment_provider(kr: fp.Keyring, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    kek = fp.EnvironmentProvider.generate_kek()
    assert len(base64.b64decode(kek)) == 32
    monkeypatch.setenv("LOTUS_KEK", kek)
    prov = fp.EnvironmentProvider("LOTUS_KEK")
    assert prov.var_name == "LOTUS_KEK"
    assert repr(prov) == "EnvironmentProvider('LOTUS_KEK')"
    kr.save(tmp_path / "k", provider=prov)
    assert kek not in (tmp_path / "k").read_text()
    _same(kr, fp.Keyring.load(tmp_path / "k", provider=fp.EnvironmentProvider("LOTUS_KEK")))
    # The wrong kind of provider is refused by name.
    with pytest.raises(fp.KeyringError, match=r"'environment'.*'passphrase'"):
        fp.Keyring.load(tmp_path / "k", passphrase=PASS)
    monkeypatch.setenv("LOTUS_KEK", fp.EnvironmentProvider.generate_kek())
    with pytest.raises(fp.KeyringError, match="LOTUS_KEK") as info:
        fp.Keyring.load(tmp_path / "k", provider=prov)
    assert kek not in str(info.value)
    for bad in ("", "not base64!", base64.b64encode(b"short").decode()):
        monkeypatch.setenv("LOTUS_KEK", bad)
        with pytest.raises(fp.KeyringError, match="LOTUS_KEK"):
            fp.Keyring.load(tmp_path / "k", provider=prov)
    monkeypatch.delenv("LOTUS_KEK")
    with pytest.raises(fp.KeyProviderError, match="LOTUS_KEK"):
        prov.wrap_key(bytes(32))
    with pytest.raises(fp.InvalidInputError):
        fp.EnvironmentProvider("")


def test_from_env(kr: fp.Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    text = kr.dumps(provider=_cheap())
    monkeypatch.setenv("LOTUS_KEYRING", text)
    _same(kr, fp.Keyring.from_env("LOTUS_KEYRING", provider=_cheap()))
    monkeypatch.setenv("LOTUS_KEYRING", base64.b64encode(text.encode()).decode())
    _same(kr, fp.Keyring.from_env("LOTUS_KEYRING", provider=_cheap()))
    wrapped = base64.encodebytes(text.encode()).decode()  # 76-column lines, as base64(1)
    assert "\n" in wrapped.strip()
    monkeypatch.setenv("LOTUS_KEYRING", wrapped)
    _same(kr, fp.Keyring.from_env("LOTUS_KEYRING", provider=_cheap()))
    with pytest.raises(fp.KeyringError, match="LOTUS_KEYRING"):
        fp.Keyring.from_env("LOTUS_KEYRING", provider=_cheap("wrong"))
    monkeypatch.setenv("LOTUS_KEYRING", "%%%")
    with pytest.raises(fp.KeyringError, match="LOTUS_KEYRING"):
        fp.Keyring.from_env("LOTUS_KEYRING", provider=_cheap())
    monkeypatch.delenv("LOTUS_KEYRING")
    with pytest.raises(fp.KeyringError, match=r"LOTUS_KEYRING.*not set"):
        fp.Keyring.from_env("LOTUS_KEYRING", provider=_cheap())


def test_custom_provider_dispatch(kr: fp.Keyring, tmp_path: Path) -> None:
    """A third-party provider (KMS, HSM …) plugs in through the Protocol."""
    class Toy:
        kind = "toy"

        def __init__(self) -> None:
            self.calls: list[dict[str, str]] = []

        def wrap_key(self, dek: bytes) -> dict[str, str]:
            return {"wrapped_dek": base64.b64encode(bytes(b ^ 0x5A for b in dek)).decode(),
                    "key_ref": "toy-key-1"}

        def unwrap_key(self, params: Mapping[str, str]) -> bytes:
            self.calls.append(dict(params))
            if params.get("key_ref") != "toy-key-1":
                raise fp.KeyProviderError("toy provider: unknown key_ref")
            return bytes(b ^ 0x5A for b in base64.b64decode(params["wrapped_dek"]))

    toy = Toy()
    assert isinstance(toy, fp.KeyProvider)
    kr.save(tmp_path / "k", provider=toy)
    doc = json.loads((tmp_path / "k").read_text())
    assert doc["provider"]["kind"] == "toy"
    assert doc["provider"]["params"]["key_ref"] == "toy-key-1"
    _same(kr, fp.Keyring.load(tmp_path / "k", provider=toy))
    assert toy.calls[-1]["key_ref"] == "toy-key-1"
    with pytest.raises(fp.KeyringError, match="'toy'"):
        fp.Keyring.load(tmp_path / "k", provider=_cheap())
    doc["provider"]["params"]["key_ref"] = "other"
    (tmp_path / "k").write_text(json.dumps(doc))
    with pytest.raises(fp.KeyringError, match="unknown key_ref"):
        fp.Keyring.load(tmp_path / "k", provider=toy)


def test_loaded_keyring_uses_given_clock(kr: fp.Keyring, tmp_path: Path) -> None:
    kr.save(tmp_path / "k", provider=_cheap())
    clock = fp.FixedClock(T0 + dt.timedelta(days=400))
    back = fp.Keyring.load(tmp_path / "k", provider=_cheap(), clock=clock)
    new = back.rotate()
    assert back.key(new).created_at == clock.now()


def test_provider_reprs_hide_secrets() -> None:
    prov = PassphraseProvider(PASS)
    assert PASS not in repr(prov)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(prov)


def test_save_is_durable_and_replaces(kr: fp.Keyring, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(_keyfile.os, "fsync", spy)
    path = tmp_path / "k"
    path.write_text("old")
    kr.save(path, provider=_cheap())
    assert len(synced) == 2  # the file, then its folder
    assert fp.Keyring.load(path, provider=_cheap()).primary_id == kr.primary_id


@settings(max_examples=40)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4)
                              | st.dictionaries(st.text(max_size=10), c, max_size=4),
                              max_leaves=12).map(json.dumps)))
def test_loads_random_input_raises_keyring_error_only(junk: str | bytes) -> None:
    with pytest.raises(fp.KeyringError):
        fp.Keyring.loads(junk, provider=_cheap(), source="junk.json")


@settings(max_examples=30)
@given(st.dictionaries(st.sampled_from(["id", "template", "status", "created_at",
                                        "changed_at", "material", "extra"]),
                       st.none() | st.integers() | st.text(max_size=30), max_size=7),
       st.none() | st.text(max_size=10))
def test_random_key_lists_raise_keyring_error_only(entry: dict[str, object],
                                                   primary: str | None) -> None:
    class Fixed:
        kind = "fixed"

        def wrap_key(self, dek: bytes) -> dict[str, str]:
            self.dek = dek
            return {}

        def unwrap_key(self, params: Mapping[str, str]) -> bytes:
            return self.dek

    prov = Fixed()
    text = _keyfile.seal_document({"keys": [entry], "primary": primary}, prov)
    with pytest.raises(fp.KeyringError):
        fp.Keyring.loads(text, provider=prov)
