"""Keep ``__all__`` honest: sorted, complete, importable and documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import pytest

import finprivacy


def _public_modules() -> list[str]:
    names = ["finprivacy"]
    for info in pkgutil.walk_packages(finprivacy.__path__, "finprivacy."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.startswith("finprivacy.cli"):
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("modname", _public_modules())
def test_all_sorted_unique_and_resolvable(modname: str) -> None:
    module = importlib.import_module(modname)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{modname} has no __all__"
    assert list(exported) == sorted(exported), f"{modname}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{modname}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{modname}.__all__ names missing attributes: {missing}"


@pytest.mark.parametrize("modname", _public_modules())
def test_all_complete(modname: str) -> None:
    module = importlib.import_module(modname)
    exported = set(getattr(module, "__all__", ()))
    public = {
        name for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and (getattr(value, "__module__", "") == modname
             or getattr(value, "__module__", "").startswith(modname + "."))
        and name not in {"annotations", "TYPE_CHECKING"}
        and (inspect.isclass(value) or inspect.isfunction(value))
    }
    # Names defined or re-exported on purpose must be listed in __all__.
    unlisted = sorted(public - exported)
    assert not unlisted, f"{modname} exposes names missing from __all__: {unlisted}"


@pytest.mark.parametrize("modname", _public_modules())
def test_every_public_name_documented(modname: str) -> None:
    module = importlib.import_module(modname)
    assert module.__doc__, f"{modname} has no module docstring"
    undocumented = [
        name for name in getattr(module, "__all__", ())
        if (inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name)))
        and not inspect.getdoc(getattr(module, name))
    ]
    assert not undocumented, f"{modname}: undocumented public names {undocumented}"


def test_root_reexports_every_error() -> None:
    from finprivacy import errors

    for name in errors.__all__:
        assert getattr(finprivacy, name) is getattr(errors, name)


def test_import_has_no_side_effects(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    code = (
        "import os, builtins\n"
        "seen = []\n"
        "real_open = builtins.open\n"
        "def spy(file, *a, **k):\n"
        "    seen.append(str(file)); return real_open(file, *a, **k)\n"
        "builtins.open = spy\n"
        "real_getenv = os.environ.__class__.__getitem__\n"
        "import finprivacy\n"
        "bad = [f for f in seen if not f.endswith(('.py', '.pyc', '.pth', '.typed'))]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
