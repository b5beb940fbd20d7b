"""The decision engine: a compiled policy plus the services it consults.

:class:`AccessControl` compiles a :class:`~finprivacy.access.Policy` and a
:class:`~finprivacy.inventory.DataInventory` into dict/set indexes keyed by
(role, purpose) and tenant, and caches per (roles, tenant, purpose) a *field plan*
that says for each field path whether it is shown raw, masked or not at all. A
decision is therefore a few dict lookups whatever the size of the policy or of the
delegation store.
"""

from __future__ import annotations

import datetime as _dt
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import (
    Any,
    Final,
    Literal,
    NoReturn,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock
from ..errors import (
    AccessDeniedError,
    ConfigurationError,
    FinPrivacyError,
    InvalidInputError,
)
from ..inventory import DataInventory
from ._breakglass import (
    BreakGlassReview,
    BreakGlassSession,
    ReviewQueue,
    _BreakGlass,
    _glass,
    _GlassState,
)
from ._delegation import DelegationGrant, Delegations, GrantStore
from ._plans import (
    _FULL_MASK,
    _RULE_CACHE_MAX,
    AccessDecision,
    _default_mask_fn,
    _full_mask,
    _Plan,
    _Verdict,
)
from ._policy import (
    AttestationRequirement,
    Permission,
    Policy,
    Purpose,
    Scope,
    _positive_duration,
)
from ._principal import Principal, _nonempty, _request, current_principal
from ._queue import AuditQueue, _access_event
from ._shape import HIDE, RAW, FlatPlan, NotFlat, Rule, Shaper

__all__ = [
    "AccessControl",
    "ConsentChecker",
    "DenyReason",
    "Masker",
    "break_glass",
    "configure_access",
    "get_access_control",
    "minimize",
    "set_access_control",
]

SubjectSpec: TypeAlias = "str | Callable[[Mapping[str, Any]], object] | None"
"""How to find the data subject: a parameter name, a dotted path from a parameter
(``"client.id"``, through attributes or mapping keys), or a callable given the bound
arguments (defaults applied)."""

# The @requires implementation (access._requires installs it at import): this module
# does not import it back, so the two form no import circle.
_guard: list[Callable[..., Any]] = []


def install_guard(requires: Callable[..., Any]) -> None:
    """Install the ``@requires`` implementation :meth:`AccessControl.requires` uses."""
    _guard[:] = [requires]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

DenyReason: TypeAlias = Literal[
    "no_principal", "unknown_purpose", "purpose_not_allowed", "subject_unknown",
    "attestation_missing", "attestation_expired", "consent_missing", "grant_expired",
    "grant_revoked", "grant_not_yet_valid", "grant_scope", "break_glass_not_allowed",
    "self_review",
]
"""Every reason an :class:`~finprivacy.errors.AccessDeniedError` can carry."""

Masker: TypeAlias = Callable[[str, "str | None"], str]
"""``(value, kind) -> masked text``; ``kind`` is the inventory's masking kind or None."""

_PLAN_CACHE_MAX: Final = 65536
_MISS: Final[Any] = object()
_DAWN: Final = _dt.datetime.min.replace(tzinfo=_dt.UTC)
_DUSK: Final = _dt.datetime.max.replace(tzinfo=_dt.UTC)


@runtime_checkable
class ConsentChecker(Protocol):
    """What access needs from a consent ledger (``finprivacy.ConsentLedger`` fits)."""

    def check(self, subject: str, purpose: str, at: _dt.datetime | None = None) -> bool:
        """Return True when ``subject`` has consented to ``purpose`` at ``at``."""
        ...


# -- the engine -----------------------------------------------------------------------------

class AccessControl:
    """A compiled policy with the inventory, consent ledger, audit sink and grants it uses.

    Build one per application and either pass it to ``@control.requires(...)`` or
    install it as the default with :func:`configure_access` (read at call time by
    ``@fp.requires``). Nothing here is global until you install it.

    ``consent`` is checked for purposes whose lawful basis is consent; ``audit``
    receives one :class:`~finprivacy.audit.events.AuditEvent` per decision;
    ``break_glass_audit`` (default ``audit``) must record synchronously and durably,
    since emergency access starts only once it returned; ``grants`` enables
    delegation; ``masker`` turns a value and its masking kind into masked text
    (default :func:`finprivacy.masking.mask`, or a full mask).
    """

    def __init__(self, policy: Policy, inventory: DataInventory | None = None, *,
                 consent: ConsentChecker | None = None, audit: AuditSink | None = None,
                 grants: GrantStore | None = None, masker: Masker | None = None,
                 clock: Clock | None = None, break_glass_audit: AuditSink | None = None,
                 reviews: ReviewQueue | None = None) -> None:
        if not isinstance(policy, Policy):
            raise ConfigurationError("AccessControl needs a Policy")
        self.policy: Final[Policy] = policy
        self.inventory: Final[DataInventory] = inventory if inventory is not None else (
            DataInventory())
        self.clock: Final[Clock] = clock or SystemClock()
        self._consent = consent
        self._audit = audit
        self._glass_audit = break_glass_audit or audit
        self._grants = grants
        self._queue = audit if isinstance(audit, AuditQueue) else None
        self._att_cache: dict[int, tuple[Principal, tuple[AttestationRequirement, ...],
                                         str, _dt.datetime, _dt.datetime | None]] = {}
        self._mask_fns: dict[str | None, Callable[[str], str] | str] = {}
        self._custom_masker = masker
        self._masker: Masker = masker or self._mask_default
        self.reviews: Final[ReviewQueue] = reviews or ReviewQueue()
        self.delegations: Final[Delegations | None] = (
            Delegations(grants, clock=self.clock, audit=audit) if grants is not None else None)
        if inventory is not None:
            check_configuration(policy, inventory, masks=masker is None)
        self._version = policy.version
        self._purposes: dict[str, Purpose] = {p.name: p for p in policy.purposes}
        closure = policy.role_closure()
        closure.setdefault(policy.self_role, frozenset({policy.self_role}))
        self._closure = closure
        by_role: dict[str, list[Permission]] = {}
        for perm in policy.permissions:
            by_role.setdefault(perm.role, []).append(perm)
        index: dict[tuple[str, str], dict[str, list[Permission]]] = {}
        for role, ancestors in closure.items():
            for anc in ancestors:
                for perm in by_role.get(anc, ()):
                    index.setdefault((role, perm.purpose), {}).setdefault(
                        perm.tenant, []).append(perm)
        self._index: dict[tuple[str, str], dict[str, tuple[Permission, ...]]] = {
            k: {t: tuple(v) for t, v in d.items()} for k, d in index.items()}
        glass_roles = {r.name for r in policy.roles if r.break_glass}
        self._glass_roles = frozenset(
            role for role, anc in closure.items() if anc & glass_roles)
        self._plans: dict[tuple[frozenset[str], str, str], _Plan | None] = {}
        self._self_plans: dict[str, _Plan] = {}
        self._req_cache: dict[frozenset[str], tuple[AttestationRequirement, ...]] = {}
        self._fast: dict[tuple[str, int], tuple[Principal, _dt.datetime, _dt.datetime,
                                                 _Verdict]] = {}
        # Per purpose, the last role verdict given: (principal, valid from, valid until,
        # verdict), one tuple replaced whole, so a thread never pairs one principal
        # with another's verdict. The decorator's fast path: a request calls many
        # guarded functions for one principal.
        self._last: dict[str, tuple[Principal, _dt.datetime, _dt.datetime, _Verdict]] = {}
        # True once this control opened a break-glass block. Until then a break-glass
        # state in the context belongs to another control, which _authorize ignores,
        # so the decorator's fast path need not read the context variable.
        self._glass_opened = False
        self._grant_plans: dict[tuple[str, frozenset[str]], _Plan] = {}
        self._glass_plan = _Plan((Permission("*break_glass*", "*", raw=frozenset({"*"})),),
                                 self.inventory)
        self._check_c3()

    def _check_c3(self) -> None:
        c3 = {f.name for f in self.inventory if f.sensitivity == "C3"}
        c3 |= {f.leaf for f in self.inventory if f.sensitivity == "C3"}
        for perm in self.policy.permissions:
            bad = (perm.raw | perm.masked) & c3
            if bad:
                raise ConfigurationError(
                    f"permission {perm.role!r}/{perm.purpose!r} shows C3 fields {sorted(bad)}; "
                    "authentication data is never shown (JR/T 0171-2020 C3)")

    def __repr__(self) -> str:
        return (f"AccessControl(policy={self._version!r}, {len(self.policy.permissions)} "
                f"permissions, {len(self.inventory)} fields)")

    # -- plans ----------------------------------------------------------------------------

    def _plan_for(self, roles: frozenset[str], tenant: str, purpose: str) -> _Plan | None:
        key = (roles, tenant, purpose)
        try:
            return self._plans[key]
        except KeyError:
            pass
        perms: list[Permission] = []
        for role in roles:
            if role == self.policy.self_role:
                continue  # the self role applies only to a subject's own data
            by_tenant = self._index.get((role, purpose))
            if by_tenant:
                perms.extend(by_tenant.get(tenant, ()))
                if tenant != "*":
                    perms.extend(by_tenant.get("*", ()))
        plan = None
        if perms:
            plan = _Plan(tuple(perms), self.inventory, self._requirements(roles))
        if len(self._plans) >= _PLAN_CACHE_MAX:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _requirements(self, roles: frozenset[str]) -> tuple[AttestationRequirement, ...]:
        found = self._req_cache.get(roles)
        if found is None:
            expanded: set[str] = set()
            for r in roles:
                expanded |= self._closure.get(r, frozenset({r}))
            found = tuple(a for a in self.policy.attestations
                          if not a.roles or a.roles & expanded)
            if len(self._req_cache) >= _PLAN_CACHE_MAX:
                self._req_cache.clear()
            self._req_cache[roles] = found
        return found

    def _self_plan(self, purpose: str) -> _Plan:
        plan = self._self_plans.get(purpose)
        if plan is None:
            by_tenant = self._index.get((self.policy.self_role, purpose), {})
            perms = by_tenant.get("*", ())
            if not perms:
                perms = (Permission(self.policy.self_role, purpose, raw=frozenset({"*"})),)
            plan = _Plan(perms, self.inventory)
            self._self_plans[purpose] = plan
        return plan

    def _grant_plan(self, purpose: str, grant: DelegationGrant) -> _Plan:
        fields = frozenset(grant.fields)
        key = (purpose, fields)
        plan = self._grant_plans.get(key)
        if plan is None:
            base = self._self_plan(purpose)
            plan = _Plan(base._perms, self.inventory, only=fields or None)
            if len(self._grant_plans) >= _PLAN_CACHE_MAX:
                self._grant_plans.clear()
            self._grant_plans[key] = plan
        return plan

    def _attestation_problem(self, principal: Principal,
                             reqs: tuple[AttestationRequirement, ...], now: _dt.datetime) -> str:
        """Deny reason if the principal's attestations are not current at ``now``, else ""."""
        cached = self._att_cache.get(id(principal))
        if cached is None or cached[0] is not principal or cached[1] is not reqs:
            missing, start, end = _attestation_window(principal, reqs)
            if len(self._att_cache) >= _PLAN_CACHE_MAX:
                self._att_cache.clear()
            # The principal is immutable and kept alive by the entry, so its id is stable.
            self._att_cache[id(principal)] = (principal, reqs, missing, start, end)
        else:
            _, _, missing, start, end = cached
        if missing or now < start:
            return "attestation_missing"
        if end is not None and now >= end:
            return "attestation_expired"
        return ""

    # -- deciding -------------------------------------------------------------------------

    def _authorize(self, principal: Principal | None, purpose_name: str, subject: str | None,
                   scope: Scope | None, now: _dt.datetime) -> _Verdict | str:
        """Decide: a verdict, or a deny reason. No side effects."""
        if principal is None:
            return "no_principal"
        fast = self._fast.get((purpose_name, id(principal)))
        if (fast is not None and fast[0] is principal and fast[1] <= now < fast[2]
                and _glass.get() is None):
            # A role decision that needs no consent check: valid while the
            # principal's attestations are (the policy and the principal are immutable).
            return fast[3]
        purpose = self._purposes.get(purpose_name)
        if purpose is None:
            return "unknown_purpose"
        glass = _glass.get()
        if glass is not None and (glass.control is not self
                                  or glass.session.principal != principal.id
                                  or now >= glass.session.expires):
            glass = None
        plan: _Plan | None = self._plans.get((principal.roles, principal.tenant, purpose_name),
                                             _MISS)
        if plan is _MISS:
            plan = self._plan_for(principal.roles, principal.tenant, purpose_name)
        if glass is not None:
            plan = self._glass_plan
            reqs = self._requirements(principal.roles)
            problem = self._attestation_problem(principal, reqs, now)
            if problem:
                return problem
            return _Verdict(plan, "break_glass", glass=glass)
        if plan is not None:
            reqs = plan.requirements
            start, end = _DAWN, _DUSK
            if reqs:
                problem = self._attestation_problem(principal, reqs, now)
                if problem:
                    return problem
                _, _, _, start, until = self._att_cache[id(principal)]
                end = until if until is not None else _DUSK
            if self._consent is not None and purpose.legal_basis == "consent":
                if subject is None:
                    return "subject_unknown"
                if not self._consent.check(subject, purpose.ledger_purpose, at=now):
                    return "consent_missing"
            elif glass is None:
                if len(self._fast) >= _PLAN_CACHE_MAX:
                    self._fast.clear()
                self._fast[(purpose_name, id(principal))] = (principal, start, end, plan.verdict)
                self._last[purpose_name] = (principal, start, end, plan.verdict)
            return plan.verdict
        if subject is None:
            return "purpose_not_allowed"
        if principal.id == subject and self.policy.self_access:
            return _Verdict(self._self_plan(purpose_name), "self")
        if self._grants is not None and self.policy.self_access:
            grants = self._grants.find(principal.id, subject)
            if grants:
                want = scope or purpose.scope
                worst = ""
                for g in grants:
                    status = g.status(now)
                    if status == "active":
                        if want in g.scopes:
                            return _Verdict(self._grant_plan(purpose_name, g), "delegation",
                                            grant_id=g.id, on_behalf_of=subject)
                        worst = worst or "grant_scope"
                    else:
                        worst = worst or f"grant_{status}"
                return worst
        return "purpose_not_allowed"

    def decide(self, purpose: str, subject: str | None = None, *,
               principal: Principal | None = None, scope: Scope | None = None,
               at: _dt.datetime | None = None) -> AccessDecision:
        """Decide without recording or raising: for menus, buttons and tests.

        ``principal`` defaults to the one bound by :func:`acting_as`.
        """
        p = principal if principal is not None else current_principal()
        now = at if at is not None else self.clock.now()
        v = self._authorize(p, purpose, subject, scope, now)
        pid = p.id if p is not None else ""
        if isinstance(v, str):
            return AccessDecision(False, pid, purpose, subject or "", reason=v,
                                  policy_version=self._version)
        return AccessDecision(True, pid, purpose, subject or "", basis=v.via,
                              grant_id=v.grant_id, break_glass=v.glass is not None,
                              policy_version=self._version, _plan=v.plan)

    def _begin(self, purpose: str, subject: str | None, scope: Scope | None,
               action: str) -> tuple[_Verdict, Principal, _dt.datetime]:
        principal = current_principal()
        now = self.clock.now()
        v = self._authorize(principal, purpose, subject, scope, now)
        if isinstance(v, str):
            self._deny(principal, purpose, subject, v, action, now)
        return v, principal, now  # type: ignore[return-value]  # a verdict implies a principal

    def _deny(self, principal: Principal | None, purpose: str, subject: str | None,
              reason: str, action: str, now: _dt.datetime) -> NoReturn:
        glass = _glass.get()
        in_glass = glass is not None and glass.control is self and principal is not None and (
            glass.session.principal == principal.id)
        grant_id = ""
        if reason.startswith("grant_") and principal is not None and subject is not None and (
                self._grants is not None):
            # Name the grant that was tried: the audit trail of a delegation is complete.
            status = reason.removeprefix("grant_")
            for g in self._grants.find(principal.id, subject):
                if g.status(now) == status or (status == "scope" and g.status(now) == "active"):
                    grant_id = g.id
                    break
        event = AuditEvent(
            action=action, actor=principal.id if principal else "", subject=subject or "",
            purpose=purpose, decision="denied", reason=reason, time=now,
            tenant=principal.tenant if principal else "", break_glass=in_glass,
            grant_id=grant_id, on_behalf_of=(subject or "") if grant_id else "",
            request_id=_request.get(), policy_version=self._version)
        if self._queue is not None:
            self._queue.record(event)
        elif self._audit is not None:
            self._audit.record(event)
        who = repr(principal.id) if principal else "(none)"
        raise AccessDeniedError(f"access denied to purpose {purpose!r} for principal {who}: "
                                f"{reason}", reason=reason)

    def _mask_fn(self, kind: str | None) -> Callable[[str], str] | str:
        """One field's masking: ``str -> str``, or the constant text that replaces it."""
        fn = self._mask_fns.get(kind)
        if fn is None:
            custom = self._custom_masker
            if custom is None:
                fn = _default_mask_fn(kind)
            else:
                def call(value: str, masker: Masker = custom, kind: str | None = kind) -> str:
                    return masker(value, kind)
                fn = call
            if len(self._mask_fns) < 256:
                self._mask_fns[kind] = fn
        return fn

    def _flat_plan(self, plan: _Plan, row: dict[Any, Any]) -> FlatPlan:
        keys = tuple(row)
        flat = plan._flat.get(keys)
        if flat is None:
            flat = FlatPlan(keys, plan.rule, self._mask_fn)
            if len(plan._flat) < _RULE_CACHE_MAX:
                plan._flat[keys] = flat
        plan._last_flat = flat
        return flat

    def _mask_default(self, value: str, kind: str | None) -> str:
        """Mask with the kind's default preset (the default :data:`Masker`); else in full."""
        fn = self._mask_fn(kind)
        if isinstance(fn, str):
            return fn
        try:
            return fn(value)
        except (FinPrivacyError, ValueError, TypeError, LookupError):
            return _FULL_MASK

    def _finish(self, verdict: _Verdict, principal: Principal, purpose: str,
                subject: str | None, action: str, now: _dt.datetime, result: Any,
                returns: str) -> Any:
        plan = verdict.plan
        if type(result) is dict and not returns:
            # The hot path: a flat row (a dict of scalars). Shaping is a copy plus one
            # call per masked field; the audit record is a tuple on the queue. Every
            # key of the plan is read (a missing one raises KeyError) and the row has
            # as many keys, so the key sets are equal without comparing them; every
            # value read is checked to be a scalar. A KeyError means other keys than
            # the last row's: the second attempt uses the plan for this row's keys.
            flat = plan._last_flat
            if flat is None or len(result) != flat.size:
                flat = self._flat_plan(plan, result)
            for _attempt in (0, 1):
                try:
                    shaped = flat.shape(result)
                except KeyError:
                    flat = self._flat_plan(plan, result)
                    continue
                except NotFlat:
                    break  # nested values: the general walk below
                glass = verdict.glass
                queue = self._queue
                if glass is None and queue is not None:
                    # The record _record_access makes (see _queue._access_event),
                    # without its break-glass and error branches.
                    queue._items.append((self._version, verdict.head, "", principal.id,
                                         principal.tenant, purpose, subject, action, now,
                                         flat.fields, "", _request.get()))
                    if queue._flush_every and len(queue._items) >= queue._flush_every:
                        queue.flush()
                else:
                    self._record_access(verdict, principal, purpose, subject, action, now,
                                        flat.returned, flat.masked, flat.hidden, "")
                return shaped
        shaper = Shaper(plan.rule, self._masker, plan._cache)
        keep, out = shaper.walk(result, returns)
        if not keep:
            out = None
        self._record_access(verdict, principal, purpose, subject, action, now,
                            shaper.returned, shaper.masked, shaper.hidden, "")
        return out

    def _record_access(self, verdict: _Verdict, principal: Principal, purpose: str,
                       subject: str | None, action: str, now: _dt.datetime,
                       returned: Iterable[str], masked: Iterable[str], hidden: Iterable[str],
                       error: str) -> None:
        glass = verdict.glass
        if glass is not None:
            glass.accesses += 1
        item = (self._version, verdict.head, glass.session.id if glass is not None else "",
                principal.id, principal.tenant, purpose, subject, action, now,
                (returned, masked, hidden), error, _request.get())
        queue = self._queue
        if queue is not None:
            queue._push(item)
        elif self._audit is not None:
            self._audit.record(_access_event(*item))

    def protect(self, value: T, purpose: str, subject: str | None = None, *,
                scope: Scope | None = None, action: str = "read", field: str = "") -> T:
        """Check, shape and record access to ``value`` already in hand.

        The same as calling a function decorated with :meth:`requires` that returns
        ``value``; ``field`` names the inventory field of a bare scalar value.
        Raises :class:`~finprivacy.errors.AccessDeniedError` with ``.reason``.
        """
        verdict, principal, now = self._begin(purpose, subject, scope, action)
        out: T = self._finish(verdict, principal, purpose, subject, action, now, value, field)
        return out

    def requires(self, purpose: str, *, subject: SubjectSpec = None, scope: Scope | None = None,
                 action: str | None = None, returns: str = ""
                 ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Guard a function like :func:`finprivacy.requires`, bound to this control."""
        guard: Callable[[Callable[P, R]], Callable[P, R]] = _guard[0](
            purpose, subject=subject, scope=scope, action=action, returns=returns, control=self)
        return guard

    # -- minimisation ---------------------------------------------------------------------

    def minimize(self, record: T, purpose: str) -> T:
        """Keep only the fields ``purpose`` needs (PIPL Art. 6: the minimum necessary).

        A field is kept when its path, name or category is in the purpose's
        ``needs``, or the inventory lists the purpose for it. Mappings lose the other
        keys; models and dataclasses get ``None`` in them; mappings left empty are
        dropped. Naming a container path in ``needs`` keeps all of it (but C3 fields,
        which are always dropped).
        """
        p = self._purposes.get(purpose)
        if p is None:
            raise ConfigurationError(f"unknown purpose {purpose!r}")
        needs = p.needs
        inv = self.inventory

        def rule(path: str) -> Rule:
            leaf = path.rpartition(".")[2]
            f = (inv.get(path) or inv.get(leaf)) if path else None
            explicit = f is not None
            field = f if f is not None else inv.default
            parts = path.split(".")
            keep = field.sensitivity != "C3" and (
                purpose in field.purposes or leaf in needs or field.category in needs
                or any(".".join(parts[:i]) in needs for i in range(1, len(parts) + 1)))
            return (RAW if keep else HIDE, None, explicit)

        shaper = Shaper(rule, _full_mask, drop_empty=True)
        _, out = shaper.walk(record, "")
        result: T = out
        return result

    # -- break-glass ----------------------------------------------------------------------

    def break_glass(self, *, reason: str, ttl: _dt.timedelta) -> _BreakGlass:
        """Open emergency access for the bound principal for at most ``ttl``.

        On entering, a ``break_glass.start`` audit entry (decision ``alert``) is
        recorded synchronously through ``break_glass_audit``; only once that returned
        does access open, so an emergency access is never unrecorded. Inside the
        block the principal's accesses are allowed whatever the purpose and consent
        (PIPL Art. 13(4): protecting life, health or property in an emergency), C1/C2
        fields are shown raw and C3 never; attestations still apply. Every access is
        flagged ``break_glass`` in the audit log, and the session waits on
        :attr:`reviews` for a second person's review.
        """
        if not _nonempty(reason) or not reason.strip():
            raise InvalidInputError("break_glass needs a non-empty reason")
        if not _positive_duration(ttl):
            raise InvalidInputError("break_glass ttl must be a positive timedelta")
        if ttl > self.policy.break_glass_max_ttl:
            raise InvalidInputError("break_glass ttl exceeds the policy's break_glass_max_ttl")
        return _BreakGlass(self, reason, ttl)

    def _open_glass(self, reason: str, ttl: _dt.timedelta) -> _GlassState:
        principal = current_principal()
        now = self.clock.now()
        if self._glass_audit is None:
            raise ConfigurationError("break_glass needs an audit sink to record the emergency")
        if principal is None:
            self._deny(None, "break_glass", None, "no_principal", "break_glass.start", now)
        if not (principal.roles & self._glass_roles):
            self._deny(principal, "break_glass", None, "break_glass_not_allowed",
                       "break_glass.start", now)
        session = BreakGlassSession("bg_" + secrets.token_hex(8), principal.id, principal.tenant,
                                    reason, now, now + ttl)
        self._durable_record(AuditEvent(
            action="break_glass.start", actor=principal.id, decision="alert", reason=reason,
            time=now, tenant=principal.tenant, break_glass=True, policy_version=self._version,
            request_id=_request.get(),
            details={"break_glass_session": session.id, "expires": session.expires.isoformat()}))
        state = _GlassState(session, self)
        self._glass_opened = True
        self.reviews._add(state)
        return state

    def _durable_record(self, event: AuditEvent) -> None:
        """Record ``event`` synchronously in a durable sink (never only in memory)."""
        sink = self._glass_audit
        if isinstance(sink, AuditQueue):
            target = sink.target
            if target is None:
                raise ConfigurationError(
                    "break-glass needs a durable audit sink: give the AuditQueue a target or "
                    "pass break_glass_audit")
            sink.flush()  # keep the log in order: earlier decisions first
            target.record(event)
        elif sink is not None:
            sink.record(event)
        else:
            raise ConfigurationError("break_glass needs an audit sink to record the emergency")

    def _close_glass(self, state: _GlassState) -> None:
        if self._glass_audit is None:  # pragma: no cover - checked on open
            return
        s = state.session
        self._durable_record(AuditEvent(
            action="break_glass.end", actor=s.principal, decision="info", time=self.clock.now(),
            tenant=s.tenant, break_glass=True, policy_version=self._version,
            request_id=_request.get(),
            details={"break_glass_session": s.id, "accesses": str(state.accesses)}))

    def review_break_glass(self, session_id: str, *, reviewer: str,
                           outcome: Literal["justified", "unjustified"],
                           note: str = "") -> BreakGlassReview:
        """Record a second person's review of a break-glass session (and audit it).

        The reviewer may not be the principal who broke the glass
        (:class:`AccessDeniedError`, reason ``self_review``); a session is reviewed
        once (:class:`~finprivacy.errors.ConflictError`).
        """
        if outcome not in ("justified", "unjustified"):
            raise InvalidInputError("outcome must be 'justified' or 'unjustified'")
        if not _nonempty(reviewer):
            raise InvalidInputError("reviewer must be a principal id")
        now = self.clock.now()
        review = self.reviews._review(session_id, reviewer, outcome, note, now)
        if self._glass_audit is not None:
            session = self.reviews.session(session_id)
            self._durable_record(AuditEvent(
                action="break_glass.review", actor=reviewer, decision=(
                    "alert" if outcome == "unjustified" else "info"), reason=outcome, time=now,
                tenant=session.tenant, break_glass=True, policy_version=self._version,
            request_id=_request.get(),
                details={"break_glass_session": session_id, "opened_by": session.principal,
                         "accesses": str(review.accesses), "note": note}))
        return review


def _attestation_window(principal: Principal, reqs: tuple[AttestationRequirement, ...]
                        ) -> tuple[str, _dt.datetime, _dt.datetime | None]:
    """(missing reason or "", valid from, valid until) of the principal's attestations."""
    start = _dt.datetime.min.replace(tzinfo=_dt.UTC)
    end: _dt.datetime | None = None
    for req in reqs:
        att = principal.attested(req.kind)
        if att is None:
            return "attestation_missing", start, end
        until = req.valid_until(att.at)
        if att.expires is not None and (until is None or att.expires < until):
            until = att.expires
        start = max(start, att.at)
        if until is not None and (end is None or until < end):
            end = until
    return "", start, end


# -- the module default ------------------------------------------------------------------------

_default: AccessControl | None = None
_default_lock = threading.Lock()


_REQUIRED: set[str] = set()
"""Purposes named by ``@requires`` without a bound control: configure_access checks them."""


def require_purpose(purpose: str) -> AccessControl | None:
    """Note a purpose an ``@requires`` guard will ask for; return the installed control."""
    _REQUIRED.add(purpose)
    return _default


def _closest(name: str, choices: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def check_configuration(policy: Policy, inventory: DataInventory, *,
                        masks: bool = True) -> None:
    """Raise :class:`ConfigurationError` for a typo between the policy and the inventory.

    A permission naming a field, category or sensitivity the inventory does not have
    (``raw = ["nmae"]``), and an inventory field whose ``mask`` is no known masking
    kind (``mask = "cnid"``), would otherwise show data other than intended, silently.
    Each message names the source file when known and the closest valid name.
    :class:`AccessControl` runs this when it is given an inventory.
    """
    where_policy = f"policy {policy.source}" if getattr(policy, "source", "") else "the policy"
    where_inv = (f"inventory {inventory.source}" if getattr(inventory, "source", "")
                 else "the inventory")
    fields = list(inventory)
    known = {"*", "C1", "C2", "C3"}
    for f in fields:
        known.update((f.name, f.name.rsplit(".", 1)[-1], f.category))
    for perm in policy.permissions:
        for attr in ("raw", "masked", "hidden"):
            for selector in sorted(getattr(perm, attr)):
                if selector not in known:
                    raise ConfigurationError(
                        f"{where_policy}: permission for role {perm.role!r}, purpose "
                        f"{perm.purpose!r} lists {attr} field {selector!r}, which "
                        f"{where_inv} does not declare{_closest(selector, known)}")
    if masks:
        from ..masking import MASK_KINDS

        for f in fields:
            if f.mask is not None and f.mask not in MASK_KINDS:
                raise ConfigurationError(
                    f"{where_inv}: field {f.name!r} has unknown mask kind {f.mask!r}"
                    f"{_closest(f.mask, MASK_KINDS)}")


def configure_access(policy: Policy, inventory: DataInventory | None = None, *,
                     consent: ConsentChecker | None = None, audit: AuditSink | None = None,
                     grants: GrantStore | None = None, masker: Masker | None = None,
                     clock: Clock | None = None,
                     break_glass_audit: AuditSink | None = None,
                     reviews: ReviewQueue | None = None) -> AccessControl:
    """Build an :class:`AccessControl` and install it as the default; return it.

    ``@fp.requires``, ``fp.break_glass`` and ``fp.minimize`` use the default at
    call time. Nothing is installed at import: until this runs they raise
    :class:`ConfigurationError`.
    """
    control = AccessControl(policy, inventory, consent=consent, audit=audit, grants=grants,
                            masker=masker, clock=clock, break_glass_audit=break_glass_audit,
                            reviews=reviews)
    missing = sorted(set(_REQUIRED) - set(control._purposes))
    if missing:
        where = f"policy {policy.source}" if getattr(policy, "source", "") else "the policy"
        raise ConfigurationError(
            f"@requires names purpose(s) {', '.join(map(repr, missing))} that {where} does "
            f"not define{_closest(missing[0], control._purposes)}")
    set_access_control(control)
    return control


def set_access_control(control: AccessControl | None) -> AccessControl | None:
    """Install ``control`` as the default (``None`` removes it); return the previous one."""
    global _default
    if control is not None and not isinstance(control, AccessControl):
        raise ConfigurationError("set_access_control needs an AccessControl or None")
    with _default_lock:
        previous, _default = _default, control
    return previous


def get_access_control() -> AccessControl:
    """Return the default :class:`AccessControl`; raise :class:`ConfigurationError` if none."""
    control = _default
    if control is None:
        raise ConfigurationError(
            "no access control is configured (call finprivacy.configure_access first)")
    return control


def break_glass(*, reason: str, ttl: _dt.timedelta) -> _BreakGlass:
    """Open emergency access through the default control (see :meth:`AccessControl.break_glass`)."""
    return get_access_control().break_glass(reason=reason, ttl=ttl)


def minimize(record: T, purpose: str) -> T:
    """Keep only what ``purpose`` needs, per the default control's policy and inventory."""
    return get_access_control().minimize(record, purpose)

