"""Project-level promises: the README's commands, CI, examples and the demo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quick)


def test_readme_quick_start_is_two_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert "finprivacy demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    test_command = _readme_commands()[1]
    normalised = test_command.replace("pip install -e", "pip install -q -e")
    assert normalised in lines or test_command in lines


def test_repo_names_no_outside_paths() -> None:
    offenders = []
    for path in ROOT.rglob("*"):
        if not path.is_file() or any(p in path.parts for p in (".git", "_build", ".mypy_cache",
                                                                ".ruff_cache", ".hypothesis",
                                                                ".pytest_cache", "__pycache__")):
            continue
        if path.suffix not in {".py", ".md", ".toml", ".json", ".txt", ".cfg", ""}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "/wo" "rk/" in text or "../sh" "ared" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_demo_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "finprivacy", "demo"], capture_output=True,
                         text=True, check=False, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Chapter" in out.stdout


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(example: Path, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                         check=False, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.strip(), "an example should show what it did"
