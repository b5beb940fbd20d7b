"""Keyring files and loaders under faults and hostile input (issue 15, items 6-10)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import ARGON2_TESTING_ONLY, PassphraseProvider
from finprivacy.crypto._keyfile import remove_stale_temporaries
from finprivacy.errors import FinPrivacyError, KeyringError, WeakPassphraseError

PASS = "correct horse battery staple"
ROOT = Path(__file__).resolve().parent.parent


def _cheap(passphrase: str = PASS, **kw: bool) -> PassphraseProvider:
    return PassphraseProvider(passphrase, profile=ARGON2_TESTING_ONLY, **kw)


def _killed_save(path: Path) -> None:
    """Run a save in another process and kill -9 it after its temporary file is written."""
    script = textwrap.dedent(f"""
        import os, sys, time
        import finprivacy as fp
        from finprivacy.crypto import ARGON2_TESTING_ONLY, PassphraseProvider
        kr = fp.Keyring.load({str(path)!r}, provider=PassphraseProvider(
            {PASS!r}, profile=ARGON2_TESTING_ONLY))
        def stuck(src, dst):
            print("written", flush=True)
            time.sleep(60)
        os.replace = stuck
        kr.save({str(path)!r}, provider=PassphraseProvider(
            {PASS!r}, profile=ARGON2_TESTING_ONLY))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env,
                          text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "written"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def _materials(folder: Path) -> set[bytes]:
    """Every key's material that any file in ``folder`` opens to."""
    found = set()
    for f in folder.iterdir():
        try:
            kr = fp.Keyring.loads(f.read_bytes(), provider=_cheap(), source=f.name)
        except KeyringError:
            continue
        for info in kr:
            with contextlib.suppress(fp.errors.KeyStateError):
                found.add(kr.export_key_material(info.key_id))
    return found


@pytest.mark.parametrize("then", ["save", "load"])
def test_no_destroyed_key_survives_in_the_folder_after_a_killed_save(
        tmp_path: Path, then: str) -> None:
    path = tmp_path / "keyring.json"
    kr = fp.Keyring.generate()
    old = kr.primary_id
    old_material = kr.export_key_material(old)
    kr.save(path, provider=_cheap())
    _killed_save(path)
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers, "the killed save left its temporary file (the fault under test)"
    assert old_material in _materials(tmp_path)

    kr.rotate()
    kr.retire(old)
    kr.destroy(old)
    if then == "save":
        kr.save(path, provider=_cheap())
    else:
        kr.save(tmp_path / "other.json", provider=_cheap())
        fp.Keyring.load(path, provider=_cheap())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    if then == "save":
        assert old_material not in _materials(tmp_path)


def test_a_live_save_keeps_its_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    mine = tmp_path / f".k.json.{os.getpid()}.abcdef012345.tmp"
    mine.write_text("in progress")
    dead = tmp_path / ".k.json.999999999.abcdef012345.tmp"
    dead.write_text("left by a killed save")
    legacy = tmp_path / ".k.json.abcdef012345.tmp"
    legacy.write_text("older form")
    other = tmp_path / ".other.json.1.abcdef012345.tmp"
    other.write_text("another keyring's")
    removed = remove_stale_temporaries(path)
    assert sorted(p.name for p in removed) == sorted([dead.name, legacy.name])
    assert mine.exists() and other.exists()


def test_save_wraps_key_provider_errors(tmp_path: Path) -> None:
    class Broken:
        kind = "broken"

        def wrap_key(self, dek: bytes) -> dict[str, str]:
            raise fp.KeyProviderError("the KMS is unreachable")

        def unwrap_key(self, params: dict[str, str]) -> bytes:
            raise fp.KeyProviderError("the KMS is unreachable")

    kr = fp.Keyring.generate()
    with pytest.raises(KeyringError, match="could not be sealed: the KMS is unreachable"):
        kr.save(tmp_path / "k.json", provider=Broken())  # type: ignore[arg-type]
    assert not (tmp_path / "k.json").exists()


@pytest.mark.parametrize("text", ['{"a":' * 100_000, "[" * 100_000, None, 42, b"\xff\xfe"])
def test_keyring_loads_refuses_hostile_text_with_a_typed_error(text: object) -> None:
    with pytest.raises(KeyringError):
        fp.Keyring.loads(text, provider=_cheap())  # type: ignore[arg-type]


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                              lambda c: st.lists(c, max_size=3)
                              | st.dictionaries(st.text(max_size=5), c, max_size=3),
                              max_leaves=20).map(json.dumps)))
def test_keyring_loads_fuzzed_raises_only_finprivacy_errors(text: str | bytes) -> None:
    with pytest.raises(FinPrivacyError):
        fp.Keyring.loads(text, provider=_cheap())


def _file_asking(tmp_path: Path, **params: str) -> Path:
    path = tmp_path / "k.json"
    fp.Keyring.generate().save(path, provider=_cheap())
    doc = json.loads(path.read_text())
    doc["provider"]["params"].update(params)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("params", [
    {"time_cost": "64", "memory_cost": str(4 * 1024 * 1024), "parallelism": "64"},
    {"memory_cost": str(4 * 1024 * 1024)},
    {"time_cost": "1000"},
    {"parallelism": "64", "memory_cost": "512"},
])
def test_argon2_parameters_beyond_the_caps_are_refused_before_any_work(
        tmp_path: Path, params: dict[str, str]) -> None:
    path = _file_asking(tmp_path, **params)
    start = time.process_time()
    with pytest.raises(KeyringError, match="beyond the caps"):
        fp.Keyring.load(path, provider=_cheap())
    assert time.process_time() - start < 5  # no Argon2 run of that size was started


def test_short_passphrases_are_refused_when_sealing(tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    with pytest.raises(WeakPassphraseError, match="at least 12"):
        kr.save(tmp_path / "k.json", passphrase="x")
    with pytest.raises(WeakPassphraseError) as info:
        kr.save(tmp_path / "k.json", provider=_cheap("eleven char"))
    assert "eleven char" not in str(info.value)
    assert not (tmp_path / "k.json").exists()
    kr.save(tmp_path / "k.json", provider=_cheap("x", allow_weak=True))  # explicit override
    assert fp.Keyring.load(tmp_path / "k.json", provider=_cheap("x")).primary_id == \
        kr.primary_id  # loading never refuses: an old file still opens
    kr.save(tmp_path / "k.json", provider=_cheap("twelve chars"))


@pytest.mark.parametrize("loader", ["load_policy", "load_inventory"])
@pytest.mark.parametrize("text", ["a = " + "[" * 50_000, '{"a":' * 100_000])
def test_policy_and_inventory_loaders_refuse_deep_nesting(
        tmp_path: Path, loader: str, text: str) -> None:
    path = tmp_path / ("x.toml" if text.startswith("a") else "x.json")
    path.write_text(text)
    with pytest.raises(FinPrivacyError):
        getattr(fp, loader)(path)


@given(st.text(max_size=200))
def test_policy_and_inventory_loaders_fuzzed(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".toml", ".json"):
            path = Path(folder) / f"x{suffix}"
            path.write_text(text, encoding="utf-8")
            for loader in (fp.load_policy, fp.load_inventory):
                with contextlib.suppress(FinPrivacyError):
                    loader(path)
