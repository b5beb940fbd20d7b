"""Enforce DESIGN.md's layer table from each module's imports (stdlib ``ast`` only).

A module may import from its own package and from lower layers; L2 domains may also
import ``finprivacy.audit.events`` sideways. Only ``crypto/`` imports ``cryptography``
and ``argon2``; only ``storage/`` imports psycopg; no module imports ``finprivacy``
itself (the package root re-exports, it is not a layer).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "finprivacy"

LAYERS: dict[str, float] = {
    # L0 has an inner order: errors and _types at the very bottom.
    "errors": 0, "_types": 0, "clock": 0.5, "secret": 0.5, "_stores": 0.5,
    "crypto": 1, "identifiers": 1,
    "masking": 2, "audit": 2, "consent": 2, "retention": 2, "inventory": 2,
    "access": 3, "rights": 3, "incidents": 3,
    "storage": 4,
    "pydantic": 5, "_pydantic_hashed": 5, "fastapi": 5, "faker": 4.5, "otel": 5, "sqlalchemy": 5,
    "django": 5, "presidio": 5, "tls": 1.5, "backup": 5, "discovery": 5, "bulk": 5, "spark": 5.5,
    "logging": 5, "testing": 5,
    "cli": 6, "__main__": 6.5,
}
SIDEWAYS = {("masking", "audit.events"), ("consent", "audit.events"),
            ("retention", "audit.events"), ("inventory", "audit.events")}
THIRD_PARTY_OWNERS = {"cryptography": {"crypto"}, "argon2": {"crypto"}, "fastpybase64": {"crypto"},
                      "psycopg": {"storage"}, "sqlalchemy": {"sqlalchemy"},
                      "starlette": {"fastapi"}, "django": {"django"},
                      "presidio_analyzer": {"presidio"}}
THIRD_PARTY_OWNERS["sqlalchemy"] = {"sqlalchemy", "discovery", "bulk", "_stores"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def _unit(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0]


def _dotted(path: Path) -> list[str]:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return parts


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = _dotted(path)
    package = own if path.name == "__init__.py" else own[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(["finprivacy", *base, *(node.module.split(".") if node.module
                                                          else [])])
                if node.module is None:
                    found.extend((f"{target}.{a.name}", node.lineno) for a in node.names)
                    continue
                found.append((target, node.lineno))
            elif node.module:
                found.append((node.module, node.lineno))
    return found


def _violations(unit: str, imports: list[tuple[str, int]]) -> list[str]:
    mine = LAYERS[unit]
    problems = []
    for name, line in imports:
        top = name.split(".")[0]
        if top in THIRD_PARTY_OWNERS and unit not in THIRD_PARTY_OWNERS[top]:
            problems.append(f"line {line}: {top} may only be imported by "
                            f"{sorted(THIRD_PARTY_OWNERS[top])}")
        if top != "finprivacy":
            continue
        parts = name.split(".")[1:]
        if not parts:
            problems.append(f"line {line}: imports the finprivacy package root")
            continue
        target = parts[0]
        if target == unit:
            continue
        if target not in LAYERS:
            problems.append(f"line {line}: imports unknown unit {target}")
            continue
        if (unit, ".".join(parts[:2])) in SIDEWAYS:
            continue
        if LAYERS[target] >= mine:
            problems.append(f"line {line}: L{int(mine)} {unit} imports "
                            f"L{int(LAYERS[target])} {name}")
    return problems


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_layers(path: Path) -> None:
    unit = _unit(path)
    assert unit in LAYERS, f"{unit} is not in DESIGN.md's layer table; add it here and there"
    problems = _violations(unit, _imports(path))
    assert not problems, "\n".join(problems)


def test_layer_table_covers_every_unit() -> None:
    units = {_unit(p) for p in _modules()}
    assert units <= set(LAYERS), sorted(units - set(LAYERS))


@pytest.mark.parametrize(
    ("unit", "imports", "expected"),
    [
        ("errors", [("finprivacy.storage", 1)], "L0 errors imports L4"),
        ("consent", [("finprivacy.access.policy", 3)], "L2 consent imports L3"),
        ("consent", [("finprivacy.audit.log", 2)], "L2 consent imports L2"),
        ("masking", [("cryptography.hazmat", 1)], "cryptography may only"),
        ("cli", [("finprivacy", 1)], "package root"),
    ],
)
def test_checker_catches_violations(unit: str, imports: list[tuple[str, int]],
                                    expected: str) -> None:
    assert any(expected in p for p in _violations(unit, imports))


def test_checker_allows_the_design() -> None:
    assert _violations("consent", [("finprivacy.audit.events", 1), ("finprivacy.crypto", 2),
                                   ("finprivacy.errors", 3)]) == []
    assert _violations("cli", [("finprivacy.storage", 1), ("finprivacy.access", 2)]) == []


def test_relative_imports_resolve() -> None:
    assert any(n == "finprivacy.errors" for n, _ in _imports(SRC / "clock.py"))
    assert any(n == "finprivacy.errors" for n, _ in _imports(SRC / "storage" / "_db.py"))


# -------------------------------------------- private names and import circles (issue 21)

_ALL_MODULES = {".".join(["finprivacy", *_dotted(p)]): p for p in sorted(SRC.rglob("*.py"))}


def _from_imports(path: Path) -> list[tuple[str, str, int]]:
    """``(module, name, line)`` for every ``from … import name`` in ``path`` (relative
    imports resolved; imports inside functions and ``TYPE_CHECKING`` blocks included)."""
    own = _dotted(path)
    package = own if path.name == "__init__.py" else own[:-1]
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            module = ".".join(["finprivacy", *base, *(node.module.split(".") if node.module
                                                     else [])])
        elif node.module and node.module.split(".")[0] == "finprivacy":
            module = node.module
        else:
            continue
        found.extend((module, alias.name, node.lineno) for alias in node.names)
    return found


def _private_crossings(me: str, imports: list[tuple[str, str, int]]) -> list[str]:
    """Underscore names a module takes from another package of finprivacy."""
    mine = me.split(".")[1] if "." in me else ""
    return [f"line {line}: {me} imports {name} from {module}"
            for module, name, line in imports
            if name.startswith("_") and not name.startswith("__")
            and module.split(".")[1:2] != [mine]]


def test_no_module_takes_a_private_name_from_another_package() -> None:
    problems = [p for me, path in _ALL_MODULES.items()
                for p in _private_crossings(me, _from_imports(path))]
    assert not problems, "\n".join(problems)


def test_the_private_name_check_can_fail() -> None:
    bad = [("finprivacy.masking._mask", "_bind", 3), ("finprivacy.access._shape", "Shaper", 4),
           ("finprivacy.access._control", "_glass", 5)]
    assert _private_crossings("finprivacy.access._control", bad) == [
        "line 3: finprivacy.access._control imports _bind from finprivacy.masking._mask"]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for me, path in _ALL_MODULES.items():
        targets = graph.setdefault(me, set())
        for module, name, _ in _from_imports(path):
            target = f"{module}.{name}" if f"{module}.{name}" in _ALL_MODULES else module
            if target in _ALL_MODULES and target != me:
                targets.add(target)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_among_modules() -> None:
    # A package's __init__ re-exports its modules, which import siblings by module
    # path: edges into an __init__ from its own package are the package, not a circle.
    graph = {me: {t for t in targets
                  if not (_ALL_MODULES[t].name == "__init__.py" and me.startswith(t + "."))}
             for me, targets in _graph().items()}
    circles = _circles(graph)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_circle_check_can_fail() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []
