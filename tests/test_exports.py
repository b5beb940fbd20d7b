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


def test_lazy_root_names_match_the_type_checking_imports() -> None:
    """``finprivacy`` loads most names on first use; the table it loads them from must
    say exactly what the ``if TYPE_CHECKING:`` imports (what type checkers see) say."""
    import ast

    tree = ast.parse(inspect.getsource(finprivacy))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    seen: dict[str, tuple[str, str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            name = alias.asname or alias.name
            if node.module is None:  # from . import consent as consent
                seen[name] = ("." + alias.name, "")
            else:
                seen[name] = ("." + node.module, alias.name)
    assert seen == finprivacy._LAZY
    assert set(seen) <= set(finprivacy.__all__)
    for name, (module, attribute) in seen.items():
        source = importlib.import_module(module, "finprivacy")
        assert getattr(finprivacy, name) is (getattr(source, attribute) if attribute else source)


def test_import_loads_only_the_core_until_a_name_is_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import finprivacy as fp\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('finprivacy', 'pydantic')))\n"
        "assert loaded == ['finprivacy', 'finprivacy.clock',\n"
        "                  'finprivacy.errors', 'finprivacy.secret'], loaded\n"
        "fp.Keyring\n"
        "assert 'finprivacy.crypto' in sys.modules and 'pydantic' not in sys.modules\n"
        "assert 'finprivacy.audit' not in sys.modules\n"
        "try:\n"
        "    fp.no_such_name\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_name' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
        "assert set(fp.__all__) <= set(dir(fp))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
