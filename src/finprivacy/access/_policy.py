"""The access policy as data: purposes, roles, permissions and staff obligations.

A :class:`Policy` is plain, frozen data, validated when it is built. It is loaded
from Python objects, from a TOML or JSON file (:func:`load_policy`) or from a
Casbin-style CSV (:func:`import_casbin_csv`); rule strings are never evaluated.
:class:`~finprivacy.access.AccessControl` compiles it into dict/set indexes.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast, get_args

from .._types import PathLike
from ..errors import ConfigurationError, FinPrivacyError, FormatError
from ..inventory import read_document

__all__ = [
    "AttestationRequirement",
    "LegalBasis",
    "Permission",
    "Policy",
    "Purpose",
    "Role",
    "Scope",
    "load_policy",
]

Scope: TypeAlias = Literal["view", "export", "rectify", "erase", "consent"]
"""What a purpose (or a delegation grant) lets one do with a subject's data."""

LegalBasis: TypeAlias = Literal[
    "consent", "contract", "legal_obligation", "emergency", "news_reporting", "published",
    "law",
]
"""The lawful basis of a purpose, after PIPL Art. 13 (1)–(7).

Only ``consent`` makes access check the subject's consent; the others (a contract
with the client, a statutory duty such as anti-money-laundering checks, an
emergency …) do not need it (PIPL Art. 13 para. 2).
"""

_SCOPES: Final[frozenset[str]] = frozenset(get_args(Scope))
_BASES: Final[frozenset[str]] = frozenset(get_args(LegalBasis))
_LEVELS: Final[frozenset[str]] = frozenset({"C1", "C2", "C3"})


def _names(value: object, what: str) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{what} must be a collection of names, not a single string")
    items = list(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigurationError(f"{what} must hold non-empty strings")
    return frozenset(items)


def _positive_duration(value: object) -> bool:
    return isinstance(value, _dt.timedelta) and value > _dt.timedelta(0)


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise ConfigurationError(f"{what} must be a non-empty name without surrounding spaces")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Purpose:
    """Why data is processed (PIPL Art. 6: a specific, reasonable purpose).

    ``needs`` names the fields, dotted paths or data categories the purpose needs;
    together with the inventory fields that list this purpose, it is what
    :func:`~finprivacy.access.minimize` keeps. ``scope`` is what the purpose does
    with the data (matched against delegation grants); ``legal_basis`` says whether
    the subject's consent is checked; ``consent_purpose`` names the purpose in the
    consent ledger when it differs.
    """

    name: str
    """The purpose name used by ``@requires(purpose=...)``."""
    description: str = ""
    """Human description, shown in notices and reports."""
    legal_basis: LegalBasis = "consent"
    """PIPL Art. 13 basis; ``consent`` (the default) makes access check consent."""
    scope: Scope = "view"
    """What the purpose does with the data (delegation grants must cover it)."""
    needs: AbstractSet[str] = frozenset()
    """Fields, paths or categories the purpose needs (minimisation)."""
    consent_purpose: str = ""
    """The consent ledger's purpose name, if different from ``name``."""

    def __post_init__(self) -> None:
        _name(self.name, "purpose name")
        if self.legal_basis not in _BASES:
            raise ConfigurationError(
                f"purpose {self.name!r}: legal_basis must be one of {sorted(_BASES)}")
        if self.scope not in _SCOPES:
            raise ConfigurationError(f"purpose {self.name!r}: scope must be one of "
                                     f"{sorted(_SCOPES)}")
        object.__setattr__(self, "needs", _names(self.needs, f"purpose {self.name!r} needs"))

    @property
    def needs_consent(self) -> bool:
        """True when the lawful basis is the subject's consent."""
        return self.legal_basis == "consent"

    @property
    def ledger_purpose(self) -> str:
        """The purpose name to ask the consent ledger about."""
        return self.consent_purpose or self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Role:
    """A staff role. ``inherits`` pulls in other roles' permissions.

    ``break_glass`` allows the role to open emergency access
    (:meth:`~finprivacy.access.AccessControl.break_glass`).
    """

    name: str
    """The role name carried by principals."""
    inherits: AbstractSet[str] = frozenset()
    """Roles whose permissions this role also has."""
    break_glass: bool = False
    """May open emergency (break-glass) access."""
    description: str = ""
    """Human description."""

    def __post_init__(self) -> None:
        _name(self.name, "role name")
        object.__setattr__(self, "inherits", _names(self.inherits, f"role {self.name!r} inherits"))
        if not isinstance(self.break_glass, bool):
            raise ConfigurationError(f"role {self.name!r}: break_glass must be true or false")


@dataclasses.dataclass(frozen=True, slots=True)
class Permission:
    """A role may use a purpose, in a tenant, seeing fields raw, masked or not at all.

    ``raw``, ``masked`` and ``hidden`` hold *selectors*: a field name or dotted path,
    a data category, a sensitivity level (``C1``/``C2``) or ``*`` for everything.
    For each field the most specific selector decides (field > category > level >
    ``*``); among equally specific ones the most restrictive wins. Without a
    selector, C1 is shown raw and C2 masked (JR/T 0171-2020: C2 shown only
    de-identified unless the purpose needs it). C3 is never shown, whatever the
    selectors say.
    """

    role: str
    """The role granted."""
    purpose: str
    """The purpose the role may use."""
    tenant: str = "*"
    """The tenant (Casbin's *domain*) where it holds; ``*`` for every tenant."""
    raw: AbstractSet[str] = frozenset()
    """Selectors shown in the clear."""
    masked: AbstractSet[str] = frozenset()
    """Selectors shown masked."""
    hidden: AbstractSet[str] = frozenset()
    """Selectors not shown at all."""

    def __post_init__(self) -> None:
        _name(self.role, "permission role")
        _name(self.purpose, "permission purpose")
        _name(self.tenant, f"permission {self.role!r}/{self.purpose!r} tenant")
        where = f"permission {self.role!r}/{self.purpose!r}"
        for attr in ("raw", "masked", "hidden"):
            object.__setattr__(self, attr, _names(getattr(self, attr), f"{where} {attr}"))
        if "C3" in self.raw or "C3" in self.masked:
            raise ConfigurationError(
                f"{where}: C3 (authentication data) can never be shown, raw or masked "
                "(JR/T 0171-2020 C3)")


@dataclasses.dataclass(frozen=True, slots=True)
class AttestationRequirement:
    """A staff obligation that must be current before C2/C3 data is shown.

    For example privacy training within the last 12 months, or a signed
    confidentiality agreement (PIPL Art. 51(5): regular security education and
    training of staff). ``within_days``/``within_months`` bound the attestation's
    age (neither: any attestation counts); ``roles`` limits the requirement to some
    roles (empty: every staff role); ``levels`` says which sensitivity levels it
    guards.
    """

    kind: str
    """The attestation kind required (``"privacy_training"``)."""
    within_days: int | None = None
    """Maximum age in days."""
    within_months: int | None = None
    """Maximum age in calendar months."""
    roles: AbstractSet[str] = frozenset()
    """Roles it applies to; empty means all."""
    levels: AbstractSet[str] = frozenset({"C2", "C3"})
    """Sensitivity levels it guards."""

    def __post_init__(self) -> None:
        _name(self.kind, "attestation kind")
        for attr in ("within_days", "within_months"):
            v = getattr(self, attr)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                raise ConfigurationError(
                    f"attestation {self.kind!r}: {attr} must be a positive integer")
        if self.within_days is not None and self.within_months is not None:
            raise ConfigurationError(
                f"attestation {self.kind!r}: give within_days or within_months, not both")
        object.__setattr__(self, "roles", _names(self.roles, f"attestation {self.kind!r} roles"))
        levels = _names(self.levels, f"attestation {self.kind!r} levels")
        if not levels or not levels <= _LEVELS:
            raise ConfigurationError(
                f"attestation {self.kind!r}: levels must be a non-empty subset of C1, C2, C3")
        object.__setattr__(self, "levels", levels)

    def valid_until(self, at: _dt.datetime) -> _dt.datetime | None:
        """When an attestation made at ``at`` stops counting (``None``: never)."""
        if self.within_days is not None:
            return at + _dt.timedelta(days=self.within_days)
        if self.within_months is not None:
            return _add_months(at, self.within_months)
        return None


def _add_months(at: _dt.datetime, months: int) -> _dt.datetime:
    """``at`` plus calendar months, clamping the day (31 Jan + 1 month = 28/29 Feb)."""
    total = at.month - 1 + months
    year, month = at.year + total // 12, total % 12 + 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=min(at.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """The whole access policy: purposes, roles, permissions and obligations.

    Validated when built (unknown roles or purposes, duplicates, cycles in role
    inheritance, C3 shown) with :class:`ConfigurationError`; loaders turn the same
    problems in a file into :class:`FormatError` naming the entry.
    ``self_access`` lets a data subject read their own data (PIPL Art. 45);
    ``break_glass_max_ttl`` caps emergency access.
    """

    version: str
    """Recorded with every decision in the audit log."""
    purposes: tuple[Purpose, ...] = ()
    """The purposes."""
    roles: tuple[Role, ...] = ()
    """The roles."""
    permissions: tuple[Permission, ...] = ()
    """Who may use which purpose, seeing what."""
    attestations: tuple[AttestationRequirement, ...] = ()
    """Staff obligations enforced at the point of access."""
    self_access: bool = True
    """Subjects may read their own data (and delegates within their grant)."""
    self_role: str = "self"
    """A role name whose permissions, if any, shape what subjects see of themselves."""
    break_glass_max_ttl: _dt.timedelta = _dt.timedelta(hours=4)
    """Longest emergency access allowed."""
    source: str = dataclasses.field(default="", compare=False)
    """The file it was loaded from (``load_policy``), named in configuration errors."""

    def __post_init__(self) -> None:
        _name(self.version, "policy version")
        for attr, kind in (("purposes", Purpose), ("roles", Role), ("permissions", Permission),
                           ("attestations", AttestationRequirement)):
            items = getattr(self, attr)
            if isinstance(items, str | bytes) or not isinstance(items, Iterable):
                raise ConfigurationError(f"policy {attr} must be a sequence")
            items = tuple(items)
            if not all(isinstance(i, kind) for i in items):
                raise ConfigurationError(f"policy {attr} must hold {kind.__name__} objects")
            object.__setattr__(self, attr, items)
        if not _positive_duration(self.break_glass_max_ttl):
            raise ConfigurationError("policy break_glass_max_ttl must be a positive duration")
        _name(self.self_role, "policy self_role")
        purposes = _unique((p.name for p in self.purposes), "purpose")
        roles = _unique((r.name for r in self.roles), "role")
        roles.add(self.self_role)
        for r in self.roles:
            missing = r.inherits - roles
            if missing:
                raise ConfigurationError(f"role {r.name!r} inherits undefined roles "
                                         f"{sorted(missing)}")
        seen: set[tuple[str, str, str]] = set()
        for p in self.permissions:
            if p.role not in roles:
                raise ConfigurationError(f"permission names undefined role {p.role!r}")
            if p.purpose not in purposes:
                raise ConfigurationError(f"permission names undefined purpose {p.purpose!r}")
            key = (p.role, p.purpose, p.tenant)
            if key in seen:
                raise ConfigurationError(
                    f"permission {p.role!r}/{p.purpose!r} in tenant {p.tenant!r} is declared twice")
            seen.add(key)
        for a in self.attestations:
            missing = a.roles - roles
            if missing:
                raise ConfigurationError(f"attestation {a.kind!r} names undefined roles "
                                         f"{sorted(missing)}")
        self.role_closure()  # raises on cycles

    def role_closure(self) -> dict[str, frozenset[str]]:
        """Each role with every role it inherits, directly or not; raises on cycles."""
        direct = {r.name: r.inherits for r in self.roles}
        out: dict[str, frozenset[str]] = {}

        def visit(name: str, stack: tuple[str, ...]) -> frozenset[str]:
            if name in stack:
                raise ConfigurationError(
                    f"role inheritance has a cycle through {name!r}")
            if name in out:
                return out[name]
            acc = {name}
            for parent in direct.get(name, frozenset()):
                acc |= visit(parent, (*stack, name))
            out[name] = frozenset(acc)
            return out[name]

        for name in direct:
            visit(name, ())
        return out

    # -- loading ----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from a parsed TOML/JSON document (see the how-to for the shape).

        Every problem raises :class:`FormatError` naming the entry and key; no value
        in the document is evaluated as code.
        """
        try:
            return _from_dict(data)
        except FormatError:
            raise
        except FinPrivacyError as exc:
            raise FormatError(_prefixed(str(exc))) from None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON/TOML-ready mapping that :meth:`from_dict` reads back."""
        return {
            "version": self.version,
            "self_access": self.self_access,
            "self_role": self.self_role,
            "break_glass_max_ttl_minutes": int(self.break_glass_max_ttl.total_seconds() // 60),
            "purposes": {p.name: _drop_empty({
                "description": p.description, "legal_basis": p.legal_basis, "scope": p.scope,
                "needs": sorted(p.needs), "consent_purpose": p.consent_purpose})
                for p in self.purposes},
            "roles": {r.name: _drop_empty({
                "inherits": sorted(r.inherits), "break_glass": r.break_glass,
                "description": r.description}) for r in self.roles},
            "permissions": [_drop_empty({
                "role": p.role, "purpose": p.purpose, "tenant": p.tenant, "raw": sorted(p.raw),
                "masked": sorted(p.masked), "hidden": sorted(p.hidden)})
                for p in self.permissions],
            "attestations": [_drop_empty({
                "kind": a.kind, "within_days": a.within_days, "within_months": a.within_months,
                "roles": sorted(a.roles), "levels": sorted(a.levels)})
                for a in self.attestations],
        }


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in ("", None, [], False)}


def _unique(names: Iterable[str], what: str) -> set[str]:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ConfigurationError(f"{what} {n!r} is declared twice")
        seen.add(n)
    return seen


_TOP: Final = frozenset({"version", "purposes", "roles", "permissions", "attestations",
                         "self_access", "self_role", "break_glass_max_ttl_minutes"})
_PURPOSE_KEYS: Final = {"description": str, "legal_basis": str, "scope": str, "needs": list,
                        "consent_purpose": str}
_ROLE_KEYS: Final = {"inherits": list, "break_glass": bool, "description": str}
_PERM_KEYS: Final = {"role": str, "purpose": str, "tenant": str, "raw": list, "masked": list,
                     "hidden": list}
_ATT_KEYS: Final = {"kind": str, "within_days": int, "within_months": int, "roles": list,
                    "levels": list}


def _check(entry: object, keys: Mapping[str, type], where: str,
           required: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise FormatError(f"policy: {where} must be a table/object")
    extra = set(entry) - set(keys)
    if extra:
        raise FormatError(f"policy: {where} has unknown keys {sorted(map(str, extra))}")
    for key in required:
        if key not in entry:
            raise FormatError(f"policy: {where} is missing {key!r}")
    for key, value in entry.items():
        want = keys[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if ok and want is list:
            ok = all(isinstance(v, str) for v in value)
        if not ok:
            label = "a list of strings" if want is list else f"a {want.__name__}"
            raise FormatError(f"policy: {where} key {key!r} must be {label}")
    return dict(entry)


def _from_dict(data: Mapping[str, Any]) -> Policy:
    if not isinstance(data, Mapping):
        raise FormatError("policy: the document must be a table/object")
    extra = set(data) - _TOP
    if extra:
        raise FormatError(f"policy: unknown top-level keys {sorted(map(str, extra))}")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise FormatError("policy: 'version' is required and must be a non-empty string")
    for key, want in (("purposes", Mapping), ("roles", Mapping), ("permissions", list),
                      ("attestations", list)):
        if key in data and not isinstance(data[key], want):
            shape = "a table of named entries" if want is Mapping else "a list of tables"
            raise FormatError(f"policy: {key!r} must be {shape}")
    for key in ("self_access",):
        if key in data and not isinstance(data[key], bool):
            raise FormatError(f"policy: {key!r} must be true or false")
    ttl = data.get("break_glass_max_ttl_minutes", 240)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise FormatError("policy: 'break_glass_max_ttl_minutes' must be a positive integer")
    self_role = data.get("self_role", "self")
    if not isinstance(self_role, str):
        raise FormatError("policy: 'self_role' must be a string")

    purposes = []
    for name, entry in cast(Mapping[str, Any], data.get("purposes", {})).items():
        e = _check(entry, _PURPOSE_KEYS, f"purpose {name!r}")
        if "legal_basis" in e and e["legal_basis"] not in _BASES:
            raise FormatError(f"policy: purpose {name!r} legal_basis must be one of "
                              f"{sorted(_BASES)}")
        if "scope" in e and e["scope"] not in _SCOPES:
            raise FormatError(f"policy: purpose {name!r} scope must be one of {sorted(_SCOPES)}")
        purposes.append(_build(Purpose, f"purpose {name!r}", name=name, **{
            k: frozenset(v) if k == "needs" else v for k, v in e.items()}))
    roles = []
    for name, entry in cast(Mapping[str, Any], data.get("roles", {})).items():
        e = _check(entry, _ROLE_KEYS, f"role {name!r}")
        roles.append(_build(Role, f"role {name!r}", name=name, **{
            k: frozenset(v) if k == "inherits" else v for k, v in e.items()}))
    permissions = []
    for i, entry in enumerate(cast(list[Any], data.get("permissions", []))):
        e = _check(entry, _PERM_KEYS, f"permissions[{i}]", required=("role", "purpose"))
        permissions.append(_build(Permission, f"permissions[{i}]", **{
            k: frozenset(v) if isinstance(v, list) else v for k, v in e.items()}))
    attestations = []
    for i, entry in enumerate(cast(list[Any], data.get("attestations", []))):
        e = _check(entry, _ATT_KEYS, f"attestations[{i}]", required=("kind",))
        attestations.append(_build(AttestationRequirement, f"attestations[{i}]", **{
            k: frozenset(v) if isinstance(v, list) else v for k, v in e.items()}))
    policy: Policy = _build(Policy, "policy", version=version, purposes=tuple(purposes),
                  roles=tuple(roles), permissions=tuple(permissions),
                  attestations=tuple(attestations), self_access=data.get("self_access", True),
                  self_role=self_role, break_glass_max_ttl=_dt.timedelta(minutes=ttl))
    return policy


def _build(cls: Any, where: str, **kwargs: Any) -> Any:
    try:
        return cls(**kwargs)
    except ConfigurationError as exc:
        raise FormatError(_prefixed(f"{where}: {_unprefixed(str(exc))}")) from None


def _unprefixed(message: str) -> str:
    return message[len("policy: "):] if message.startswith("policy: ") else message


def _prefixed(message: str) -> str:
    """Say "policy:" once at the start of a message, never twice."""
    return "policy: " + _unprefixed(message)


def load_policy(path: PathLike) -> Policy:
    """Load a :class:`Policy` from a ``.toml`` or ``.json`` file, validating it.

    A file that does not parse, has unknown keys, wrong types, undefined roles or
    purposes, duplicates, inheritance cycles or shows C3 data raises
    :class:`FormatError` naming the problem; an unreadable file or an unknown
    extension raises :class:`ConfigurationError`.
    """
    policy: Policy = Policy.from_dict(read_document(path, "policy"))
    return dataclasses.replace(policy, source=Path(path).name)
