"""Configuration typos are errors at load, never data shown other than intended (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.access import _control

INVENTORY = """\
version = "1"
[fields."client.name"]
category = "identity"
sensitivity = "C1"
purposes = ["bookkeeping"]
[fields."client.id_no"]
category = "identity"
sensitivity = "C2"
purposes = ["bookkeeping"]
mask = "{mask}"
"""
POLICY = """\
version = "1"
[roles.accountant]
[purposes.bookkeeping]
[[permissions]]
role = "accountant"
purpose = "bookkeeping"
raw = ["{raw}"]
"""


def _files(tmp_path: Path, *, raw: str = "name", mask: str = "cn_id") -> tuple[Path, Path]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.format(raw=raw), encoding="utf-8")
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(INVENTORY.format(mask=mask), encoding="utf-8")
    return policy, inventory


@pytest.fixture(autouse=True)
def _clean_registry() -> object:
    saved = set(_control._REQUIRED)
    _control._REQUIRED.clear()  # other tests' @requires guards named other purposes
    previous = fp.set_access_control(None)
    yield
    _control._REQUIRED.clear()
    _control._REQUIRED.update(saved)
    _control.set_access_control(previous)


def test_a_consistent_pair_configures(tmp_path: Path) -> None:
    policy, inventory = _files(tmp_path)
    fp.configure_access(fp.load_policy(policy), fp.load_inventory(inventory))


def test_a_policy_field_the_inventory_lacks(tmp_path: Path) -> None:
    policy, inventory = _files(tmp_path, raw="nmae")
    with pytest.raises(fp.ConfigurationError) as info:
        fp.configure_access(fp.load_policy(policy), fp.load_inventory(inventory))
    message = str(info.value)
    assert "policy.toml" in message and "inventory.toml" in message
    assert "'nmae'" in message and "did you mean 'name'?" in message


def test_an_unknown_mask_kind(tmp_path: Path) -> None:
    policy, inventory = _files(tmp_path, mask="cnid")
    with pytest.raises(fp.ConfigurationError) as info:
        fp.configure_access(fp.load_policy(policy), fp.load_inventory(inventory))
    assert "inventory.toml" in str(info.value)
    assert "'cnid'" in str(info.value) and "did you mean 'cn_id'?" in str(info.value)


def test_a_requires_purpose_the_policy_lacks(tmp_path: Path) -> None:
    policy, inventory = _files(tmp_path)

    @fp.requires(purpose="bookeeping", subject="client_id")
    def load(client_id: str) -> dict[str, str]:
        return {"name": "x"}

    with pytest.raises(fp.ConfigurationError) as info:
        fp.configure_access(fp.load_policy(policy), fp.load_inventory(inventory))
    assert "'bookeeping'" in str(info.value) and "did you mean 'bookkeeping'?" in str(info.value)
    _control._REQUIRED.discard("bookeeping")
    fp.configure_access(fp.load_policy(policy), fp.load_inventory(inventory))
    with pytest.raises(fp.ConfigurationError, match="not in the configured policy"):
        fp.requires(purpose="bookeeping", subject="client_id")  # after configuring: at once


def test_encrypt_and_decrypt_of_none_raise_the_same_type() -> None:
    kr = fp.Keyring.generate()
    errors = []
    for call in (lambda: kr.encrypt(None, context="c"),  # type: ignore[arg-type]
                 lambda: kr.decrypt(None, context="c"),  # type: ignore[arg-type]
                 lambda: kr.decrypt(42, context="c")):  # type: ignore[arg-type]
        with pytest.raises(fp.InvalidInputError) as info:
            call()
        errors.append(type(info.value))
    assert len(set(errors)) == 1
    with pytest.raises(fp.DecryptionError):
        kr.decrypt("fp1.nope.AAAA", context="c")  # a malformed token stays a DecryptionError
