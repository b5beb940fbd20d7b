"""The access-control and inventory API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pydantic

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    AccessDecision,
    AuditQueue,
    BreakGlassReview,
    BreakGlassSession,
    CasbinImport,
    ConsentChecker,
    DelegationGrant,
    Delegations,
    DenyReason,
    FieldTreatment,
    GrantStore,
    Masker,
    ReviewQueue,
    Scope,
    import_casbin_csv,
)
from finprivacy.inventory import CATEGORIES, bookkeeping_inventory


class Account(pydantic.BaseModel):
    card_no: str
    balance: int | None


@dataclasses.dataclass(frozen=True)
class Client:
    client_id: str
    name: str


def build(sink: fp.AuditSink, ledger: ConsentChecker, clock: fp.Clock) -> AccessControl:
    inventory: fp.DataInventory = fp.DataInventory([
        fp.DataField("card_no", category="account", sensitivity="C2", mask="bank_card",
                     purposes={"account_verification"}, retention="bank_statements_10y"),
        fp.DataField("pin", category="authentication", sensitivity="C3"),
    ], version="inv-1")
    also: fp.DataInventory = fp.load_inventory("inventory.toml")
    preset: fp.DataInventory = bookkeeping_inventory()
    level: str = preset.classify("client.card_no").sensitivity
    described: str = CATEGORIES["account"]
    policy: fp.Policy = fp.Policy(
        version="2026-11",
        purposes=(fp.Purpose("account_verification", legal_basis="contract",
                             needs={"card_no"}),),
        roles=(fp.Role("accountant"), fp.Role("supervisor", inherits={"accountant"},
                                              break_glass=True)),
        permissions=(fp.Permission("accountant", "account_verification", raw={"name"},
                                   hidden={"financial"}, tenant="lotus"),),
        attestations=(fp.AttestationRequirement("privacy_training", within_months=12),),
        break_glass_max_ttl=dt.timedelta(hours=1),
    )
    loaded: fp.Policy = fp.load_policy("policy.toml")
    casbin: CasbinImport = import_casbin_csv("policy.csv")
    inline: CasbinImport = import_casbin_csv(text="p, accountant, lotus, *, bookkeeping\n")
    del inline
    p: fp.Principal = casbin.principal("alice", "lotus")
    masker: Masker = lambda value, kind: "****"  # noqa: E731
    queue = AuditQueue(sink, flush_every=100)
    control = AccessControl(policy, inventory, consent=ledger, audit=queue,
                            grants=fp.MemoryGrantStore(), masker=masker, clock=clock,
                            break_glass_audit=sink, reviews=ReviewQueue())
    installed: AccessControl = fp.configure_access(
        loaded, also, audit=sink, reviews=ReviewQueue.restore(fp.AuditLog().query()))
    previous: AccessControl | None = fp.set_access_control(control)
    del level, described, p, installed, previous
    return control


@fp.requires(purpose="account_verification", subject="client_id")
def load_account(client_id: str) -> Account:
    return Account(card_no="…", balance=1)


@fp.requires(purpose="account_verification", subject="client.client_id", scope="view")
async def load_client(client: Client, *, verbose: bool = False) -> Client:
    return client


def extract(arguments: Mapping[str, Any]) -> object:
    return arguments["ids"][0]


@fp.requires(purpose="account_verification", subject=extract, returns="card_no")
def card_of(ids: list[str]) -> str:
    return "…"


async def usage(control: AccessControl, alice: fp.Principal) -> None:
    with fp.acting_as(alice) as bound:
        account: Account = load_account("client-42")
        client: Client = await load_client(Client("client-42", "林"))
        card: str = card_of(["client-42"])
        me: fp.Principal | None = fp.current_principal()
        del account, client, card, bound, me

    @fp.acting_as(alice)
    def job(n: int) -> str:
        return str(n)

    text: str = job(3)
    decision: AccessDecision = control.decide("account_verification", "client-42",
                                              principal=alice)
    shown: FieldTreatment = decision.treatment("card_no")
    try:
        control.protect({"card_no": "…"}, "account_verification", "client-42")
    except fp.AccessDeniedError as exc:
        why: str = exc.reason
        del why
    reason: DenyReason = "consent_missing"
    small: dict[str, str] = fp.minimize({"card_no": "…", "hobby": "golf"},
                                        "account_verification")
    kept: Client = control.minimize(Client("c", "n"), "account_verification")
    with fp.acting_as(alice), fp.break_glass(reason="fraud call",
                                              ttl=dt.timedelta(minutes=30)) as session:
        s: BreakGlassSession = session
    review: BreakGlassReview = control.review_break_glass(s.id, reviewer="rita",
                                                          outcome="justified")
    pending: tuple[BreakGlassSession, ...] = control.reviews.pending()
    delegations: Delegations | None = control.delegations
    if delegations is not None:
        scopes: set[Scope] = {"view", "export"}
        grant: DelegationGrant = delegations.grant(
            "client-42", "spouse-1", scopes=scopes, fields={"statement"},
            valid_until=dt.datetime(2027, 1, 1, tzinfo=dt.UTC), relationship="spouse")
        revoked: DelegationGrant = delegations.revoke(grant.id)
        store: GrantStore = delegations.store
        del revoked, store
    del text, shown, reason, small, kept, review, pending
