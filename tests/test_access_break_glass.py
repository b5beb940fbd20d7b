"""Break-glass: durable audit first, flagged accesses, TTL, review queue; and minimisation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pydantic
import pytest

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    Attestation,
    AttestationRequirement,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from finprivacy.inventory import DataField, DataInventory

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
CARD = "6222020200112233445"

INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1",
              purposes=frozenset({"account_verification", "marketing"})),
    DataField("name", category="identity", sensitivity="C2",
              purposes=frozenset({"account_verification", "marketing"})),
    DataField("email", category="contact", sensitivity="C2", purposes=frozenset({"marketing"})),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("balance", category="financial", sensitivity="C2"),
    DataField("cvv", category="authentication", sensitivity="C3",
              purposes=frozenset({"account_verification"})),
])
POLICY = Policy(
    version="bg-1",
    purposes=(Purpose("account_verification", legal_basis="contract",
                      needs=frozenset({"account"})),
              Purpose("fraud_investigation"), Purpose("marketing")),
    roles=(Role("accountant"), Role("supervisor", inherits=frozenset({"accountant"}),
                                    break_glass=True)),
    permissions=(Permission("accountant", "account_verification"),),
    attestations=(AttestationRequirement("confidentiality_agreement"),),
    break_glass_max_ttl=dt.timedelta(hours=2),
)
SIGNED = (Attestation("confidentiality_agreement", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),)
SUPER = Principal("sue", roles={"supervisor"}, attestations=SIGNED)
ACCT = Principal("alice", roles={"accountant"}, attestations=SIGNED)


class Sink:
    def __init__(self) -> None:
        self.events: list[fp.AuditEvent] = []
        self.data_returned_after: list[int] = []

    def record(self, event: fp.AuditEvent) -> object:
        self.events.append(event)
        return len(self.events)


class Ledger:
    def check(self, subject: str, purpose: str, at: dt.datetime | None = None) -> bool:
        return False


@pytest.fixture
def clock() -> fp.FixedClock:
    return fp.FixedClock(NOW)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def control(clock: fp.FixedClock, sink: Sink) -> AccessControl:
    return AccessControl(POLICY, INVENTORY, audit=sink, clock=clock, consent=Ledger())


def test_break_glass_records_first_flags_accesses_and_queues(control: AccessControl,
                                                            sink: Sink) -> None:
    @control.requires("fraud_investigation", subject="client_id")
    def investigate(client_id: str) -> dict[str, Any]:
        # The start entry is already durable when the data is produced.
        assert sink.events[-1].action == "break_glass.start"
        return {"client_id": client_id, "card_no": CARD, "cvv": "123"}

    with acting_as(SUPER):
        with pytest.raises(fp.AccessDeniedError) as info:
            investigate("c-1")
        assert info.value.reason == "purpose_not_allowed"
        with control.break_glass(reason="suspected card fraud, ticket 881",
                                 ttl=dt.timedelta(minutes=30)) as session:
            out = investigate("c-1")
        assert out == {"client_id": "c-1", "card_no": CARD}  # raw, but C3 never
    start = next(e for e in sink.events if e.action == "break_glass.start")
    assert start.decision == "alert" and start.break_glass
    assert start.details["break_glass_session"] == session.id
    access = next(e for e in sink.events if e.action == "read" and e.decision != "denied")
    assert access.break_glass and access.details["break_glass_session"] == session.id
    assert access.fields_masked == ("cvv",)
    end = sink.events[-1]
    assert end.action == "break_glass.end" and end.details["accesses"] == "1"
    assert control.reviews.pending() == (session,)
    assert control.reviews.accesses(session.id) == 1
    assert session.expires - session.started == dt.timedelta(minutes=30)

    with pytest.raises(fp.AccessDeniedError) as info:
        control.review_break_glass(session.id, reviewer="sue", outcome="justified")
    assert info.value.reason == "self_review"
    review = control.review_break_glass(session.id, reviewer="rita", outcome="justified",
                                        note="confirmed with the bank")
    assert review.accesses == 1 and review.reviewer == "rita"
    assert control.reviews.pending() == ()
    assert control.reviews.reviewed() == (review,)
    assert sink.events[-1].action == "break_glass.review"
    with pytest.raises(fp.ConflictError):
        control.review_break_glass(session.id, reviewer="rita", outcome="unjustified")
    with pytest.raises(fp.NotFoundError):
        control.review_break_glass("bg_missing", reviewer="rita", outcome="justified")


def test_break_glass_bypasses_consent_but_not_attestation(control: AccessControl,
                                                         sink: Sink) -> None:
    unsigned = Principal("sam", roles={"supervisor"})
    with acting_as(unsigned), control.break_glass(reason="x", ttl=dt.timedelta(minutes=5)):
        d = control.decide("marketing", "c-1")
    assert d.reason == "attestation_missing"
    with acting_as(SUPER):
        assert control.decide("marketing", "c-1").reason == "purpose_not_allowed"
        with control.break_glass(reason="x", ttl=dt.timedelta(minutes=5)):
            d = control.decide("marketing", "c-1")
    assert d.allowed and d.break_glass and d.basis == "break_glass"


def test_break_glass_expires_inside_the_block(control: AccessControl,
                                              clock: fp.FixedClock) -> None:
    with acting_as(SUPER), control.break_glass(reason="x", ttl=dt.timedelta(minutes=10)):
        assert control.decide("marketing", "c-1").allowed
        clock.advance(dt.timedelta(minutes=10))
        assert control.decide("marketing", "c-1").reason == "purpose_not_allowed"


def test_break_glass_is_personal_and_bounded(control: AccessControl, sink: Sink) -> None:
    with acting_as(SUPER), control.break_glass(reason="x", ttl=dt.timedelta(minutes=10)), \
            acting_as(ACCT):  # someone else in the same context is not covered
        assert control.decide("marketing", "c-1").reason == "purpose_not_allowed"
    with acting_as(ACCT), pytest.raises(fp.AccessDeniedError) as info, \
            control.break_glass(reason="x", ttl=dt.timedelta(minutes=1)):
        pass
    assert info.value.reason == "break_glass_not_allowed"
    assert sink.events[-1].decision == "denied"
    with pytest.raises(fp.AccessDeniedError) as info, \
            control.break_glass(reason="x", ttl=dt.timedelta(minutes=1)):
        pass
    assert info.value.reason == "no_principal"
    with pytest.raises(fp.InvalidInputError, match="reason"):
        control.break_glass(reason=" ", ttl=dt.timedelta(minutes=1))
    with pytest.raises(fp.InvalidInputError, match="max_ttl"):
        control.break_glass(reason="x", ttl=dt.timedelta(hours=3))
    with pytest.raises(fp.InvalidInputError, match="positive"):
        control.break_glass(reason="x", ttl=dt.timedelta(0))


def test_break_glass_needs_a_working_audit_sink(clock: fp.FixedClock) -> None:
    no_audit = AccessControl(POLICY, INVENTORY, clock=clock)
    with acting_as(SUPER), pytest.raises(fp.ConfigurationError, match="audit"), \
            no_audit.break_glass(reason="x", ttl=dt.timedelta(minutes=1)):
        pass

    class Down:
        def record(self, event: fp.AuditEvent) -> object:
            raise fp.StoreError("disk full")

    broken = AccessControl(POLICY, INVENTORY, clock=clock, break_glass_audit=Down())
    with acting_as(SUPER):
        with pytest.raises(fp.StoreError), broken.break_glass(reason="x",
                                                              ttl=dt.timedelta(minutes=1)):
            pass
        assert broken.reviews.pending() == ()  # nothing opened
        assert not broken.decide("marketing", "c-1").allowed


def test_module_level_break_glass_uses_default(control: AccessControl) -> None:
    previous = fp.set_access_control(control)
    try:
        with acting_as(SUPER), fp.break_glass(reason="x", ttl=dt.timedelta(minutes=1)):
            assert control.decide("marketing", "c-1").break_glass
    finally:
        fp.set_access_control(previous)


# -- minimisation ---------------------------------------------------------------------------

class Account(pydantic.BaseModel):
    card_no: str
    balance: int | None


class Client(pydantic.BaseModel):
    client_id: str
    name: str | None
    email: str | None
    account: Account | None


@dataclasses.dataclass(frozen=True)
class Row:
    client_id: str
    email: str | None
    cvv: str | None


def test_minimize_dicts_models_dataclasses(control: AccessControl) -> None:
    rec = {"client_id": "c-1", "name": "赵六", "email": "z@example.com", "cvv": "123",
           "account": {"card_no": CARD, "balance": 5}, "hobby": "golf"}
    assert control.minimize(rec, "account_verification") == {
        "client_id": "c-1", "name": "赵六", "account": {"card_no": CARD, "balance": 5}}
    assert control.minimize(rec, "marketing") == {
        "client_id": "c-1", "name": "赵六", "email": "z@example.com"}
    model = Client(client_id="c-1", name="赵六", email="z@example.com",
                   account=Account(card_no=CARD, balance=5))
    small = control.minimize(model, "marketing")
    assert isinstance(small, Client)
    assert small.email == "z@example.com" and small.account is not None
    assert small.account.model_dump() == {"card_no": None, "balance": None}
    row = control.minimize(Row("c-1", "z@example.com", "123"), "account_verification")
    assert row == Row("c-1", None, None)  # C3 never kept, even if listed for the purpose
    previous = fp.set_access_control(control)
    try:
        assert fp.minimize({"email": "e", "hobby": "h"}, "marketing") == {"email": "e"}
    finally:
        fp.set_access_control(previous)
    with pytest.raises(fp.ConfigurationError, match="unknown purpose"):
        control.minimize(rec, "nope")


def test_break_glass_with_an_audit_queue_writes_through(clock: fp.FixedClock) -> None:
    durable = Sink()
    queue = fp.access.AuditQueue(durable)
    control = AccessControl(POLICY, INVENTORY, audit=queue, clock=clock)
    with acting_as(ACCT):
        control.decide("account_verification", "c-1")
        control.protect({"client_id": "c-1"}, "account_verification", "c-1")
    assert len(queue) == 1 and durable.events == []
    with acting_as(SUPER), control.break_glass(reason="x", ttl=dt.timedelta(minutes=1)):
        # The earlier decision was flushed first, then the start entry, synchronously.
        assert [e.action for e in durable.events] == ["read", "break_glass.start"]
    memory_only = AccessControl(POLICY, INVENTORY, audit=fp.access.AuditQueue(), clock=clock)
    with acting_as(SUPER), pytest.raises(fp.ConfigurationError, match="durable"), \
            memory_only.break_glass(reason="x", ttl=dt.timedelta(minutes=1)):
        pass


def test_review_queue_restored_from_the_audit_log(clock: fp.FixedClock) -> None:
    log = fp.AuditLog("memory:", clock=clock)
    control = AccessControl(POLICY, INVENTORY, audit=log, clock=clock)

    @control.requires("fraud_investigation", subject="client_id")
    def investigate(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "card_no": CARD}

    with acting_as(SUPER):
        with control.break_glass(reason="fraud call", ttl=dt.timedelta(minutes=5)) as first:
            investigate("c-1")
            investigate("c-2")
        with control.break_glass(reason="second call", ttl=dt.timedelta(minutes=5)) as second:
            investigate("c-3")
    control.review_break_glass(first.id, reviewer="rita", outcome="unjustified",
                               note="no ticket")
    restored = fp.access.ReviewQueue.restore(log.query(break_glass=True))
    assert [s.id for s in restored.pending()] == [second.id]
    assert restored.session(first.id) == first
    [review] = restored.reviewed()
    assert (review.session_id, review.reviewer, review.outcome, review.note,
            review.accesses) == (first.id, "rita", "unjustified", "no ticket", 2)
    assert restored.accesses(second.id) == 1
    # AuditEvents recorded by any sink restore the same way.
    sink = Sink()
    other = AccessControl(POLICY, INVENTORY, audit=sink, clock=clock)
    with acting_as(SUPER), other.break_glass(reason="x", ttl=dt.timedelta(minutes=1)) as s:
        pass
    assert fp.access.ReviewQueue.restore(sink.events).pending() == (s,)
    log.close()
