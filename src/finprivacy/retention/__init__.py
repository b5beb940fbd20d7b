"""Retention schedules, legal holds, disposal sweeps and certificates.

* :class:`RetentionRule` and :class:`RetentionSchedule`: how long each record class is
  kept, computed exactly in the organisation's IANA zone and fiscal year;
* :mod:`finprivacy.retention.presets`: built-in rules citing their legal sources
  (会计档案管理办法 2015, China and EU AML, US IRS, SEC 17a-4);
* :class:`LegalHold` and :class:`LegalHolds`: holds that stop disposal until released;
* :func:`plan` and :func:`execute`: a streaming disposal plan and its idempotent,
  resumable execution, evidenced by a :class:`DisposalCertificate` (销毁清册);
* :func:`assess_erasure`: what an erasure request may remove now and what must be kept
  (PIPL Art. 47).
"""

from __future__ import annotations

from . import presets as presets
from ._erasure import RESTRICTION_BASIS as RESTRICTION_BASIS
from ._erasure import ErasureAssessment as ErasureAssessment
from ._erasure import ErasureItem as ErasureItem
from ._erasure import assess_erasure as assess_erasure
from ._execute import DisposalAttempt as DisposalAttempt
from ._execute import DisposalCertificate as DisposalCertificate
from ._execute import DisposalHandler as DisposalHandler
from ._execute import DisposalLine as DisposalLine
from ._execute import ExcludedRecord as ExcludedRecord
from ._execute import ExecutionJournal as ExecutionJournal
from ._execute import JournalEntry as JournalEntry
from ._execute import Signatory as Signatory
from ._execute import execute as execute
from ._holds import HoldMatter as HoldMatter
from ._holds import HoldStore as HoldStore
from ._holds import LegalHold as LegalHold
from ._holds import LegalHolds as LegalHolds
from ._model import PERMANENT as PERMANENT
from ._model import DisposalAction as DisposalAction
from ._model import Duration as Duration
from ._model import Granularity as Granularity
from ._model import RecordLike as RecordLike
from ._model import RetentionRecord as RetentionRecord
from ._model import RetentionRule as RetentionRule
from ._model import RuleKind as RuleKind
from ._model import Trigger as Trigger
from ._plan import DisposalPlan as DisposalPlan
from ._plan import Disposition as Disposition
from ._plan import PlanSummary as PlanSummary
from ._plan import plan as plan
from ._schedule import FiscalPeriod as FiscalPeriod
from ._schedule import RetentionPeriod as RetentionPeriod
from ._schedule import RetentionSchedule as RetentionSchedule
from ._schedule import add_duration as add_duration

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "DisposalAction",
    "DisposalAttempt",
    "DisposalCertificate",
    "DisposalHandler",
    "DisposalLine",
    "DisposalPlan",
    "Disposition",
    "Duration",
    "ErasureAssessment",
    "ErasureItem",
    "ExcludedRecord",
    "ExecutionJournal",
    "FiscalPeriod",
    "Granularity",
    "HoldMatter",
    "HoldStore",
    "JournalEntry",
    "LegalHold",
    "LegalHolds",
    "PERMANENT",
    "PlanSummary",
    "RESTRICTION_BASIS",
    "RecordLike",
    "RetentionPeriod",
    "RetentionRecord",
    "RetentionRule",
    "RetentionSchedule",
    "RuleKind",
    "Signatory",
    "Trigger",
    "add_duration",
    "assess_erasure",
    "execute",
    "plan",
    "presets",
]
