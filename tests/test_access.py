"""Principals, the @requires decorator, field masking, deny reasons and audit records."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import pickle
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

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
    current_principal,
    require_principal,
)
from finprivacy.inventory import DataField, DataInventory

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
CARD = "6222020200112233445"
ID_NO = "11010519491231002X"
CVV = "737"


class Sink:
    def __init__(self) -> None:
        self.events: list[fp.AuditEvent] = []

    def record(self, event: fp.AuditEvent) -> object:
        self.events.append(event)
        return len(self.events)


class Ledger:
    def __init__(self) -> None:
        self.given: set[tuple[str, str]] = set()
        self.asked: list[tuple[str, str, dt.datetime | None]] = []

    def check(self, subject: str, purpose: str, at: dt.datetime | None = None) -> bool:
        self.asked.append((subject, purpose, at))
        return (subject, purpose) in self.given


INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1"),
    DataField("name", category="identity", sensitivity="C2"),
    DataField("id_number", category="identity", sensitivity="C2", mask="cn_id"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("balance", category="financial", sensitivity="C2"),
    DataField("branch", category="internal", sensitivity="C1"),
    DataField("cvv", category="authentication", sensitivity="C3"),
    DataField("notes", category="internal", sensitivity="C1"),
])

POLICY = Policy(
    version="test-1",
    purposes=(
        Purpose("account_verification", legal_basis="contract", needs=frozenset({"card_no"})),
        Purpose("marketing"),
        Purpose("bookkeeping", legal_basis="legal_obligation"),
        Purpose("kyc", legal_basis="consent"),
    ),
    roles=(
        Role("accountant"),
        Role("intern"),
        Role("auditor"),
        Role("senior", inherits=frozenset({"accountant"}), break_glass=True),
    ),
    permissions=(
        Permission("accountant", "account_verification", raw=frozenset({"identity"})),
        Permission("accountant", "kyc", raw=frozenset({"identity"})),
        Permission("accountant", "bookkeeping", raw=frozenset({"financial"}),
                   hidden=frozenset({"identity"})),
        Permission("intern", "marketing", hidden=frozenset({"C2"}), tenant="lotus"),
        Permission("auditor", "bookkeeping", raw=frozenset({"*"})),
    ),
    attestations=(AttestationRequirement("privacy_training", within_months=12,
                                         roles=frozenset({"accountant"})),),
)

TRAINED = (Attestation("privacy_training", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),)
ALICE = Principal("alice", roles={"accountant"}, tenant="lotus", attestations=TRAINED)
IVAN = Principal("ivan", roles={"intern"}, tenant="lotus")


def masker(value: str, kind: str | None) -> str:
    if kind == "bank_card":
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    return "*" * 4


@pytest.fixture
def clock() -> fp.FixedClock:
    return fp.FixedClock(NOW)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def control(clock: fp.FixedClock, sink: Sink) -> AccessControl:
    return AccessControl(POLICY, INVENTORY, audit=sink, clock=clock, masker=masker)


@pytest.fixture
def installed(control: AccessControl) -> Iterator[AccessControl]:
    previous = fp.set_access_control(control)
    try:
        yield control
    finally:
        fp.set_access_control(previous)


def record(client_id: str = "c-1") -> dict[str, Any]:
    return {"client_id": client_id, "name": "张三", "id_number": ID_NO, "card_no": CARD,
            "balance": 1200, "branch": "Pudong", "cvv": CVV}


# -- principals ------------------------------------------------------------------------------

def test_acting_as_restores_previous_principal() -> None:
    assert current_principal() is None
    with acting_as(ALICE) as p:
        assert p is ALICE
        with acting_as(IVAN):
            assert current_principal() is IVAN
        assert current_principal() is ALICE
    assert current_principal() is None


def test_acting_as_restores_on_exception() -> None:
    with pytest.raises(RuntimeError), acting_as(ALICE):
        raise RuntimeError("boom")
    assert current_principal() is None


def test_acting_as_as_decorator_sync_and_async() -> None:
    @acting_as(ALICE)
    def who() -> str:
        return require_principal().id

    @acting_as(IVAN)
    async def awho() -> str:
        await asyncio.sleep(0)
        return require_principal().id

    assert who() == "alice"
    assert asyncio.run(awho()) == "ivan"
    assert current_principal() is None


def test_one_acting_as_object_shared_by_threads_and_tasks() -> None:
    shared = acting_as(ALICE)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with shared:
                barrier.wait()
                assert require_principal() is ALICE
            assert current_principal() is None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    async def task(i: int) -> None:
        with shared:
            await asyncio.sleep(0.001 * (3 - i))
            assert require_principal() is ALICE
        assert current_principal() is None

    async def main() -> None:
        await asyncio.gather(*(task(i) for i in range(4)))

    asyncio.run(main())


def test_principal_pickles_without_losing_attributes() -> None:
    p = Principal("bob", roles={"a"}, tenant="t", attributes={"desk": "3"},
                  attestations=TRAINED)
    assert pickle.loads(pickle.dumps(p)) == p


def test_no_principal_fails_closed() -> None:
    with pytest.raises(fp.AccessDeniedError) as info:
        require_principal()
    assert info.value.reason == "no_principal"
    assert isinstance(info.value, PermissionError)


def test_principal_normalises_and_validates() -> None:
    p = Principal("bob", roles=["a", "b", "a"], attributes={"desk": "3"})
    assert p.roles == frozenset({"a", "b"})
    with pytest.raises(TypeError):
        p.attributes["desk"] = "4"  # type: ignore[index]
    assert hash(p) == hash(Principal("bob", roles={"a", "b"}))
    with pytest.raises(fp.ConfigurationError):
        Principal("")
    with pytest.raises(fp.ConfigurationError):
        Principal("x", roles="admin")
    with pytest.raises(fp.InvalidTimeError):
        Attestation("privacy_training", dt.datetime(2026, 1, 1))  # naive
    with pytest.raises(fp.ConfigurationError):
        acting_as("alice")  # type: ignore[arg-type]


def test_isolation_across_50_asyncio_tasks() -> None:
    async def worker(i: int) -> tuple[str, str]:
        p = Principal(f"user-{i}", roles={"accountant"})
        with acting_as(p):
            for _ in range(5):
                await asyncio.sleep(0)
                seen = require_principal().id
                if seen != p.id:
                    return p.id, seen
        return p.id, p.id

    async def main() -> list[tuple[str, str]]:
        with acting_as(Principal("outer")):
            results = await asyncio.gather(*(worker(i) for i in range(50)))
            assert require_principal().id == "outer"
            return results

    results = asyncio.run(main())
    assert len(results) == 50
    assert all(a == b for a, b in results)


def test_isolation_across_threads() -> None:
    barrier = threading.Barrier(8)
    seen: dict[int, list[str | None]] = {}

    def worker(i: int) -> None:
        out: list[str | None] = [None if current_principal() is None else "leak"]
        with acting_as(Principal(f"t-{i}")):
            barrier.wait()
            for _ in range(200):
                p = current_principal()
                out.append(p.id if p else None)
        out.append(None if current_principal() is None else "leak")
        seen[i] = out

    with acting_as(ALICE):
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert require_principal() is ALICE
    for i, out in seen.items():
        assert out[0] is None and out[-1] is None  # a new thread starts with nobody bound
        assert set(out[1:-1]) == {f"t-{i}"}


def test_async_decorated_calls_isolated(control: AccessControl, sink: Sink) -> None:
    @control.requires("account_verification", subject="client_id")
    async def load(client_id: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return record(client_id)

    async def one(i: int) -> dict[str, Any]:
        who = ALICE if i % 2 == 0 else IVAN
        with acting_as(who):
            try:
                return await load(f"c-{i}")
            except fp.AccessDeniedError as exc:
                return {"denied": exc.reason}

    async def main() -> list[dict[str, Any]]:
        return await asyncio.gather(*(one(i) for i in range(50)))

    results = asyncio.run(main())
    for i, r in enumerate(results):
        if i % 2 == 0:
            assert r["client_id"] == f"c-{i}" and r["card_no"].endswith("3445")
        else:
            assert r == {"denied": "purpose_not_allowed"}
    actors = {(e.actor, e.subject, e.decision) for e in sink.events}
    assert ("alice", "c-0", "masked") in actors and ("ivan", "c-1", "denied") in actors
    assert len(sink.events) == 50


# -- the decorator --------------------------------------------------------------------------

def test_requires_masks_per_plan_and_records(control: AccessControl, sink: Sink) -> None:
    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        return record(client_id)

    with acting_as(ALICE):
        out = load("c-42")
    assert out["client_id"] == "c-42"           # C1 raw
    assert out["name"] == "张三"                 # identity raw for this purpose
    assert out["card_no"] == "622202*********3445"  # C2 masked with its kind
    assert out["balance"] == "****"
    assert "cvv" not in out                      # C3 never shown
    [event] = sink.events
    assert event.decision == "masked"
    assert (event.actor, event.subject, event.purpose) == ("alice", "c-42",
                                                           "account_verification")
    assert set(event.fields_returned) == {"client_id", "name", "id_number", "branch"}
    assert set(event.fields_masked) == {"card_no", "balance", "cvv"}
    assert event.details["fields_hidden"] == "cvv"
    assert event.policy_version == "test-1"
    assert event.time == NOW
    assert not event.break_glass


def test_allowed_decision_when_nothing_masked(control: AccessControl, sink: Sink) -> None:
    auditor = Principal("audrey", roles={"auditor"})

    @control.requires("bookkeeping", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "balance": 5}

    with acting_as(auditor):
        assert load("c-1") == {"client_id": "c-1", "balance": 5}
    assert sink.events[-1].decision == "allowed"
    assert sink.events[-1].fields_masked == ()


class Account(pydantic.BaseModel):
    card_no: str
    balance: int
    branch: str


class Client(pydantic.BaseModel):
    client_id: str
    name: str
    cvv: str | None
    accounts: list[Account]
    primary: Account


@dataclasses.dataclass(frozen=True)
class ClientDC:
    client_id: str
    id_number: str
    card_no: str
    extra: dict[str, Any]


def test_nested_pydantic_models_masked(control: AccessControl, sink: Sink) -> None:
    acct = Account(card_no=CARD, balance=9, branch="Pudong")

    @control.requires("account_verification", subject="client.client_id")
    def reload(client: Client) -> Client:
        return client

    original = Client(client_id="c-7", name="李四", cvv=CVV, accounts=[acct, acct], primary=acct)
    with acting_as(ALICE):
        out = reload(original)
    assert isinstance(out, Client)
    assert out.cvv is None
    assert out.accounts[0].card_no == "622202*********3445"
    assert out.accounts[1].balance is None  # a masked int cannot hold "****"
    assert out.primary.branch == "Pudong"
    assert original.primary.card_no == CARD  # the input is never modified
    event = sink.events[-1]
    assert event.subject == "c-7"
    assert "accounts.card_no" in event.fields_masked
    assert "primary.branch" in event.fields_returned
    assert CARD not in repr(out) and CVV not in out.model_dump_json()


def test_dataclasses_and_nested_dicts(control: AccessControl) -> None:
    @control.requires("bookkeeping", subject="client_id")
    def load(client_id: str) -> list[ClientDC]:
        return [ClientDC(client_id, ID_NO, CARD, {"cvv": CVV, "balance": 3,
                                                  "notes": ["n1", "n2"]})]

    with acting_as(ALICE):
        [out] = load("c-3")
    assert out.id_number is None  # identity hidden for bookkeeping: dataclass field -> None
    assert out.card_no == "622202*********3445"
    assert out.extra == {"balance": 3, "notes": ["n1", "n2"]}  # cvv dropped from the dict


def test_bare_scalar_result_uses_returns(control: AccessControl, sink: Sink) -> None:
    @control.requires("account_verification", subject="client_id", returns="card_no")
    def card_of(client_id: str) -> str:
        return CARD

    @control.requires("account_verification", subject="client_id", returns="cvv")
    def cvv_of(client_id: str) -> str:
        return CVV

    with acting_as(ALICE):
        assert card_of("c-1") == "622202*********3445"
        assert cvv_of("c-1") is None
    assert sink.events[-1].fields_masked == ("cvv",)


def test_unknown_fields_fail_closed(control: AccessControl) -> None:
    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "spouse_phone": "13800138000"}

    with acting_as(ALICE):
        assert load("c-1") == {"client_id": "c-1", "spouse_phone": "****"}


def test_secret_values_masked_and_never_leak(control: AccessControl) -> None:
    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "card_no": fp.Secret(CARD)}

    with acting_as(ALICE):
        masked = load("c-1")["card_no"]
    assert isinstance(masked, fp.Secret)  # a masked Secret stays a Secret
    assert masked.reveal() == "622202*********3445"


# -- every deny path ------------------------------------------------------------------------

def _denied(fn: Any, *args: Any) -> fp.AccessDeniedError:
    with pytest.raises(fp.AccessDeniedError) as info:
        fn(*args)
    return info.value


def test_deny_paths_each_with_reason(clock: fp.FixedClock, sink: Sink) -> None:
    ledger = Ledger()
    control = AccessControl(POLICY, INVENTORY, audit=sink, clock=clock, consent=ledger,
                            masker=masker)
    calls: list[str] = []

    def guarded(purpose: str) -> Any:
        @control.requires(purpose, subject="client_id")
        def load(client_id: str | None) -> dict[str, Any]:
            calls.append(purpose)
            return record(client_id or "")
        return load

    assert _denied(guarded("kyc"), "c-1").reason == "no_principal"
    with acting_as(IVAN):
        assert _denied(guarded("account_verification"), "c-1").reason == "purpose_not_allowed"
    with acting_as(Principal("x", roles={"intern"}, tenant="other-firm")):
        assert _denied(guarded("marketing"), "c-1").reason == "purpose_not_allowed"
    with acting_as(ALICE):
        assert _denied(guarded("kyc"), None).reason == "subject_unknown"
        assert _denied(guarded("kyc"), "c-1").reason == "consent_missing"
        ledger.given.add(("c-1", "kyc"))
        assert guarded("kyc")("c-1")["client_id"] == "c-1"
    with acting_as(Principal("bob", roles={"accountant"})):
        assert _denied(guarded("kyc"), "c-1").reason == "attestation_missing"
    clock.set(dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    with acting_as(ALICE):
        assert _denied(guarded("kyc"), "c-1").reason == "attestation_expired"
    clock.set(dt.datetime(2027, 2, 28, 23, 59, tzinfo=dt.UTC))
    with acting_as(ALICE):  # 12 calendar months after 2026-03-01 is still current
        assert guarded("kyc")("c-1")["client_id"] == "c-1"
    assert calls == ["kyc", "kyc"]  # denied calls never ran the function
    denied = [e for e in sink.events if e.decision == "denied"]
    assert [e.reason for e in denied] == [
        "no_principal", "purpose_not_allowed", "purpose_not_allowed", "subject_unknown",
        "consent_missing", "attestation_missing", "attestation_expired"]
    assert ledger.asked[0][2] == NOW  # consent asked at the injected clock's time


def test_unknown_purpose_and_unconfigured(control: AccessControl) -> None:
    with pytest.raises(fp.ConfigurationError, match="not in the policy"):
        control.requires("spying")
    d = control.decide("spying", "c-1", principal=ALICE)
    assert (d.allowed, d.reason) == (False, "unknown_purpose")

    @fp.requires("account_verification", subject="client_id")
    def load(client_id: str) -> str:
        return client_id

    previous = fp.set_access_control(None)
    try:
        with acting_as(ALICE), pytest.raises(fp.ConfigurationError, match="configure_access"):
            load("c-1")
    finally:
        fp.set_access_control(previous)


def test_attestation_with_own_expiry(control: AccessControl) -> None:
    p = Principal("carol", roles={"accountant"}, attestations=(Attestation(
        "privacy_training", dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        expires=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),))
    assert control.decide("account_verification", "c-1", principal=p).reason == (
        "attestation_expired")
    future = Principal("dan", roles={"accountant"}, attestations=(Attestation(
        "privacy_training", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),))
    assert control.decide("account_verification", "c-1", principal=future).reason == (
        "attestation_missing")


def test_attestation_not_needed_when_only_c1_shown(clock: fp.FixedClock) -> None:
    policy = Policy(version="p", purposes=(Purpose("ops", legal_basis="contract"),),
                    roles=(Role("clerk"),),
                    permissions=(Permission("clerk", "ops", hidden=frozenset({"C2"})),),
                    attestations=(AttestationRequirement("privacy_training", within_days=30),))
    control = AccessControl(policy, INVENTORY, clock=clock)
    d = control.decide("ops", "c-1", principal=Principal("z", roles={"clerk"}))
    assert d.allowed
    assert d.treatment("card_no") == "hidden"
    assert d.treatment("branch") == "raw"


def test_function_errors_are_recorded_and_propagate(control: AccessControl, sink: Sink) -> None:
    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        raise LookupError("no such client")

    with acting_as(ALICE), pytest.raises(LookupError):
        load("c-1")
    assert sink.events[-1].details["error"] == "LookupError"
    assert sink.events[-1].fields_returned == ()


def test_audit_failure_fails_closed(clock: fp.FixedClock) -> None:
    class Broken:
        def record(self, event: fp.AuditEvent) -> object:
            raise fp.StoreError("audit store down")

    control = AccessControl(POLICY, INVENTORY, audit=Broken(), clock=clock)

    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        return record(client_id)

    with acting_as(ALICE), pytest.raises(fp.StoreError):
        load("c-1")


# -- subject extraction ------------------------------------------------------------------------

def test_subject_specs(control: AccessControl) -> None:
    @dataclasses.dataclass
    class Req:
        client: dict[str, str]

    @control.requires("account_verification", subject="req.client.id")
    def by_path(req: Req) -> dict[str, Any]:
        return {"client_id": req.client["id"]}

    @control.requires("account_verification", subject=lambda a: a["ids"][0])
    def by_callable(ids: list[str], limit: int = 3) -> dict[str, Any]:
        return {"client_id": ids[0]}

    @control.requires("account_verification", subject="client_id")
    def by_keyword(*, client_id: int) -> dict[str, Any]:
        return {"client_id": client_id}

    class Service:
        @control.requires("account_verification", subject="client_id")
        def load(self, client_id: str) -> dict[str, Any]:
            return {"client_id": client_id}

    with acting_as(ALICE):
        assert by_path(Req({"id": "c-9"})) == {"client_id": "c-9"}
        assert by_callable(["c-8"]) == {"client_id": "c-8"}
        assert by_keyword(client_id=77) == {"client_id": 77}
        assert Service().load("c-6") == {"client_id": "c-6"}
        assert _denied(by_path, Req({})).reason == "subject_unknown"
    assert by_path.__name__ == "by_path"


def test_bad_decorator_use_rejected(control: AccessControl) -> None:
    with pytest.raises(fp.ConfigurationError, match="not a parameter"):
        @control.requires("account_verification", subject="client")
        def f(client_id: str) -> None: ...
    with pytest.raises(fp.ConfigurationError, match="generator"):
        @control.requires("account_verification")
        def g() -> Iterator[int]:
            yield 1
    with pytest.raises(fp.ConfigurationError, match="scope"):
        control.requires("account_verification", scope="destroy")  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError):
        fp.requires("")


def test_fp_requires_reads_default_at_call_time(installed: AccessControl, sink: Sink) -> None:
    @fp.requires(purpose="account_verification", subject="client_id")
    async def load(client_id: str) -> dict[str, Any]:
        return record(client_id)

    async def main() -> dict[str, Any]:
        with fp.acting_as(ALICE):
            return await load("c-5")

    out = asyncio.run(main())
    assert out["card_no"] == "622202*********3445"
    assert sink.events[-1].subject == "c-5"


def test_protect_value_in_hand(control: AccessControl) -> None:
    with acting_as(ALICE):
        assert control.protect(record(), "account_verification", "c-1")["name"] == "张三"
    with acting_as(IVAN), pytest.raises(fp.AccessDeniedError):
        control.protect(record(), "account_verification", "c-1")


# -- no plaintext anywhere ----------------------------------------------------------------------

def test_no_plaintext_in_errors_events_logs_or_reprs(control: AccessControl, sink: Sink,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    @control.requires("account_verification", subject="client_id")
    def load(client_id: str, card: str) -> dict[str, Any]:
        return {"client_id": client_id, "card_no": card, "cvv": CVV}

    with acting_as(IVAN), pytest.raises(fp.AccessDeniedError) as info:
        load("c-1", CARD)
    with acting_as(ALICE):
        out = load("c-1", CARD)
    texts = [str(info.value), repr(info.value), repr(out), repr(control),
             caplog.text, *map(repr, sink.events)]
    for text in texts:
        for secret in (CARD, CVV, "0200112233"):
            assert secret not in text
    decision = control.decide("account_verification", "c-1", principal=ALICE)
    assert CARD not in repr(decision)
    assert pickle.loads(pickle.dumps(sink.events[-1])) == sink.events[-1]


# -- the audit queue ----------------------------------------------------------------------------

def test_audit_queue_defers_and_flushes_in_order(clock: fp.FixedClock) -> None:
    durable = Sink()
    queue = fp.access.AuditQueue(durable)
    control = AccessControl(POLICY, INVENTORY, audit=queue, clock=clock, masker=masker)

    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> dict[str, Any]:
        return record(client_id)

    with acting_as(ALICE):
        load("c-1")
        clock.advance(dt.timedelta(seconds=1))
        load("c-2")
    with acting_as(IVAN), pytest.raises(fp.AccessDeniedError):
        load("c-3")
    assert len(queue) == 3 and durable.events == []
    assert queue.flush() == 3
    assert [(e.subject, e.decision) for e in durable.events] == [
        ("c-1", "masked"), ("c-2", "masked"), ("c-3", "denied")]
    assert durable.events[1].time == NOW + dt.timedelta(seconds=1)  # decision time kept
    assert set(durable.events[0].fields_masked) == {"card_no", "balance", "cvv"}
    assert len(queue) == 0 and "0 waiting" in repr(queue)


def test_audit_queue_keeps_events_when_the_sink_fails() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.events: list[fp.AuditEvent] = []
            self.fail = True

        def record(self, event: fp.AuditEvent) -> object:
            if self.fail and len(self.events) == 1:
                raise fp.StoreError("down")
            self.events.append(event)
            return None

    flaky = Flaky()
    queue = fp.access.AuditQueue(flaky)
    for i in range(3):
        queue.record(fp.AuditEvent(action="read", subject=f"c-{i}"))
    with pytest.raises(fp.StoreError):
        queue.flush()
    assert len(queue) == 2
    flaky.fail = False
    assert queue.flush() == 2
    assert [e.subject for e in flaky.events] == ["c-0", "c-1", "c-2"]


def test_audit_queue_auto_flush_and_validation() -> None:
    durable = Sink()
    queue = fp.access.AuditQueue(durable, flush_every=2)
    queue.record(fp.AuditEvent(action="a"))
    assert durable.events == []
    queue.record(fp.AuditEvent(action="b"))
    assert [e.action for e in durable.events] == ["a", "b"]
    assert fp.access.AuditQueue().drain() == []
    with pytest.raises(fp.ConfigurationError):
        fp.access.AuditQueue(flush_every=3)
    with pytest.raises(fp.ConfigurationError):
        fp.access.AuditQueue().flush()


def test_flat_rows_with_changing_keys(control: AccessControl) -> None:
    @control.requires("account_verification", subject="client_id")
    def load(client_id: str, extra: bool) -> dict[str, Any]:
        row = {"client_id": client_id, "card_no": CARD}
        if extra:
            row["cvv"] = CVV
            row["nested"] = {"cvv": CVV}  # type: ignore[assignment]
        return row

    with acting_as(ALICE):
        for extra in (False, True, False, True):
            out = load("c-1", extra)
            assert out["card_no"] == "622202*********3445"
            assert "cvv" not in out
            if extra:
                assert out["nested"] == {}


class Loose(pydantic.BaseModel, extra="allow"):
    client_id: str


class Pair(NamedTuple):
    client_id: str
    card_no: str


def test_model_extras_and_namedtuples_are_shaped(control: AccessControl) -> None:
    @control.requires("account_verification", subject="client_id")
    def load(client_id: str) -> tuple[Loose, Pair]:
        extra: dict[str, Any] = {"card_no": CARD, "cvv": CVV}
        return Loose(client_id=client_id, **extra), Pair(client_id, CARD)

    with acting_as(ALICE):
        loose, pair = load("c-1")
    assert loose.model_dump() == {"client_id": "c-1", "card_no": "622202*********3445",
                                  "cvv": None}
    assert type(pair) is Pair
    assert pair.card_no == "622202*********3445"


def test_cached_role_decisions_still_expire_and_yield_to_break_glass(
        control: AccessControl, clock: fp.FixedClock, sink: Sink) -> None:
    senior = Principal("sam", roles={"senior"}, attestations=TRAINED)
    for _ in range(3):  # warm every cache
        assert control.decide("account_verification", "c-1", principal=senior).basis == "role"
    with acting_as(senior), control.break_glass(reason="x", ttl=dt.timedelta(minutes=5)):
        d = control.decide("account_verification", "c-1")
        assert (d.basis, d.treatment("card_no")) == ("break_glass", "raw")
    assert control.decide("account_verification", "c-1", principal=senior).basis == "role"
    clock.set(dt.datetime(2027, 3, 1, tzinfo=dt.UTC))  # training now older than 12 months
    d = control.decide("account_verification", "c-1", principal=senior)
    assert (d.allowed, d.reason) == (False, "attestation_expired")
    clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))  # before the training happened
    d = control.decide("account_verification", "c-1", principal=senior)
    assert (d.allowed, d.reason) == (False, "attestation_missing")
