from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.inventory import (
    CATEGORIES,
    DataField,
    DataInventory,
    bookkeeping_inventory,
    load_inventory,
)


def test_classify_prefers_exact_path_then_leaf_then_default() -> None:
    inv = DataInventory([
        DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
        DataField("spouse.card_no", category="account", sensitivity="C3"),
    ])
    assert inv.classify("card_no").mask == "bank_card"
    assert inv.classify("client.account.card_no").name == "card_no"
    assert inv.classify("spouse.card_no").sensitivity == "C3"
    unknown = inv.classify("nickname")
    assert unknown.category == "unclassified"
    assert unknown.sensitivity == "C2"  # fails closed: unknown fields are masked, not shown


def test_custom_default_classification() -> None:
    inv = DataInventory([], default=DataField("*", category="internal", sensitivity="C1"))
    assert inv.classify("anything").sensitivity == "C1"


def test_queries() -> None:
    inv = bookkeeping_inventory()
    assert "card_no" in inv
    assert "account_verification" in inv.classify("card_no").purposes
    assert {f.name for f in inv.by_sensitivity("C3")} == {"password", "cvv", "pin"}
    assert all(f.category == "authentication" for f in inv.by_sensitivity("C3"))
    assert "card_no" in inv.fields_for("account_verification")
    assert "email" not in inv.fields_for("account_verification")
    assert {f.name for f in inv.by_category("contact")} == {"phone", "email"}
    assert inv.categories <= set(CATEGORIES)
    assert len(inv) == len(list(inv))
    assert "12 fields" in repr(inv)


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"name": "", "category": "account", "sensitivity": "C2"}, "name"),
    ({"name": "a..b", "category": "account", "sensitivity": "C2"}, "name"),
    ({"name": "x", "category": "", "sensitivity": "C2"}, "category"),
    ({"name": "x", "category": "account", "sensitivity": "C4"}, "sensitivity"),
    ({"name": "x", "category": "account", "sensitivity": "C2", "purposes": "marketing"},
     "purposes"),
    ({"name": "x", "category": "account", "sensitivity": "C2", "mask": ""}, "mask"),
])
def test_bad_field_rejected(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(fp.ConfigurationError, match=problem):
        DataField(**kwargs)  # type: ignore[arg-type]


def test_duplicate_field_rejected() -> None:
    f = DataField("x", category="account", sensitivity="C2")
    with pytest.raises(fp.ConfigurationError, match="twice"):
        DataInventory([f, f])


def test_round_trip_through_json_and_toml(tmp_path: Path) -> None:
    inv = bookkeeping_inventory()
    doc = inv.to_dict()
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    loaded = load_inventory(path)
    assert loaded.to_dict() == doc
    assert loaded.version == "bookkeeping-1"
    toml = tmp_path / "inventory.toml"
    toml.write_text(
        'version = "t1"\n[fields.card_no]\ncategory = "account"\nsensitivity = "C2"\n'
        'mask = "bank_card"\npurposes = ["account_verification"]\n'
        'retention = "bank_statements_10y"\n', encoding="utf-8")
    t = load_inventory(toml)
    field = t.classify("card_no")
    assert (field.mask, field.retention, field.purposes) == (
        "bank_card", "bank_statements_10y", frozenset({"account_verification"}))


@pytest.mark.parametrize(("text", "problem"), [
    ('version = 1\n', "version"),
    ('colour = "red"\n', "unknown top-level"),
    ('[fields.x]\ncategory = "account"\n', "sensitivity"),
    ('[fields.x]\ncategory = "account"\nsensitivity = "C9"\n', "sensitivity"),
    ('[fields.x]\ncategory = "account"\nsensitivity = "C2"\nshade = 1\n', "unknown keys"),
    ('[fields.x]\ncategory = "account"\nsensitivity = "C2"\npurposes = "ads"\n', "purposes"),
    ('[fields.x]\ncategory = "account"\nsensitivity = "C2"\nmask = 3\n', "mask"),
    ('fields = 3\n', "fields"),
    ('[fields\n', "not valid TOML"),
])
def test_malformed_inventory_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "inv.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(fp.FormatError, match=problem):
        load_inventory(path)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(fp.ConfigurationError, match=r"toml or \.json"):
        load_inventory(tmp_path / "inv.yaml")
    with pytest.raises(fp.ConfigurationError, match="cannot be read"):
        load_inventory(tmp_path / "missing.json")
    bad = tmp_path / "inv.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(fp.FormatError, match="JSON object"):
        load_inventory(bad)
    bad.write_text('{"fields": {"x": ', encoding="utf-8")
    with pytest.raises(fp.FormatError, match="line 1"):
        load_inventory(bad)
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(fp.FormatError, match="UTF-8"):
        load_inventory(bad)


@given(st.text(max_size=200))
def test_from_json_text_never_crashes_untyped(text: str) -> None:
    try:
        doc = json.loads(text)
    except ValueError:
        return
    with contextlib.suppress(fp.FormatError):
        DataInventory.from_dict(doc)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.dictionaries(
    st.sampled_from(["category", "sensitivity", "purposes", "mask", "retention", "odd"]),
    st.one_of(st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3), max_size=2),
              st.sampled_from(["C1", "C2", "C3"]))), max_size=4))
def test_from_dict_only_raises_format_error(fields: dict[str, dict[str, object]]) -> None:
    try:
        inv = DataInventory.from_dict({"fields": fields})
    except fp.FormatError:
        return
    assert len(inv) == len(fields)
