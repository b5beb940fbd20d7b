"""Run the Django example's own tests with Django's test runner (``manage.py test``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

HERE = Path(__file__).parent


def _manage(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOOKS_DB": str(tmp / "books.db"), "PYTHONPATH": str(HERE)}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=HERE, env=env,
                          capture_output=True, text=True, check=False, timeout=300)


def test_the_example_passes_its_django_tests(tmp_path: Path) -> None:
    out = _manage("test", "--noinput", "-v", "2", tmp=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Ran 6 tests" in out.stderr and "OK" in out.stderr


def test_the_example_migrations_are_complete(tmp_path: Path) -> None:
    out = _manage("makemigrations", "--check", "--dry-run", tmp=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    migrated = _manage("migrate", "--noinput", tmp=tmp_path)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert (tmp_path / "books.db").exists()
