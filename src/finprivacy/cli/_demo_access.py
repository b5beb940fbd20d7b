"""Demo chapter: who at Lotus Bookkeeping may see what, for which purpose.

Keeps the access audit log in ``lotus-access-audit.db`` (recreated on each run). The
story: an accountant verifies a client's bank account for ``account_verification``
and sees the card number masked to BIN + last 4 (JR/T 0171-2020: C2 data
de-identified unless the purpose needs it), never the CVV (C3); a marketing intern is
refused; the client's spouse reads the statement under a delegation until it
expires; a supervisor breaks the glass during a fraud call, which is recorded before
any data is shown, raises a monitor alert and waits for a second person's review.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..access import (
    AccessControl,
    Attestation,
    AttestationRequirement,
    MemoryGrantStore,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from ..audit import AuditLog, BreakGlassRule, Monitor
from ..clock import FixedClock
from ..errors import AccessDeniedError
from ..inventory import bookkeeping_inventory

__all__ = ["chapter"]

_CLIENT = {"client_id": "client-1", "name": "林小梅", "id_number": "11010519491231002X",
           "phone": "13800138000", "card_no": "6222020200112233445", "balance": "8,240.00",
           "branch": "Pudong", "cvv": "737"}

POLICY = Policy(
    version="lotus-2025.1",
    purposes=(
        Purpose("account_verification", legal_basis="contract",
                description="verify the client's bank account before the first payment run"),
        Purpose("statement", legal_basis="contract", description="monthly statement"),
        Purpose("fraud_response", legal_basis="emergency", description="stop a fraud"),
        Purpose("marketing", legal_basis="contract", description="tax tips for clients"),
    ),
    roles=(
        Role("accountant"), Role("marketing_intern"),
        Role("supervisor", inherits=frozenset({"accountant"}), break_glass=True),
    ),
    permissions=(
        Permission("accountant", "account_verification", raw=frozenset({"name"}),
                   masked=frozenset({"card_no", "id_number"})),
        Permission("accountant", "statement", raw=frozenset({"name", "financial"})),
        Permission("marketing_intern", "marketing", raw=frozenset({"name"}),
                   hidden=frozenset({"account", "financial", "identity", "contact"})),
    ),
    attestations=(AttestationRequirement("privacy_training", within_months=12),),
)


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Tell the access-control part of the Lotus Bookkeeping story."""
    path = workdir / "lotus-access-audit.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    clock = FixedClock(_dt.datetime(2025, 3, 10, 2, 0, tzinfo=_dt.UTC))
    alerts: list[str] = []
    monitor = Monitor([BreakGlassRule()], on_alert=lambda a: alerts.append(a.rule))
    log = AuditLog(f"sqlite:///{path}", clock=clock, monitors=[monitor])
    try:
        _story(log, clock, alerts, say)
    finally:
        log.close()


def _story(log: AuditLog, clock: FixedClock, alerts: list[str],
           say: Callable[[str], None]) -> None:
    control = AccessControl(POLICY, bookkeeping_inventory(), audit=log, clock=clock,
                            grants=MemoryGrantStore())
    trained = [Attestation("privacy_training", _dt.datetime(2024, 9, 1, tzinfo=_dt.UTC))]
    amy = Principal("amy", roles={"accountant"}, tenant="lotus", attestations=trained)
    ian = Principal("ian", roles={"marketing_intern"}, tenant="lotus", attestations=trained)
    sue = Principal("sue", roles={"supervisor"}, tenant="lotus", attestations=trained)
    spouse = Principal("spouse-of-client-1")

    @control.requires("account_verification", subject="client_id")
    def verify_account(client_id: str) -> dict[str, Any]:
        return dict(_CLIENT)

    @control.requires("statement", subject="client_id")
    def statement(client_id: str) -> dict[str, Any]:
        return dict(_CLIENT)

    @control.requires("marketing", subject="client_id")
    def mailing_row(client_id: str) -> dict[str, Any]:
        return dict(_CLIENT)

    @control.requires("fraud_response", subject="client_id")
    def fraud_view(client_id: str) -> dict[str, Any]:
        return dict(_CLIENT)

    with acting_as(amy):
        row = verify_account("client-1")
    say(f"amy (accountant) verifies client-1's account: card {row['card_no']}, "
        f"ID {row['id_number']}, name {row['name']}; the CVV is "
        f"{'absent' if 'cvv' not in row else 'SHOWN'}.")

    with acting_as(ian):
        try:
            verify_account("client-1")
        except AccessDeniedError as exc:
            say(f"ian (marketing intern) tries to open the same account: refused "
                f"({exc.reason}); for marketing he sees {sorted(mailing_row('client-1'))}.")

    delegations = control.delegations
    if delegations is None:  # pragma: no cover - grants were given above
        raise RuntimeError("delegations need a grant store")
    grant = delegations.grant(
        "client-1", "spouse-of-client-1", scopes={"view"}, fields={"client_id", "financial"},
        valid_until=clock.now() + _dt.timedelta(days=30), relationship="spouse")
    with acting_as(spouse):
        seen = statement("client-1")
        say(f"client-1 lets their spouse view statements for 30 days (grant {grant.id}); "
            f"the spouse sees {sorted(seen)} and nothing else.")
        clock.advance(_dt.timedelta(days=31))
        try:
            statement("client-1")
        except AccessDeniedError as exc:
            say(f"31 days later the spouse is refused ({exc.reason}).")

    with acting_as(sue):
        with control.break_glass(reason="client-1 reports card fraud on the phone",
                                 ttl=_dt.timedelta(minutes=30)) as session:
            full = fraud_view("client-1")
        say(f"sue (supervisor) breaks the glass for a fraud call: card {full['card_no']} "
            f"shown in full, CVV still {'absent' if 'cvv' not in full else 'SHOWN'}; "
            f"monitor alerts: {sorted(set(alerts))}.")
    pending = [s.id for s in control.reviews.pending()]
    review = control.review_break_glass(session.id, reviewer="rita", outcome="justified",
                                        note="bank confirmed the fraud")
    say(f"review queue had {pending}; rita reviews it: {review.outcome} "
        f"({review.accesses} access).")

    entries = log.query(subject="client-1")
    decisions = [(e.actor, e.decision, e.grant_id != "", e.break_glass) for e in entries]
    say(f"the audit log holds {len(entries)} decisions about client-1 "
        f"(actor, decision, via grant, break-glass): {decisions}")
    report = log.verify()
    say(f"audit log verified: {report.size} entries, hash chain intact; no card number "
        f"or CVV is stored in it: {_clean(log.query(), _CLIENT)}.")


def _clean(entries: list[Any], client: dict[str, str]) -> bool:
    # Field names are recorded, values never: no card number, and the CVV never returned.
    text = "".join(repr(e) for e in entries)
    return client["card_no"] not in text and not any(
        "cvv" in e.fields_returned for e in entries)
