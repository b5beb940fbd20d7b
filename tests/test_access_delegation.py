"""Self access and delegation grants: scopes, fields, validity, expiry and revocation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    DelegationGrant,
    Delegations,
    MemoryGrantStore,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from finprivacy.inventory import DataField, DataInventory

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
CARD = "6222020200112233445"

INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1"),
    DataField("name", category="identity", sensitivity="C2"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("balance", category="financial", sensitivity="C2"),
    DataField("pin", category="authentication", sensitivity="C3"),
])
POLICY = Policy(
    version="d-1",
    purposes=(Purpose("statement", legal_basis="contract"),
              Purpose("export_data", legal_basis="contract", scope="export"),
              Purpose("marketing")),
    roles=(Role("accountant"),),
    permissions=(Permission("accountant", "statement"),),
)
SPOUSE = Principal("spouse-1")


class Sink:
    def __init__(self) -> None:
        self.events: list[fp.AuditEvent] = []

    def record(self, event: fp.AuditEvent) -> object:
        self.events.append(event)
        return None


@pytest.fixture
def clock() -> fp.FixedClock:
    return fp.FixedClock(NOW)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def control(clock: fp.FixedClock, sink: Sink) -> AccessControl:
    return AccessControl(POLICY, INVENTORY, audit=sink, clock=clock, grants=MemoryGrantStore())


def _statement(control: AccessControl) -> Any:
    @control.requires("statement", subject="client_id")
    def statement(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "name": "王五", "card_no": CARD, "balance": 10,
                "pin": "1234"}
    return statement


def test_subject_reads_own_data(control: AccessControl) -> None:
    statement = _statement(control)
    with acting_as(Principal("c-1")):
        out = statement("c-1")
    assert out == {"client_id": "c-1", "name": "王五", "card_no": CARD, "balance": 10}
    with acting_as(Principal("c-2")), pytest.raises(fp.AccessDeniedError) as info:
        statement("c-1")
    assert info.value.reason == "purpose_not_allowed"


def test_self_access_can_be_switched_off(clock: fp.FixedClock) -> None:
    policy = Policy(version="1", purposes=POLICY.purposes, roles=POLICY.roles,
                    permissions=POLICY.permissions, self_access=False)
    control = AccessControl(policy, INVENTORY, clock=clock)
    assert control.decide("statement", "c-1", principal=Principal("c-1")).reason == (
        "purpose_not_allowed")


def test_delegate_reads_within_fields_until_expiry(control: AccessControl, sink: Sink,
                                                   clock: fp.FixedClock) -> None:
    assert control.delegations is not None
    grant = control.delegations.grant(
        "c-1", "spouse-1", scopes={"view"}, fields={"client_id", "account"},
        valid_until=NOW + HOUR, relationship="spouse")
    assert grant.id.startswith("dg_")
    statement = _statement(control)
    with acting_as(SPOUSE):
        out = statement("c-1")
        assert out == {"client_id": "c-1", "card_no": CARD}  # only the granted fields
        event = sink.events[-1]
        assert (event.grant_id, event.on_behalf_of, event.actor) == (grant.id, "c-1",
                                                                      "spouse-1")
        assert event.details["basis"] == "delegation"
        assert {"name", "balance", "pin"} <= set(event.fields_masked)
        with pytest.raises(fp.AccessDeniedError) as info:
            statement("c-9")  # another client: no grant
        assert info.value.reason == "purpose_not_allowed"
        clock.advance(HOUR)  # the grant expires mid-way
        with pytest.raises(fp.AccessDeniedError) as info:
            statement("c-1")
        assert info.value.reason == "grant_expired"
    assert sink.events[0].action == "delegation.grant"
    denied = sink.events[-1]
    assert (denied.decision, denied.reason, denied.grant_id, denied.on_behalf_of) == (
        "denied", "grant_expired", grant.id, "c-1")
    other = [e for e in sink.events if e.subject == "c-9"]
    assert other[0].grant_id == "" and other[0].on_behalf_of == ""


def test_grant_revoked_mid_way(control: AccessControl, sink: Sink,
                               clock: fp.FixedClock) -> None:
    assert control.delegations is not None
    grant = control.delegations.grant("c-1", "spouse-1", scopes={"view"}, valid_until=None)
    statement = _statement(control)
    with acting_as(SPOUSE):
        assert statement("c-1")["name"] == "王五"  # no field list: what the client sees
        clock.advance(dt.timedelta(minutes=5))
        revoked = control.delegations.revoke(grant.id)
        assert revoked.revoked_at == clock.now()
        assert control.delegations.revoke(grant.id) == revoked  # idempotent
        with pytest.raises(fp.AccessDeniedError) as info:
            statement("c-1")
    assert info.value.reason == "grant_revoked"
    assert [e.action for e in sink.events].count("delegation.revoke") == 1


def test_grant_not_yet_valid_and_wrong_scope(control: AccessControl) -> None:
    assert control.delegations is not None
    control.delegations.grant("c-1", "spouse-1", scopes={"view"},
                              valid_from=NOW + HOUR, valid_until=NOW + 2 * HOUR)
    control.delegations.grant("c-2", "spouse-1", scopes={"view"}, valid_until=NOW + HOUR)
    d = control.decide("statement", "c-1", principal=SPOUSE)
    assert (d.allowed, d.reason) == (False, "grant_not_yet_valid")
    d = control.decide("export_data", "c-2", principal=SPOUSE)
    assert (d.allowed, d.reason) == (False, "grant_scope")
    d = control.decide("statement", "c-2", principal=SPOUSE, scope="view")
    assert d.allowed and d.basis == "delegation"


def test_any_active_grant_wins_over_stale_ones(control: AccessControl,
                                               clock: fp.FixedClock) -> None:
    assert control.delegations is not None
    old = control.delegations.grant("c-1", "spouse-1", scopes={"view"},
                                    valid_until=NOW + HOUR)
    clock.advance(2 * HOUR)
    new = control.delegations.grant("c-1", "spouse-1", scopes={"view", "export"},
                                    valid_until=NOW + 10 * HOUR)
    d = control.decide("export_data", "c-1", principal=SPOUSE)
    assert d.allowed and d.grant_id == new.id != old.id
    assert [g.id for g in control.delegations.active("spouse-1", "c-1")] == [new.id]


def test_grant_validation() -> None:
    with pytest.raises(fp.ConfigurationError, match="scopes"):
        DelegationGrant("g", "c", "s", scopes=frozenset({"peek"}), valid_from=NOW)  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError, match="scopes"):
        DelegationGrant("g", "c", "s", scopes=frozenset(), valid_from=NOW)
    with pytest.raises(fp.InvalidTimeError):
        DelegationGrant("g", "c", "s", scopes=frozenset({"view"}), valid_from=NOW,
                        valid_until=NOW - HOUR)
    with pytest.raises(fp.InvalidTimeError):
        DelegationGrant("g", "c", "s", scopes=frozenset({"view"}),
                        valid_from=dt.datetime(2026, 1, 1))
    store = MemoryGrantStore()
    delegations = Delegations(store, clock=fp.FixedClock(NOW))
    g = delegations.grant("c", "s", scopes=["view"], valid_until=None, grant_id="g-1")
    with pytest.raises(fp.ConflictError):
        delegations.grant("c", "s", scopes=["view"], valid_until=None, grant_id="g-1")
    with pytest.raises(fp.NotFoundError):
        delegations.revoke("nope")
    with pytest.raises(fp.NotFoundError):
        delegations.get("nope")
    assert delegations.get("g-1") == g
    assert store.for_subject("c") == (g,)
    assert len(store) == 1 and "1 grants" in repr(store)


def test_store_lookup_is_indexed() -> None:
    store = MemoryGrantStore(
        DelegationGrant(f"g{i}", f"c{i}", f"s{i % 7}", scopes=frozenset({"view"}),
                        valid_from=NOW) for i in range(1000))
    assert [g.id for g in store.find("s3", "c3")] == ["g3"]
    assert store.find("s3", "c4") == ()
    assert isinstance(store, fp.access.GrantStore)


def test_self_role_shapes_own_view_and_cannot_be_claimed(clock: fp.FixedClock) -> None:
    policy = Policy(version="s", purposes=(Purpose("statement", legal_basis="contract"),),
                    permissions=(Permission("self", "statement", hidden={"financial"}),))
    control = AccessControl(policy, INVENTORY, clock=clock)
    own = control.decide("statement", "c-1", principal=Principal("c-1"))
    assert own.basis == "self" and own.treatment("balance") == "hidden"
    assert own.treatment("card_no") == "masked"  # C2 default under an explicit self rule
    claimed = control.decide("statement", "c-1", principal=Principal("x", roles={"self"}))
    assert (claimed.allowed, claimed.reason) == (False, "purpose_not_allowed")
