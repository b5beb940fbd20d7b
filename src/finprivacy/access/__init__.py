"""Access control: principals, purposes, need-to-know field masking, delegation, break-glass.

Staff code touches client data only through a stated purpose::

    control = fp.configure_access(policy, inventory, audit=log)

    @fp.requires(purpose="account_verification", subject="client_id")
    def load_account(client_id: str) -> Account: ...

    with fp.acting_as(alice):
        account = load_account("client-42")   # card number masked to BIN + last 4

Every decision is recorded as an :class:`~finprivacy.audit.events.AuditEvent`; with
no principal, no permission, a stale attestation or missing consent the call raises
:class:`~finprivacy.errors.AccessDeniedError` with a ``reason``.
"""

from __future__ import annotations

from ._breakglass import AuditRecordLike as AuditRecordLike
from ._breakglass import BreakGlassReview as BreakGlassReview
from ._breakglass import BreakGlassSession as BreakGlassSession
from ._breakglass import ReviewQueue as ReviewQueue
from ._casbin import CasbinImport as CasbinImport
from ._casbin import import_casbin_csv as import_casbin_csv
from ._control import AccessControl as AccessControl
from ._control import ConsentChecker as ConsentChecker
from ._control import DenyReason as DenyReason
from ._control import Masker as Masker
from ._control import break_glass as break_glass
from ._control import configure_access as configure_access
from ._control import get_access_control as get_access_control
from ._control import minimize as minimize
from ._control import set_access_control as set_access_control
from ._delegation import DelegationGrant as DelegationGrant
from ._delegation import Delegations as Delegations
from ._delegation import GrantStatus as GrantStatus
from ._delegation import GrantStore as GrantStore
from ._delegation import MemoryGrantStore as MemoryGrantStore
from ._jsonable import jsonable as jsonable
from ._plans import AccessDecision as AccessDecision
from ._plans import FieldTreatment as FieldTreatment
from ._policy import AttestationRequirement as AttestationRequirement
from ._policy import LegalBasis as LegalBasis
from ._policy import Permission as Permission
from ._policy import Policy as Policy
from ._policy import Purpose as Purpose
from ._policy import Role as Role
from ._policy import Scope as Scope
from ._policy import load_policy as load_policy
from ._principal import Attestation as Attestation
from ._principal import Principal as Principal
from ._principal import acting_as as acting_as
from ._principal import current_principal as current_principal
from ._principal import current_request_id as current_request_id
from ._principal import in_request as in_request
from ._principal import require_principal as require_principal
from ._queue import AuditQueue as AuditQueue
from ._requires import SubjectSpec as SubjectSpec
from ._requires import requires as requires

__all__ = [
    "AccessControl",
    "AccessDecision",
    "Attestation",
    "AttestationRequirement",
    "AuditQueue",
    "AuditRecordLike",
    "BreakGlassReview",
    "BreakGlassSession",
    "CasbinImport",
    "ConsentChecker",
    "DataField",
    "DataInventory",
    "DelegationGrant",
    "Delegations",
    "DenyReason",
    "FieldTreatment",
    "GrantStatus",
    "GrantStore",
    "LegalBasis",
    "Masker",
    "MemoryGrantStore",
    "Permission",
    "Policy",
    "Principal",
    "Purpose",
    "ReviewQueue",
    "Role",
    "Scope",
    "SubjectSpec",
    "acting_as",
    "break_glass",
    "configure_access",
    "current_principal",
    "current_request_id",
    "get_access_control",
    "import_casbin_csv",
    "in_request",
    "jsonable",
    "load_policy",
    "minimize",
    "require_principal",
    "requires",
    "set_access_control",
]

from ..inventory import DataField as DataField
from ..inventory import DataInventory as DataInventory
