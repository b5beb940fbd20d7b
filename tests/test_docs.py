"""Build the documentation with Sphinx in strict mode (-W): broken docs fail the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    assert (tmp_path / "html" / "index.html").exists()
