"""Access control: decorator overhead, decision cost vs policy size, and pycasbin.

Figures (each printed as a ratio to a baseline measured in the same run):

* ``@requires`` overhead — check + mask 8 fields + enqueue the audit record on an
  :class:`~finprivacy.access.AuditQueue` — over the plain call, sync and async
  (target ≤ 3 µs over the plain call; also shown with ``finprivacy.masking.mask``
  doing the masking, whose own cost is the masking module's);
* decision time with 10 vs 100,000 permissions and 10 vs 100,000 delegation grants
  (target: flat, ratio ≈ 1);
* the same role-with-domains decision in pycasbin's ``FastEnforcer`` (``bench``
  extra; skipped with a note when casbin is not installed), target ≥ 40× slower.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any, TypeVar

from benchmarks._harness import heading, report
from finprivacy.access import (
    AccessControl,
    Attestation,
    AttestationRequirement,
    AuditQueue,
    DelegationGrant,
    MemoryGrantStore,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from finprivacy.clock import FixedClock
from finprivacy.inventory import DataField, DataInventory

K = TypeVar("K")

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)

INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1"),
    DataField("name", category="identity", sensitivity="C2", mask="name"),
    DataField("id_number", category="identity", sensitivity="C2", mask="cn_id"),
    DataField("phone", category="contact", sensitivity="C2", mask="cn_phone"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("balance", category="financial", sensitivity="C2"),
    DataField("branch", category="internal", sensitivity="C1"),
    DataField("cvv", category="authentication", sensitivity="C3"),
])
ROW = {"client_id": "c-1", "name": "张三", "id_number": "11010519491231002X",
       "phone": "13800138000", "card_no": "6222020200112233445", "balance": 1200,
       "branch": "Pudong", "cvv": "737"}
POLICY = Policy(
    version="bench",
    purposes=(Purpose("account_verification", legal_basis="contract"),),
    roles=(Role("accountant"),),
    permissions=(Permission("accountant", "account_verification", raw={"identity"}),),
    attestations=(AttestationRequirement("privacy_training", within_months=12),),
)
ALICE = Principal("alice", roles={"accountant"}, tenant="lotus", attestations=[
    Attestation("privacy_training", NOW - dt.timedelta(days=30))])
TARGET_OVERHEAD_US = 3.0


def interleaved(fns: dict[K, Any], number: int, rounds: int = 40) -> dict[K, float]:
    """Best seconds per call of each function, measured in alternating short rounds.

    On a shared machine the load changes from one second to the next; alternating the
    candidates and keeping each one's best round compares them under the same load.
    Times are CPU time of this thread (``time.thread_time``), so time spent waiting
    for a core while other processes run is not counted.
    """
    best = dict.fromkeys(fns, float("inf"))
    per_round = max(number // rounds, 50)
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.thread_time()
            for _ in range(per_round):
                fn()
            best[name] = min(best[name], (time.thread_time() - start) / per_round)
    return best


def _cheap_mask(value: str, kind: str | None) -> str:
    return "****"


def _noop(i: int) -> int:
    return i


def _hundred_calls() -> None:
    for i in range(100):
        _noop(i)


def _overhead_line(name: str, guarded: float, plain: float, calibration: float) -> None:
    over = (guarded - plain) * 1e6
    verdict = "ok" if over <= TARGET_OVERHEAD_US else "MISSED"
    print(f"{name:<58} {over:10.2f} µs over the plain call "
          f"(target ≤ {TARGET_OVERHEAD_US} µs: {verdict}; "
          f"= {over / calibration:.0f} empty Python calls)")


async def _async_figures(masker: Any, number: int) -> tuple[float, float]:
    """Best CPU seconds per call of a plain and a guarded ``async def``, interleaved."""
    queue = AuditQueue()
    control = AccessControl(POLICY, INVENTORY, audit=queue, masker=masker,
                            clock=FixedClock(NOW))

    async def aplain(client_id: str) -> dict[str, Any]:
        return ROW

    aguarded = control.requires("account_verification", subject="client_id")(aplain)
    best = {"plain": float("inf"), "guarded": float("inf")}
    per_round = max(number // 40, 50)
    with acting_as(ALICE):
        await aguarded("c-1")
        for _ in range(40):
            for name, fn in (("plain", aplain), ("guarded", aguarded)):
                start = time.thread_time()
                for _ in range(per_round):
                    await fn("c-1")
                best[name] = min(best[name], (time.thread_time() - start) / per_round)
            queue.drain()
    return best["plain"], best["guarded"]


def bench_decorator(quick: bool) -> None:
    heading("@requires overhead: check + mask 8 fields + enqueue audit record")
    number = 2000 if quick else 20000
    # Machine speed in this run: the cost of one empty Python function call.
    calibration = interleaved({"c": _hundred_calls}, max(number // 20, 200))["c"] / 100 * 1e6
    for label, masker in (("cheap masker", _cheap_mask), ("finprivacy.masking.mask", None)):
        queue = AuditQueue()
        control = AccessControl(POLICY, INVENTORY, audit=queue, masker=masker,
                                clock=FixedClock(NOW))

        def plain(client_id: str) -> dict[str, Any]:
            return ROW

        guarded = control.requires("account_verification", subject="client_id")(plain)
        with acting_as(ALICE):
            guarded("c-1")
            best = interleaved({"plain": lambda: plain("c-1"),
                                "guarded": lambda g=guarded, q=queue: (
                                    g("c-1"), len(q) > 10_000 and q.drain()),
                                "calibration": _hundred_calls}, number)
        base, t = best["plain"], best["guarded"]
        calibration = min(calibration, best["calibration"] / 100 * 1e6)
        queue.drain()
        report(f"sync plain call ({label})", base)
        report(f"sync guarded call ({label})", t, base, baseline_name="plain")
        _overhead_line(f"  sync overhead ({label})", t, base, calibration)

    for label, masker in (("cheap masker", _cheap_mask), ("finprivacy.masking.mask", None)):
        abase, at = asyncio.run(_async_figures(masker, number))
        report(f"async plain call ({label})", abase)
        report(f"async guarded call ({label})", at, abase, baseline_name="plain")
        _overhead_line(f"  async overhead ({label})", at, abase, calibration)
    print(f"{'calibration: one empty Python function call':<58} {calibration:10.3f} µs "
          "(best in this run)")


def _policy_with(n: int) -> Policy:
    purposes = max(1, min(100, n // 10))
    roles = max(1, n // purposes)
    return Policy(
        version=f"p{n}",
        purposes=tuple(Purpose(f"purpose{j}", legal_basis="contract") for j in range(purposes)),
        roles=tuple(Role(f"role{i}") for i in range(roles)),
        permissions=tuple(Permission(f"role{i}", f"purpose{j}", tenant="lotus")
                          for i in range(roles) for j in range(purposes)),
    )


def bench_scaling(quick: bool) -> None:
    big = 10_000 if quick else 100_000
    heading(f"decision time: 10 vs {big:,} permissions and delegation grants")
    number = 2000 if quick else 20000
    calls: dict[int, Any] = {}
    for n in (10, big):
        policy = _policy_with(n)
        control = AccessControl(policy, INVENTORY, clock=FixedClock(NOW))
        last_role = policy.roles[-1].name
        last_purpose = policy.purposes[-1].name
        p = Principal("u", roles={last_role}, tenant="lotus")
        assert control.decide(last_purpose, "c-1", principal=p).allowed
        calls[n] = (lambda c=control, pp=p, pu=last_purpose:
                    c.decide(pu, "c-1", principal=pp))
    times = interleaved(calls, number)
    report("decide, 10 permissions", times[10])
    report(f"decide, {big:,} permissions", times[big], times[10],
           baseline_name="10 permissions", target=1.5)

    gcalls: dict[int, Any] = {}
    for n in (10, big):
        grants = MemoryGrantStore(
            DelegationGrant(f"g{i}", f"client{i}", f"delegate{i}", scopes={"view"},
                            valid_from=NOW - dt.timedelta(days=1)) for i in range(n))
        control = AccessControl(POLICY, INVENTORY, clock=FixedClock(NOW), grants=grants)
        p = Principal(f"delegate{n - 1}")
        assert control.decide("account_verification", f"client{n - 1}", principal=p).allowed
        gcalls[n] = (lambda c=control, pp=p, s=f"client{n - 1}":
                     c.decide("account_verification", s, principal=pp))
    gtimes = interleaved(gcalls, number)
    report("decide via delegation, 10 grants", gtimes[10])
    report(f"decide via delegation, {big:,} grants", gtimes[big], gtimes[10],
           baseline_name="10 grants", target=1.5)


CASBIN_MODEL = """
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
"""


def bench_casbin(quick: bool) -> None:
    heading("vs pycasbin FastEnforcer: RBAC with domains, 1,000 policy lines")
    try:
        import casbin
    except ImportError:
        print("casbin is not installed (pip install 'finprivacy[bench]'): skipped")
        return
    import os
    import tempfile

    roles, purposes, users = 100, 10, 200
    lines = [f"p, role{i}, lotus, client_data, purpose{j}"
             for i in range(roles) for j in range(purposes)]
    lines += [f"g, user{u}, role{u % roles}, lotus" for u in range(users)]
    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "model.conf")
        policy_path = os.path.join(tmp, "policy.csv")
        with open(model_path, "w", encoding="utf-8") as f:
            f.write(CASBIN_MODEL)
        with open(policy_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        enforcer = casbin.FastEnforcer(model_path, policy_path, cache_key_order=[1, 2, 3])
    ours = AccessControl(Policy(
        version="casbin-equivalent",
        purposes=tuple(Purpose(f"purpose{j}", legal_basis="contract") for j in range(purposes)),
        roles=tuple(Role(f"role{i}") for i in range(roles)),
        permissions=tuple(Permission(f"role{i}", f"purpose{j}", tenant="lotus")
                          for i in range(roles) for j in range(purposes))),
        INVENTORY, clock=FixedClock(NOW))
    user = "user157"
    principal = Principal(user, roles={f"role{157 % roles}"}, tenant="lotus")
    assert enforcer.enforce(user, "lotus", "client_data", "purpose7")
    assert not enforcer.enforce(user, "other", "client_data", "purpose7")
    assert ours.decide("purpose7", "c-1", principal=principal).allowed
    number = 200 if quick else 1000
    both = interleaved({
        "casbin": lambda: enforcer.enforce(user, "lotus", "client_data", "purpose7"),
        "ours": lambda: ours.decide("purpose7", "c-1", principal=principal)},
        number, rounds=10)
    t_casbin, t_ours = both["casbin"], both["ours"]
    report("finprivacy decide (role with domain)", t_ours)
    report("casbin FastEnforcer.enforce", t_casbin, t_ours, baseline_name="finprivacy")
    speedup = t_casbin / t_ours
    print(f"{'finprivacy speed-up over casbin':<58} {speedup:10.1f}x  "
          f"(target ≥ 40x: {'ok' if speedup >= 40 else 'MISSED'})")


def main(quick: bool = False) -> None:
    """Run the access-control benchmarks (``quick``: smaller sizes)."""
    bench_decorator(quick)
    bench_scaling(quick)
    bench_casbin(quick)


if __name__ == "__main__":
    main()
