"""The flat-row fast path of access shaping gives exactly what the general walk gives.

``AccessControl`` shapes a ``dict`` of scalars (a database row) through a cached
:class:`~finprivacy.access._shape.FlatPlan` and bound masking functions; anything else
goes through :class:`~finprivacy.access._shape.Shaper`. These tests drive both with
the same rows (hypothesis) and require the same result and the same audit fields, as
rows change their keys, their order, or hold nested values between calls.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    AuditQueue,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from finprivacy.access._shape import Shaper
from finprivacy.inventory import DataField, DataInventory
from finprivacy.masking import PRESETS, mask, masker

NOW = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)
INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1"),
    DataField("name", category="identity", sensitivity="C2", mask="name"),
    DataField("phone", category="contact", sensitivity="C2", mask="cn_phone"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("balance", category="financial", sensitivity="C2"),
    DataField("cvv", category="authentication", sensitivity="C3"),
])
POLICY = Policy(
    version="flat",
    purposes=(Purpose("verify", legal_basis="contract"),),
    roles=(Role("clerk"),),
    permissions=(Permission("clerk", "verify", raw={"internal"}),),
)
CLERK = Principal("clerk-1", roles={"clerk"}, tenant="t")
KEYS = ["client_id", "name", "phone", "card_no", "balance", "cvv", "note", "extra"]

scalars = st.one_of(
    st.none(), st.text(max_size=20), st.integers(), st.booleans(), st.binary(max_size=4),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.sampled_from(["13800138000", "6222020200112233445", "+86 138 0013 8000", "张三",
                     "008613800138000", "00861380013", "01012345678", "0086"]))
values = st.one_of(scalars, st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
                   st.lists(scalars, max_size=2))
rows = st.dictionaries(st.sampled_from(KEYS), values, max_size=len(KEYS))


def _reference(control: AccessControl, row: dict[str, Any]) -> tuple[Any, tuple[str, ...],
                                                                    tuple[str, ...]]:
    plan = control.decide("verify", "c-1", principal=CLERK)._plan
    assert plan is not None
    shaper = Shaper(plan.rule, control._masker)
    keep, out = shaper.walk(row, "")
    return (out if keep else None), tuple(shaper.returned), tuple(shaper.masked)


@given(st.lists(rows, min_size=1, max_size=6))
def test_flat_rows_shape_like_the_general_walk(sequence: list[dict[str, Any]]) -> None:
    queue = AuditQueue()
    control = AccessControl(POLICY, INVENTORY, audit=queue, clock=fp.FixedClock(NOW))
    with acting_as(CLERK):
        for row in sequence:
            expected, returned, masked = _reference(control, row)
            got = control.protect(row, "verify", "c-1")
            assert got == expected
            assert got is not row
            event = queue.drain()[-1]
            assert sorted(event.fields_returned) == sorted(returned)
            assert set(masked) <= set(event.fields_masked)
            assert (event.actor, event.tenant, event.subject, event.purpose) == (
                "clerk-1", "t", "c-1", "verify")
            assert (event.reason, event.grant_id, event.on_behalf_of, event.policy_version,
                    event.time, event.break_glass) == ("role", "", "", "flat", NOW, False)
            assert event.decision == ("masked" if event.fields_masked else "allowed")


def test_same_size_rows_with_other_keys_get_their_own_plan() -> None:
    control = AccessControl(POLICY, INVENTORY, clock=fp.FixedClock(NOW))
    with acting_as(CLERK):
        first = control.protect({"client_id": "c", "card_no": "6222020200112233445"},
                                "verify", "c-1")
        # Same number of keys, one name changed: the raw column must not leak.
        second = control.protect({"client_id": "c", "phone": "13800138000"}, "verify", "c-1")
        third = control.protect({"phone": "13800138000", "client_id": "c"}, "verify", "c-1")
    assert first == {"client_id": "c", "card_no": "622202*********3445"}
    assert second == {"client_id": "c", "phone": "138****8000"}
    assert third == second


def test_a_nested_value_in_a_raw_column_takes_the_general_walk() -> None:
    control = AccessControl(POLICY, INVENTORY, clock=fp.FixedClock(NOW))
    with acting_as(CLERK):
        flat = control.protect({"client_id": "c", "cvv": "123"}, "verify", "c-1")
        nested = control.protect({"client_id": {"cvv": "123", "phone": "13800138000"},
                                  "cvv": "123"}, "verify", "c-1")
    assert flat == {"client_id": "c"}
    assert "123" not in repr(nested)


def test_a_masker_that_fails_gives_the_full_mask_not_the_value() -> None:
    def broken(value: str, kind: str | None) -> str:
        raise ValueError("no")

    control = AccessControl(POLICY, INVENTORY, masker=broken, clock=fp.FixedClock(NOW))
    with acting_as(CLERK):
        out = control.protect({"client_id": "c", "card_no": "6222020200112233445",
                               "balance": decimal.Decimal("12.50")}, "verify", "c-1")
    assert "6222020200112233445" not in repr(out)
    assert out["card_no"] == out["balance"] != "6222020200112233445"


MASKABLE = [(kind, name) for kind, presets in PRESETS.items() for name in presets
            if name not in ("pseudonym", "ff1")]


@pytest.mark.parametrize(("kind", "preset"), MASKABLE)
@given(value=st.one_of(st.text(alphabet="0123456789", max_size=25),
                       st.text(alphabet="0123456789 -+()X０６　ab张欧阳@.", max_size=25)))
def test_bound_masker_matches_mask(kind: str, preset: str, value: str) -> None:
    assert masker(kind, preset)(value) == mask(value, kind, preset)
    assert masker(kind, preset)(fp.Secret(value)) == mask(value, kind, preset)


def test_masker_checks_kind_preset_and_keys_once() -> None:
    with pytest.raises(fp.ConfigurationError):
        masker("bank_card", "nope")
    with pytest.raises(fp.ConfigurationError):
        masker("bank_card", "pseudonym")("6222020200112233445")
    with pytest.raises(fp.InvalidInputError):
        masker("bank_card")(1234)  # type: ignore[arg-type]
    keyed = masker("bank_card", "pseudonym", pseudonym_key=b"k" * 32)
    assert keyed("6222020200112233445") == mask("6222020200112233445", "bank_card",
                                                "pseudonym", pseudonym_key=b"k" * 32)


def test_the_decorator_verdict_shortcut_follows_principal_and_time() -> None:
    """The per-purpose shortcut must never hand one principal's verdict to another,
    nor outlive the attestation that allowed it."""
    from finprivacy.access import Attestation, AttestationRequirement

    policy = Policy(
        version="short", purposes=(Purpose("verify", legal_basis="contract"),),
        roles=(Role("clerk"), Role("intern")),
        permissions=(Permission("clerk", "verify", raw={"internal"}),),
        attestations=(AttestationRequirement("privacy_training", within_months=12),))
    clock = fp.FixedClock(NOW)
    control = AccessControl(policy, INVENTORY, clock=clock)
    trained = Principal("clerk-1", roles={"clerk"}, tenant="t", attestations=[
        Attestation("privacy_training", NOW - dt.timedelta(days=300))])
    other = Principal("intern-1", roles={"intern"}, tenant="t")

    @control.requires("verify", subject="client_id")
    def row(client_id: str) -> dict[str, str]:
        return {"client_id": client_id, "card_no": "6222020200112233445"}

    for _ in range(3):  # alternate, so each call finds the other's shortcut
        with acting_as(trained):
            assert row("c-1")["card_no"] == "622202*********3445"
        with acting_as(other), pytest.raises(fp.AccessDeniedError):
            row("c-1")
    clock.set(NOW + dt.timedelta(days=100))  # training now older than 12 months
    with acting_as(trained), pytest.raises(fp.AccessDeniedError) as denied:
        row("c-1")
    assert "attestation" in denied.value.reason


def _check_event(event: Any, returned: tuple[str, ...], masked: tuple[str, ...]) -> None:
    assert sorted(event.fields_returned) == sorted(returned)
    assert set(masked) <= set(event.fields_masked)
    assert (event.actor, event.tenant, event.subject, event.purpose, event.action) == (
        "clerk-1", "t", "c-1", "verify", "read")
    assert (event.reason, event.policy_version, event.time, event.break_glass) == (
        "role", "flat", NOW, False)
    assert event.decision == ("masked" if event.fields_masked else "allowed")


@given(st.lists(rows, min_size=1, max_size=6))
def test_the_decorator_shapes_rows_like_the_general_walk(
        sequence: list[dict[str, Any]]) -> None:
    """``@requires`` inlines the flat-row path; the sync and async wrappers must give
    what the general walk gives, with the same audit record, row after row."""
    import asyncio

    queue = AuditQueue()
    control = AccessControl(POLICY, INVENTORY, audit=queue, clock=fp.FixedClock(NOW))
    current: dict[str, Any] = {}

    @control.requires("verify", subject="client_id")
    def read(client_id: str) -> dict[str, Any]:
        return current

    @control.requires("verify", subject="client_id")
    async def aread(client_id: str) -> dict[str, Any]:
        return current

    with acting_as(CLERK):
        for row in sequence:
            current.clear()
            current.update(row)
            expected, returned, masked = _reference(control, row)
            for call in (lambda: read("c-1"), lambda: asyncio.run(aread("c-1"))):
                got = call()
                assert got == expected
                assert got is not current
                (event,) = queue.drain()
                _check_event(event, returned, masked)


def test_the_decorator_fast_path_honours_flush_every_and_plain_sinks() -> None:
    sink: list[Any] = []

    class Sink:
        def record(self, event: Any) -> None:
            sink.append(event)

    row = {"client_id": "c-1", "card_no": "6222020200112233445", "cvv": "737"}
    for audit in (AuditQueue(Sink(), flush_every=2), Sink()):
        sink.clear()
        control = AccessControl(POLICY, INVENTORY, audit=audit,  # type: ignore[arg-type]
                                clock=fp.FixedClock(NOW))

        @control.requires("verify", subject="client_id")
        def read(client_id: str) -> dict[str, str]:
            return row

        with acting_as(CLERK):
            outs = [read("c-1") for _ in range(4)]
        assert outs == [{"client_id": "c-1", "card_no": "622202*********3445"}] * 4
        assert len(sink) == 4
        for event in sink:
            _check_event(event, ("client_id",), ("card_no", "cvv"))


def test_break_glass_of_another_control_does_not_touch_this_one() -> None:
    """The decorator skips the break-glass lookup until its control opened one; a
    session of another control must not change this control's decisions."""
    policy = Policy(version="flat", purposes=(Purpose("verify", legal_basis="contract"),),
                    roles=(Role("clerk", break_glass=True),),
                    permissions=(Permission("clerk", "verify", raw={"internal"}),))
    sink_a, sink_b = AuditQueue(), AuditQueue()
    log_a, log_b = fp.AuditLog("memory:"), fp.AuditLog("memory:")
    a = AccessControl(policy, INVENTORY, audit=sink_a, break_glass_audit=log_a,
                      clock=fp.FixedClock(NOW))
    b = AccessControl(policy, INVENTORY, audit=sink_b, break_glass_audit=log_b,
                      clock=fp.FixedClock(NOW))
    row = {"client_id": "c-1", "card_no": "6222020200112233445"}

    @a.requires("verify", subject="client_id")
    def read(client_id: str) -> dict[str, str]:
        return row

    with acting_as(CLERK):
        assert read("c-1")["card_no"] == "622202*********3445"
        with b.break_glass(reason="outage", ttl=dt.timedelta(minutes=5)):
            assert read("c-1")["card_no"] == "622202*********3445"
        assert not a._glass_opened
        with a.break_glass(reason="outage", ttl=dt.timedelta(minutes=5)):
            assert a._glass_opened
            assert read("c-1")["card_no"] == "6222020200112233445"  # raw in break-glass
        assert read("c-1")["card_no"] == "622202*********3445"
    flags = [e.break_glass for e in sink_a.drain()]
    assert flags == [False, False, True, False]
