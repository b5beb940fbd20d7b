"""Field plans: a policy compiled, per (roles, tenant, purpose), into how each field is shown.

A plan answers, for each field path, whether it is shown raw, masked or not at all
(with the masking function bound once); a verdict is the plan that applies to one
decision. :class:`~finprivacy.access.AccessControl` builds and caches them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final, Literal, TypeAlias

from ..errors import FinPrivacyError
from ..inventory import DataField, DataInventory
from ..masking import bind_mask
from ._breakglass import _GlassState
from ._policy import AttestationRequirement, Permission
from ._shape import FULL_MASK, HIDE, MASK, RAW, FlatPlan, Rule

__all__ = ["AccessDecision", "FieldTreatment"]

FieldTreatment: TypeAlias = Literal["raw", "masked", "hidden"]
"""How one field is shown to the principal."""

_TREATMENT: Final[tuple[FieldTreatment, ...]] = ("raw", "masked", "hidden")
_FULL_MASK: Final = FULL_MASK  # the shaping module's full mask
_RULE_CACHE_MAX: Final = 4096


def _full_mask(value: str, kind: str | None) -> str:
    return _FULL_MASK


def _default_mask_fn(kind: str | None) -> Callable[[str], str] | str:
    """Return the default preset of ``kind`` bound once, or the full mask's constant."""
    if kind is None:
        return _FULL_MASK
    try:
        return bind_mask(kind)
    except (FinPrivacyError, ValueError, TypeError, KeyError):
        return _FULL_MASK


# -- field plans -------------------------------------------------------------------------

def _action(perm: Permission, keys: tuple[tuple[str, ...], ...], level: str) -> int:
    for group in keys:
        if any(k in perm.hidden for k in group):
            return HIDE
        if any(k in perm.masked for k in group):
            return MASK
        if any(k in perm.raw for k in group):
            return RAW
    return RAW if level == "C1" else MASK


class _Plan:
    """Per field path: raw, masked or hidden. Built once per (roles, tenant, purpose)."""

    __slots__ = ("_cache", "_filter", "_flat", "_inventory", "_last_flat", "_perms",
                 "requirements", "shown_levels", "verdict")

    def __init__(self, perms: tuple[Permission, ...], inventory: DataInventory,
                 requirements: tuple[AttestationRequirement, ...] = (),
                 only: frozenset[str] | None = None) -> None:
        self._perms = perms
        self._inventory = inventory
        self._filter = only
        self._cache: dict[str, Rule] = {}
        self._flat: dict[tuple[Any, ...], FlatPlan] = {}
        self._last_flat: FlatPlan | None = None
        fields = [*inventory, inventory.default]
        shown = {f.sensitivity for f in fields
                 if self._compute(f.name if f is not inventory.default else "", f)[0] != HIDE}
        self.shown_levels = frozenset(shown)
        self.requirements = tuple(r for r in requirements if r.levels & self.shown_levels)
        self.verdict = _Verdict(self, "role")

    def rule(self, path: str) -> Rule:
        r = self._cache.get(path)
        if r is None:
            r = self._compute(path, None)
            if len(self._cache) < _RULE_CACHE_MAX:
                self._cache[path] = r
        return r

    def _compute(self, path: str, field: DataField | None) -> Rule:
        inv = self._inventory
        leaf = path.rpartition(".")[2]
        if field is None:
            found = (inv.get(path) or inv.get(leaf)) if path else None
            explicit = found is not None
            field = found if found is not None else inv.default
        else:
            explicit = field is not inv.default
        if field.sensitivity == "C3":
            return (HIDE, field.mask, explicit)
        names = (path, leaf, field.name) if path else (field.name,)
        if self._filter is not None and not any(
                n in self._filter for n in (*names, field.category)):
            return (HIDE, field.mask, explicit)
        keys = (names, (field.category,), (field.sensitivity,), ("*",))
        best = HIDE
        for perm in self._perms:
            a = _action(perm, keys, field.sensitivity)
            if a < best:
                best = a
                if a == RAW:
                    break
        return (best, field.mask, explicit)

    def treatment(self, path: str) -> FieldTreatment:
        return _TREATMENT[self.rule(path)[0]]


class _Verdict:
    __slots__ = ("glass", "grant_id", "head", "on_behalf_of", "plan", "via")

    def __init__(self, plan: _Plan, via: str, grant_id: str = "", on_behalf_of: str = "",
                 glass: _GlassState | None = None) -> None:
        self.plan = plan
        self.via = via
        self.grant_id = grant_id
        self.on_behalf_of = on_behalf_of
        self.glass = glass
        self.head = (via, grant_id, on_behalf_of)


@dataclasses.dataclass(frozen=True, slots=True)
class AccessDecision:
    """The outcome of :meth:`AccessControl.decide`, without side effects.

    When ``allowed``, ``basis`` says why (``role``, ``self``, ``delegation`` or
    ``break_glass``) and :meth:`treatment` tells how each field would be shown;
    otherwise ``reason`` is a :data:`DenyReason`.
    """

    allowed: bool
    """Whether the access may go ahead."""
    principal: str
    """The principal's id (empty when none was bound)."""
    purpose: str
    """The purpose asked for."""
    subject: str = ""
    """The data subject, when known."""
    reason: str = ""
    """The deny reason when not allowed."""
    basis: str = ""
    """``role``, ``self``, ``delegation`` or ``break_glass`` when allowed."""
    grant_id: str = ""
    """The delegation grant used, if any."""
    break_glass: bool = False
    """True when emergency access decided."""
    policy_version: str = ""
    """The policy version that decided."""
    _plan: _Plan | None = dataclasses.field(default=None, repr=False, compare=False)

    def treatment(self, field: str) -> FieldTreatment:
        """``raw``, ``masked`` or ``hidden`` for the field at dotted path ``field``."""
        if self._plan is None:
            return "hidden"
        return self._plan.treatment(field)


