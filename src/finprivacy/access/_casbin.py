"""Import a Casbin-style "RBAC with domains" CSV policy.

Rows look like Casbin's ``policy.csv`` for the model
``r = sub, dom, obj, act`` / ``p = sub, dom, obj, act`` / ``g = _, _, _``::

    p, accountant, lotus, card_no, account_verification
    p, accountant, lotus, *, bookkeeping
    g, alice, accountant, lotus
    g, senior, accountant          # role inheritance (two-field g row)

A ``p`` row lets a role use the purpose ``act`` in the tenant ``dom``; ``obj`` is a
selector (field, category or level) that the role sees *raw* for that purpose, or
``*`` for the default treatment (C1 raw, C2 masked, C3 hidden). ``g`` rows with
three fields assign a user a role in a tenant; with two fields they make one role
inherit another. Columns are split on commas and stripped; nothing is evaluated.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping
from pathlib import Path

from .._types import PathLike
from ..errors import ConfigurationError, FormatError
from ._policy import Permission, Policy, Purpose, Role
from ._principal import Principal

__all__ = ["CasbinImport", "import_casbin_csv"]


@dataclasses.dataclass(frozen=True, slots=True)
class CasbinImport:
    """What a Casbin-style CSV holds: the policy and the users' role assignments."""

    policy: Policy
    """The permissions as a :class:`Policy` (purposes default to ``legal_basis="consent"``)."""
    assignments: Mapping[tuple[str, str], frozenset[str]]
    """``(user, tenant)`` → role names, from three-field ``g`` rows."""

    def principal(self, user: str, tenant: str) -> Principal:
        """Return a :class:`Principal` for ``user`` in ``tenant`` with the roles the CSV gives."""
        return Principal(user, roles=self.assignments.get((user, tenant), frozenset()),
                         tenant=tenant)


def import_casbin_csv(path: PathLike | None = None, *, text: str | None = None,
                      version: str = "casbin",
                      purposes: Mapping[str, Purpose] | None = None) -> CasbinImport:
    """Read a Casbin RBAC-with-domains CSV from ``path``, or from ``text``.

    ``purposes`` may supply full :class:`Purpose` definitions by name; any other
    purpose named in a ``p`` row is created with defaults. Malformed rows raise
    :class:`FormatError` naming the line number.
    """
    if (path is None) == (text is None):
        raise ConfigurationError("import_casbin_csv needs either a path or text=")
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"casbin policy file cannot be read ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise FormatError("casbin policy file is not UTF-8") from None
    if text is None:  # pragma: no cover - excluded by the check above
        raise ConfigurationError("import_casbin_csv needs either a path or text=")
    defined = dict(purposes or {})
    perms: dict[tuple[str, str, str], set[str]] = {}
    inherits: dict[str, set[str]] = {}
    roles: set[str] = set()
    assignments: dict[tuple[str, str], set[str]] = {}
    for lineno, row in enumerate(csv.reader(io.StringIO(text), skipinitialspace=True), 1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if any(not c for c in cells):
            raise FormatError(f"casbin policy line {lineno}: empty column")
        kind = cells[0]
        if kind == "p":
            if len(cells) != 5:
                raise FormatError(f"casbin policy line {lineno}: a p row needs "
                                  "role, domain, object, action")
            _, role, dom, obj, act = cells
            roles.add(role)
            sel = perms.setdefault((role, act, dom), set())
            if obj != "*":
                if obj == "C3":
                    raise FormatError(f"casbin policy line {lineno}: C3 can never be shown")
                sel.add(obj)
        elif kind == "g":
            if len(cells) == 4:
                _, user, role, dom = cells
                roles.add(role)
                assignments.setdefault((user, dom), set()).add(role)
            elif len(cells) == 3:
                _, child, parent = cells
                roles.update((child, parent))
                inherits.setdefault(child, set()).add(parent)
            else:
                raise FormatError(f"casbin policy line {lineno}: a g row needs user, role, "
                                  "domain (or role, parent)")
        else:
            raise FormatError(f"casbin policy line {lineno}: unknown row type {kind[:10]!r}")
    for _, act, _ in perms:
        defined.setdefault(act, Purpose(act))
    try:
        policy = Policy(
            version=version,
            purposes=tuple(defined.values()),
            roles=tuple(Role(r, inherits=frozenset(inherits.get(r, ()))) for r in sorted(roles)),
            permissions=tuple(Permission(role, act, tenant=dom, raw=frozenset(sel))
                              for (role, act, dom), sel in perms.items()),
        )
    except ConfigurationError as exc:
        raise FormatError(f"casbin policy: {exc}") from None
    return CasbinImport(policy, {k: frozenset(v) for k, v in assignments.items()})
