"""Property tests: decisions never exceed the policy; shaping never leaks hidden values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from finprivacy.inventory import DataField, DataInventory

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
ROLES = ["r0", "r1", "r2", "r3"]
PURPOSES = ["p0", "p1", "p2"]
TENANTS = ["*", "t0", "t1"]
FIELDS = ["f0", "f1", "f2", "f3", "f4"]
CATEGORIES = ["identity", "account", "internal", "authentication"]
SELECTORS = [*FIELDS, *CATEGORIES, "C1", "C2", "*"]

selector_sets = st.frozensets(st.sampled_from(SELECTORS), max_size=3)
permissions = st.builds(
    Permission, role=st.sampled_from(ROLES), purpose=st.sampled_from(PURPOSES),
    tenant=st.sampled_from(TENANTS), raw=selector_sets, masked=selector_sets,
    hidden=selector_sets)
inheritance = st.dictionaries(st.sampled_from(ROLES[1:]), st.sampled_from(ROLES[:1]),
                              max_size=2)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    perms = draw(st.lists(permissions, max_size=8, unique_by=lambda p: (p.role, p.purpose,
                                                                        p.tenant)))
    inherits = draw(inheritance)
    return Policy(version="h", purposes=tuple(Purpose(p, legal_basis="contract")
                                              for p in PURPOSES),
                  roles=tuple(Role(r, inherits=frozenset({inherits[r]} if r in inherits
                                                         else set())) for r in ROLES),
                  permissions=tuple(perms))


@st.composite
def inventories(draw: st.DrawFn) -> DataInventory:
    fields = []
    for name in FIELDS:
        cat = draw(st.sampled_from(CATEGORIES))
        level = "C3" if cat == "authentication" else draw(st.sampled_from(["C1", "C2"]))
        fields.append(DataField(name, category=cat, sensitivity=level))  # type: ignore[arg-type]
    return DataInventory(fields)


def _granted(policy: Policy, roles: frozenset[str], tenant: str, purpose: str) -> bool:
    closure = policy.role_closure()
    effective = set().union(*(closure.get(r, {r}) for r in roles)) if roles else set()
    return any(p.role in effective and p.purpose == purpose and p.tenant in ("*", tenant)
               for p in policy.permissions)


@given(policies(), inventories(), st.frozensets(st.sampled_from([*ROLES, "ghost"]), max_size=3),
       st.sampled_from(["t0", "t1", ""]), st.sampled_from([*PURPOSES, "unknown"]))
def test_decision_never_allows_a_purpose_not_granted(policy: Policy, inventory: DataInventory,
                                                     roles: frozenset[str], tenant: str,
                                                     purpose: str) -> None:
    try:
        control = AccessControl(policy, inventory, clock=fp.FixedClock(NOW))
    except fp.ConfigurationError:
        return  # a C3 field named raw: rejected at compile, never decided
    d = control.decide(purpose, "subject-1", principal=Principal("staff", roles=roles,
                                                                 tenant=tenant))
    assert d.allowed == _granted(policy, roles, tenant, purpose)
    if d.allowed:
        for f in inventory:
            if f.sensitivity == "C3":
                assert d.treatment(f.name) == "hidden"
    else:
        assert d.reason in ("purpose_not_allowed", "unknown_purpose")


@given(policies(), inventories(), st.frozensets(st.sampled_from(ROLES), min_size=1),
       st.sampled_from(PURPOSES),
       st.dictionaries(st.sampled_from([*FIELDS, "extra"]),
                       st.text(alphabet="0123456789ABCDEF", min_size=12, max_size=20),
                       min_size=1))
def test_shaped_results_hold_only_what_the_plan_allows(
        policy: Policy, inventory: DataInventory, roles: frozenset[str], purpose: str,
        row: dict[str, str]) -> None:
    try:
        control = AccessControl(policy, inventory, clock=fp.FixedClock(NOW),
                                masker=lambda v, k: "****")
    except fp.ConfigurationError:
        return
    principal = Principal("staff", roles=roles, tenant="t0")
    d = control.decide(purpose, "s", principal=principal)
    if not d.allowed:
        return
    with acting_as(principal):
        out: dict[str, Any] = control.protect(dict(row), purpose, "s")
    for key, value in row.items():
        treatment = d.treatment(key)
        if treatment == "raw":
            assert out[key] == value
        elif treatment == "masked":
            assert out[key] == "****"
        else:
            assert key not in out
        assert value not in {v for k, v in out.items() if d.treatment(k) != "raw"}
