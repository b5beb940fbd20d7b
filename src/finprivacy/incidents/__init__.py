"""Incident response: a register with a tamper-evident timeline and the legal clocks.

::

    register = fp.IncidentRegister("sqlite:///incidents.db", audit=log)
    inc = register.open("unusual export by a staff account", actor="sec-1",
                        aware_at=now)
    register.classify(inc.id, actor="dpo", operator_class="other",
                      grade="relatively_major", regimes=["cn_cac", "pipl"],
                      evidence="1,240 clients' card numbers, scope attached")
    overdue, coming = register.due()

Every change is an event on the incident's timeline, chained by hash and mirrored to
the audit log. The clocks (:func:`obligations`) run from the moment of awareness and
cite their rule; :class:`AlertDispatcher` takes monitor alerts to people; drafts of the
regulator report, the summary and notices (:func:`subject_notice`) come from the
register. Not here: the grading guide's thresholds (their official text is needed).
"""

from __future__ import annotations

from ._alerts import AlertDispatcher as AlertDispatcher
from ._alerts import AlertSink as AlertSink
from ._alerts import DeadLetter as DeadLetter
from ._alerts import EmailSink as EmailSink
from ._alerts import LoggingSink as LoggingSink
from ._alerts import WebhookSink as WebhookSink
from ._alerts import alert_payload as alert_payload
from ._clocks import CITATIONS as CITATIONS
from ._clocks import Obligation as Obligation
from ._clocks import obligations as obligations
from ._drafts import Notice as Notice
from ._drafts import notify_subjects as notify_subjects
from ._drafts import post_incident_summary as post_incident_summary
from ._drafts import regulator_report as regulator_report
from ._drafts import sms_parts as sms_parts
from ._drafts import subject_notice as subject_notice
from ._model import EVENT_KINDS as EVENT_KINDS
from ._model import GRADES as GRADES
from ._model import OPERATOR_CLASSES as OPERATOR_CLASSES
from ._model import PERSONAL_INFORMATION_THRESHOLDS as PERSONAL_INFORMATION_THRESHOLDS
from ._model import Incident as Incident
from ._model import IncidentEvent as IncidentEvent
from ._model import IncidentStore as IncidentStore
from ._model import personal_information_grade as personal_information_grade
from ._register import IncidentRegister as IncidentRegister
from ._register import MemoryIncidentStore as MemoryIncidentStore

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "AlertDispatcher",
    "AlertSink",
    "CITATIONS",
    "DeadLetter",
    "EVENT_KINDS",
    "EmailSink",
    "GRADES",
    "Incident",
    "IncidentEvent",
    "IncidentRegister",
    "IncidentStore",
    "LoggingSink",
    "MemoryIncidentStore",
    "Notice",
    "OPERATOR_CLASSES",
    "Obligation",
    "PERSONAL_INFORMATION_THRESHOLDS",
    "WebhookSink",
    "alert_payload",
    "notify_subjects",
    "obligations",
    "personal_information_grade",
    "post_incident_summary",
    "regulator_report",
    "sms_parts",
    "subject_notice",
]
