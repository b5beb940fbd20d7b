from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.testing import LeakGuard, PIILeakError, assert_no_pii, assert_not_leaked, find_pii

ID = "11010519491231002X"
CARD = "6222020200112233446"  # Luhn-valid UnionPay test number


def test_assert_no_pii_passes_clean_text() -> None:
    assert_no_pii("invoice INV-2024-0001 paid, amount 1,280.00 on 2024-03-15")
    assert_no_pii({"memo": "rent", "amount": "1280.00"})


def test_assert_no_pii_fails_without_echoing_values() -> None:
    with pytest.raises(PIILeakError) as info:
        assert_no_pii({"note": f"身份证{ID}，卡号{CARD}"})
    message = str(info.value)
    assert "cn_id" in message and "bank_card" in message
    assert ID not in message and CARD not in message
    assert find_pii([f"卡号{CARD}"], kinds={"cn_id"}) == []
    assert [k for k, _, _ in find_pii(f"卡号{CARD}")] == ["bank_card"]


@dataclasses.dataclass
class Row:
    note: str


def test_models_and_dataclasses_are_searched() -> None:
    with pytest.raises(PIILeakError):
        assert_no_pii(Row(note=f"id {ID}"))
    with pytest.raises(PIILeakError):
        assert_no_pii([b"card " + CARD.encode()])


def test_assert_not_leaked() -> None:
    assert_not_leaked([CARD], "card 622202*********3446", {"card": fp.Secret(CARD)})
    with pytest.raises(PIILeakError, match="secret #0 appears in output #1"):
        assert_not_leaked([CARD], "ok", {"card": CARD})


def test_leak_guard_catches_logged_pii() -> None:
    log = logging.getLogger("finprivacy.tests.guard")
    with LeakGuard("finprivacy.tests.guard"):
        log.info("client %s paid", "c-42")
    with pytest.raises(PIILeakError), LeakGuard("finprivacy.tests.guard"):
        log.warning("card %s declined", CARD)
    with pytest.raises(PIILeakError), LeakGuard("finprivacy.tests.guard", secrets=["c-42-x"]):
        log.info("client %s", "c-42-x")


def test_pytest_plugin_fails_a_leaky_test(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["finprivacy.testing.pytest_plugin"]\n')
    (tmp_path / "test_app.py").write_text(
        "import logging\nimport pytest\n"
        "def test_leaky(pii_guard):\n"
        f"    logging.getLogger('app').warning('card {CARD}')\n"
        "def test_clean(pii_guard):\n"
        "    logging.getLogger('app').warning('card ending 3446')\n"
        "@pytest.mark.allow_pii\n"
        "def test_allowed(pii_guard):\n"
        f"    logging.getLogger('app').warning('card {CARD}')\n"
        "def test_keyring(fp_keyring, fp_clock):\n"
        "    assert fp_keyring.decrypt(fp_keyring.encrypt('x', context='c'), context='c') == 'x'\n"
        "    assert fp_clock.now().year == 2024\n"
    )
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--show-capture=no",
                          str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                         check=False, timeout=120)
    assert "4 passed, 1 error" in out.stdout, out.stdout[-3000:]
    assert "ERROR at teardown of test_leaky" in out.stdout
    assert "PIILeakError: personal data found: bank_card" in out.stdout
    assert CARD not in out.stdout  # the report itself must not repeat the leak
