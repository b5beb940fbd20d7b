"""Carry out an erasure request, weighed against retention duties and legal holds.

:func:`finprivacy.retention.assess_erasure` says per record what may go now and what
must stay (restricted to storage and security, PIPL Art. 47(2)); :func:`fulfil_erasure`
hands each decision to the application's :class:`ErasureHandler`, and when nothing
must stay, crypto-shreds the subject's key so copies in backups die too.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Protocol, runtime_checkable

from ..audit.events import AuditEvent, AuditSink
from ..retention import ErasureAssessment

__all__ = ["ErasureHandler", "ErasureReport", "Shredder", "fulfil_erasure"]


@runtime_checkable
class ErasureHandler(Protocol):
    """The application's side of an erasure: it knows its tables."""

    def erase(self, record_id: str) -> None:
        """Delete (or irreversibly anonymise) the whole record."""
        ...

    def erase_categories(self, record_id: str, categories: frozenset[str]) -> None:
        """Delete only these data categories of the record; keep the rest."""
        ...

    def restrict(self, record_id: str, *, until: _dt.date | None) -> None:
        """Mark the record restricted: storage and security only, until ``until``."""
        ...


@runtime_checkable
class Shredder(Protocol):
    """Anything that destroys a subject's key (:class:`finprivacy.SubjectKeys`)."""

    def shred(self, subject: str, *, reason: str) -> object:
        """Destroy ``subject``'s key for good."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class ErasureReport:
    """What :func:`fulfil_erasure` did, for the request's outcome and the subject's answer."""

    subject: str
    erased: tuple[str, ...]
    partially_erased: tuple[str, ...]
    restricted: tuple[str, ...]
    kept_until: _dt.date | None
    shredded: bool

    def summary(self) -> str:
        """Return a sentence for the request's outcome (ids and dates only)."""
        parts = [f"erased {len(self.erased)} record(s)"]
        if self.partially_erased:
            parts.append(f"partly erased {len(self.partially_erased)}")
        if self.restricted:
            until = self.kept_until.isoformat() if self.kept_until else "an open-ended duty"
            parts.append(f"kept {len(self.restricted)} restricted to storage and security "
                         f"(PIPL Art. 47(2)) until {until}")
        if self.shredded:
            parts.append("subject key shredded")
        return "; ".join(parts)


def fulfil_erasure(assessment: ErasureAssessment, handler: ErasureHandler, *, actor: str,
                   shredder: Shredder | None = None, audit: AuditSink | None = None,
                   request_id: str = "") -> ErasureReport:
    """Apply an :class:`~finprivacy.retention.ErasureAssessment` through ``handler``.

    The subject key is shredded only when the assessment is complete (nothing must be
    kept), since shredding would also destroy the records the law says to keep.
    """
    erased: list[str] = []
    partial: list[str] = []
    restricted: list[str] = []
    for item in assessment.items:
        if item.outcome == "erase":
            handler.erase(item.record_id)
            erased.append(item.record_id)
        elif item.outcome == "partial":
            handler.erase_categories(item.record_id, item.erasable)
            handler.restrict(item.record_id, until=item.kept_through)
            partial.append(item.record_id)
        else:
            handler.restrict(item.record_id, until=item.kept_through)
            restricted.append(item.record_id)
    shredded = False
    if shredder is not None and assessment.complete:
        shredder.shred(assessment.subject, reason=f"erasure request {request_id}".strip())
        shredded = True
    report = ErasureReport(assessment.subject, tuple(erased), tuple(partial),
                           tuple(restricted), assessment.kept_until, shredded)
    if audit is not None:
        audit.record(AuditEvent(
            action="rights.erasure.fulfilled", actor=actor, subject=assessment.subject,
            reason=report.summary(),
            details={"request_id": request_id, "erased": str(len(erased)),
                     "partial": str(len(partial)), "restricted": str(len(restricted))}))
    return report
