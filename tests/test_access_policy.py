"""Policies: building, validation, TOML/JSON loading, Casbin CSV import, field plans."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    AttestationRequirement,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    import_casbin_csv,
    load_policy,
)
from finprivacy.inventory import DataField, DataInventory

GOOD_TOML = """
version = "2026-11"
break_glass_max_ttl_minutes = 60

[purposes.account_verification]
description = "Verify a client's bank account before the first payment run"
legal_basis = "contract"
needs = ["name", "card_no"]

[purposes.marketing]
legal_basis = "consent"

[roles.accountant]
description = "Bookkeeping staff"

[roles.senior]
inherits = ["accountant"]
break_glass = true

[roles.intern]

[[permissions]]
role = "accountant"
purpose = "account_verification"
raw = ["identity"]

[[permissions]]
role = "intern"
purpose = "marketing"
tenant = "lotus"
hidden = ["C2"]

[[attestations]]
kind = "privacy_training"
within_months = 12
roles = ["accountant"]
"""

INVENTORY = DataInventory([
    DataField("name", category="identity", sensitivity="C2", mask="name"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("branch", category="internal", sensitivity="C1"),
    DataField("pin", category="authentication", sensitivity="C3"),
])


def test_load_toml_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD_TOML, encoding="utf-8")
    policy = load_policy(path)
    assert policy.version == "2026-11"
    assert policy.break_glass_max_ttl == dt.timedelta(hours=1)
    assert {p.name for p in policy.purposes} == {"account_verification", "marketing"}
    av = next(p for p in policy.purposes if p.name == "account_verification")
    assert av.legal_basis == "contract" and not av.needs_consent
    assert av.needs == frozenset({"name", "card_no"})
    assert policy.role_closure()["senior"] == frozenset({"senior", "accountant"})
    [req] = policy.attestations
    assert req.within_months == 12 and req.roles == frozenset({"accountant"})


def test_json_round_trip(tmp_path: Path) -> None:
    policy = Policy.from_dict(_toml(GOOD_TOML))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy.to_dict()), encoding="utf-8")
    assert load_policy(path) == policy


def _toml(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


MALFORMED = [
    ('version = ""\n', "version"),
    ('[purposes.x]\n', "version"),
    ('version = "1"\nfoo = 1\n', "unknown top-level keys ['foo']"),
    ('version = "1"\n[purposes.x]\nlegal_basis = "vibes"\n', "legal_basis"),
    ('version = "1"\n[purposes.x]\nscope = "destroy"\n', "scope"),
    ('version = "1"\n[purposes.x]\nneeds = "name"\n', "'needs' must be a list of strings"),
    ('version = "1"\n[purposes.x]\ncolour = "red"\n', "purpose 'x' has unknown keys"),
    ('version = "1"\n[roles.a]\ninherits = ["ghost"]\n', "undefined roles ['ghost']"),
    ('version = "1"\n[roles.a]\ninherits = ["b"]\n[roles.b]\ninherits = ["a"]\n', "cycle"),
    ('version = "1"\n[roles.a]\nbreak_glass = "yes"\n', "break_glass"),
    ('version = "1"\n[[permissions]]\nrole = "a"\n', "permissions[0] is missing 'purpose'"),
    ('version = "1"\n[purposes.x]\n[[permissions]]\nrole = "ghost"\npurpose = "x"\n',
     "undefined role 'ghost'"),
    ('version = "1"\n[roles.a]\n[[permissions]]\nrole = "a"\npurpose = "nope"\n',
     "undefined purpose 'nope'"),
    ('version = "1"\n[roles.a]\n[purposes.x]\n[[permissions]]\nrole = "a"\npurpose = "x"\n'
     'raw = ["C3"]\n', "C3"),
    ('version = "1"\n[roles.a]\n[purposes.x]\n[[permissions]]\nrole = "a"\npurpose = "x"\n'
     '[[permissions]]\nrole = "a"\npurpose = "x"\n', "declared twice"),
    ('version = "1"\n[[attestations]]\nkind = "t"\nwithin_days = -1\n', "within_days"),
    ('version = "1"\n[[attestations]]\nkind = "t"\nwithin_days = 1\nwithin_months = 1\n',
     "not both"),
    ('version = "1"\n[[attestations]]\nkind = "t"\nlevels = ["C7"]\n', "levels"),
    ('version = "1"\nbreak_glass_max_ttl_minutes = 0\n', "break_glass_max_ttl_minutes"),
    ('version = "1"\npermissions = {}\n', "'permissions' must be a list"),
    ('version = "1"\nroles = []\n', "'roles' must be a table"),
    ('version = "1"\n[roles.a]\n[purposes.x]\n[[permissions]]\nrole = "a"\npurpose = "x"\n'
     'raw = "card_no"\n', "'raw' must be a list of strings"),
    ('version = "1"\n[purposes." x"]\n', "without surrounding spaces"),
    ('version = "1"\n[roles\n', "not valid TOML"),
]


@pytest.mark.parametrize(("text", "problem"), MALFORMED)
def test_malformed_policy_file_rejected_at_load(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(fp.FormatError) as info:
        load_policy(path)
    assert problem in str(info.value)
    assert isinstance(info.value, ValueError)


def test_rule_strings_are_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = (f'version = "1"\n[roles.a]\n[purposes.x]\n[[permissions]]\nrole = "a"\n'
            f'purpose = "x"\nraw = ["__import__(\'os\').system(\'touch {marker}\')"]\n')
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)  # a selector is just a name
    control = AccessControl(policy)  # without an inventory it matches nothing
    d = control.decide("x", "c-1", principal=Principal("p", roles={"a"}))
    assert d.treatment("card_no") == "masked"
    with pytest.raises(fp.ConfigurationError, match="does not declare"):
        AccessControl(policy, INVENTORY)  # with one, an unknown name is a typo caught early
    assert not marker.exists()


def test_json_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"version": "1", "roles": {"a": {"inherits": [1]}}}', encoding="utf-8")
    with pytest.raises(fp.FormatError, match="inherits"):
        load_policy(path)
    path.write_text('{"version": ', encoding="utf-8")
    with pytest.raises(fp.FormatError, match="not valid JSON"):
        load_policy(path)
    with pytest.raises(fp.ConfigurationError, match="cannot be read"):
        load_policy(tmp_path / "absent.toml")


def test_python_objects_validate_with_configuration_error() -> None:
    with pytest.raises(fp.ConfigurationError, match="C3"):
        Permission("a", "x", raw=frozenset({"C3"}))
    with pytest.raises(fp.ConfigurationError, match="collection"):
        Permission("a", "x", raw="card_no")  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError, match="undefined purpose"):
        Policy(version="1", roles=(Role("a"),), permissions=(Permission("a", "x"),))
    with pytest.raises(fp.ConfigurationError, match="twice"):
        Policy(version="1", purposes=(Purpose("x"), Purpose("x")))
    with pytest.raises(fp.ConfigurationError, match="break_glass_max_ttl"):
        Policy(version="1", break_glass_max_ttl=dt.timedelta(0))
    with pytest.raises(fp.ConfigurationError, match="Purpose"):
        Policy(version="1", purposes=("x",))  # type: ignore[arg-type]


def test_c3_field_named_raw_rejected_at_compile() -> None:
    policy = Policy(version="1", purposes=(Purpose("x"),), roles=(Role("a"),),
                    permissions=(Permission("a", "x", raw=frozenset({"pin"})),))
    with pytest.raises(fp.ConfigurationError, match="pin"):
        AccessControl(policy, INVENTORY)


def test_selector_specificity_and_restrictiveness() -> None:
    policy = Policy(version="1", purposes=(Purpose("x", legal_basis="contract"),),
                    roles=(Role("a"), Role("b")), permissions=(
        Permission("a", "x", raw=frozenset({"account"}), hidden=frozenset({"card_no"}),
                   masked=frozenset({"C1"})),
        Permission("b", "x", raw=frozenset({"*"}), hidden=frozenset({"identity"})),
    ))
    control = AccessControl(policy, INVENTORY)
    a = control.decide("x", "c", principal=Principal("p", roles={"a"}))
    assert a.treatment("card_no") == "hidden"     # field beats category
    assert a.treatment("branch") == "masked"      # level selector
    assert a.treatment("name") == "masked"        # C2 default
    assert a.treatment("pin") == "hidden"         # C3 always
    b = control.decide("x", "c", principal=Principal("q", roles={"b"}))
    assert b.treatment("card_no") == "raw"        # '*'
    assert b.treatment("name") == "hidden"
    assert b.treatment("pin") == "hidden"
    both = control.decide("x", "c", principal=Principal("r", roles={"a", "b"}))
    assert both.treatment("card_no") == "raw"     # the union of two roles: most permissive
    assert both.treatment("name") == "masked"


def test_inherited_roles_and_tenants() -> None:
    policy = Policy(version="1", purposes=(Purpose("x", legal_basis="contract"),),
                    roles=(Role("base"), Role("child", inherits=frozenset({"base"}))),
                    permissions=(Permission("base", "x", tenant="lotus"),))
    control = AccessControl(policy, INVENTORY)
    assert control.decide("x", "c", principal=Principal("p", roles={"child"},
                                                        tenant="lotus")).allowed
    assert not control.decide("x", "c", principal=Principal("p", roles={"child"},
                                                            tenant="other")).allowed
    assert not control.decide("x", "c", principal=Principal("p", roles={"undeclared"},
                                                            tenant="lotus")).allowed


def test_attestation_requirement_arithmetic() -> None:
    req = AttestationRequirement("t", within_months=1)
    assert req.valid_until(dt.datetime(2026, 1, 31, tzinfo=dt.UTC)) == dt.datetime(
        2026, 2, 28, tzinfo=dt.UTC)
    assert AttestationRequirement("t", within_months=12).valid_until(
        dt.datetime(2024, 2, 29, tzinfo=dt.UTC)) == dt.datetime(2025, 2, 28, tzinfo=dt.UTC)
    assert AttestationRequirement("t", within_days=10).valid_until(
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == dt.datetime(2026, 1, 11, tzinfo=dt.UTC)
    assert AttestationRequirement("t").valid_until(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) is None


CASBIN = """
# role, domain, object, action
p, accountant, lotus, identity, account_verification
p, accountant, lotus, *, bookkeeping
p, intern, lotus, *, marketing
g, alice, accountant, lotus
g, ivan, intern, lotus
g, senior, accountant
g, sam, senior, lotus
"""


def test_casbin_csv_import(tmp_path: Path) -> None:
    imported = import_casbin_csv(text=CASBIN, purposes={
        "account_verification": Purpose("account_verification", legal_basis="contract")})
    policy = imported.policy
    assert {p.name for p in policy.purposes} == {"account_verification", "bookkeeping",
                                                 "marketing"}
    control = AccessControl(policy, INVENTORY)
    alice = imported.principal("alice", "lotus")
    assert alice.roles == frozenset({"accountant"})
    d = control.decide("account_verification", "c-1", principal=alice)
    assert d.allowed and d.treatment("name") == "raw" and d.treatment("card_no") == "masked"
    sam = imported.principal("sam", "lotus")
    assert control.decide("bookkeeping", "c-1", principal=sam).allowed  # via inheritance
    assert not control.decide("marketing", "c-1", principal=alice).allowed
    assert not control.decide("account_verification", "c-1",
                              principal=imported.principal("alice", "other")).allowed
    path = tmp_path / "policy.csv"
    path.write_text(CASBIN, encoding="utf-8")
    assert import_casbin_csv(path).assignments == imported.assignments


@pytest.mark.parametrize(("text", "problem"), [
    ("p, accountant, lotus, identity\n", "line 1: a p row needs"),
    ("\n\nq, a, b, c, d\n", "line 3: unknown row type"),
    ("g, alice\n", "a g row needs"),
    ("p, a, lotus, C3, x\n", "C3"),
    ("p, a, , identity, x\n", "empty column"),
    ("g, a, b\ng, b, a\n", "cycle"),
])
def test_casbin_csv_malformed(text: str, problem: str) -> None:
    with pytest.raises(fp.FormatError, match=problem):
        import_casbin_csv(text=text)


def test_casbin_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(fp.ConfigurationError):
        import_casbin_csv()
    with pytest.raises(fp.ConfigurationError):
        import_casbin_csv(tmp_path / "x.csv", text="p, a, b, c, d")
    with pytest.raises(fp.ConfigurationError, match="cannot be read"):
        import_casbin_csv(tmp_path / "missing.csv")


@given(st.text(alphabet=st.sampled_from(list("pg, ab*\n#C3\"")), max_size=80))
def test_casbin_import_only_raises_format_error(text: str) -> None:
    try:
        imported = import_casbin_csv(text=text)
    except fp.FormatError:
        return
    assert isinstance(imported.policy, Policy)


_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 300), st.text(max_size=6),
              st.sampled_from(["a", "x", "C2", "C3", "consent", "view", "*", "role"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["role", "purpose", "raw", "hidden", "inherits", "kind",
                                 "within_days", "legal_basis", "a", "x", "tenant"]),
                                inner, max_size=4)),
    max_leaves=12)


@given(st.fixed_dictionaries({"version": st.sampled_from(["1", "", 3])}, optional={
    "purposes": _values, "roles": _values, "permissions": _values, "attestations": _values,
    "self_access": _values, "break_glass_max_ttl_minutes": _values}))
def test_policy_from_dict_only_raises_format_error(doc: dict[str, object]) -> None:
    try:
        policy = Policy.from_dict(doc)
    except fp.FormatError:
        return
    assert Policy.from_dict(policy.to_dict()) == policy
