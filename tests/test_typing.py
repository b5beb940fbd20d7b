"""Type-check the public API as users write it (tests/typing/*.py) with mypy --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_src_and_public_api_typecheck_strictly() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:  # pragma: no cover - dev extra always has it
        pytest.skip("mypy not installed")
    files = sorted(str(p) for p in (ROOT / "tests" / "typing").glob("*.py"))
    assert files, "no typing test files"
    files.insert(0, str(ROOT / "src" / "finprivacy"))
    cache = ROOT / ".mypy_cache"
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--warn-unused-ignores",
         "--cache-dir", str(cache), *files],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_catches_misuse(tmp_path: Path) -> None:
    # The check above must be able to fail: misuse of the API is reported.
    bad = tmp_path / "bad.py"
    bad.write_text("import finprivacy as fp\nx: int = fp.Secret('a').reveal()\n")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(ROOT / ".mypy_cache"),
         str(bad)], capture_output=True, text=True, cwd=ROOT, check=False, timeout=600,
    )
    assert out.returncode != 0 and "Incompatible types" in out.stdout
    assert shutil.which(sys.executable)


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed")
    out = subprocess.run([ruff, "check", "--no-cache", "."],
                         capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
