"""``finprivacy files`` (issue 19): encrypt, decrypt, rewrap, info; errors are exit 3."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.cli import main


@pytest.fixture
def keyfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KR_PASS", "correct horse battery staple 2026")
    path = tmp_path / "kr.json"
    assert main(["keys", "generate", str(path), "--passphrase-env", "KR_PASS"]) == 0
    return path


def _kr(path: Path) -> list[str]:
    return ["--keyring", str(path), "--passphrase-env", "KR_PASS"]


def test_encrypt_decrypt_rewrap_info(tmp_path: Path, keyfile: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "voucher.pdf"
    src.write_bytes(os.urandom(300_000))
    enc, out = tmp_path / "voucher.fpef", tmp_path / "back.pdf"
    assert main(["files", "encrypt", str(src), str(enc), "--context", "vouchers",
                 *_kr(keyfile)]) == 0
    assert main(["files", "encrypt", str(src), str(enc), "--context", "vouchers",
                 *_kr(keyfile)]) == 3  # never overwrites
    assert main(["files", "decrypt", str(enc), str(out), "--context", "statements",
                 *_kr(keyfile)]) == 3 and not out.exists()
    assert main(["files", "decrypt", str(enc), str(out), "--context", "vouchers",
                 *_kr(keyfile)]) == 0
    assert out.read_bytes() == src.read_bytes()
    capsys.readouterr()
    assert main(["files", "info", str(enc), "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]["key_id"]
    assert main(["keys", "rotate", str(keyfile), "--passphrase-env", "KR_PASS"]) == 0
    body = enc.read_bytes()[-1000:]
    assert main(["files", "rewrap", str(enc), "--context", "vouchers", *_kr(keyfile),
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["rewrapped"] == [str(enc)]
    assert fp.crypto.file_key_id(enc) != first and enc.read_bytes()[-1000:] == body
    assert main(["files", "info", str(tmp_path / "missing")]) == 3
