"""Data-subject rights: requests with deadlines, export, and erasure against retention.

The client's rights — to see what is held, take a copy, correct it, have it deleted,
authorise someone else, and complain — arrive as requests with legal deadlines.
:class:`RequestRegister` keeps each request's story and deadline,
:func:`export_subject_data` answers access and portability requests, and
:func:`fulfil_erasure` carries out an erasure weighed against retention duties.
"""

from __future__ import annotations

from ._deadlines import CCPA as CCPA
from ._deadlines import GDPR as GDPR
from ._deadlines import PIPL as PIPL
from ._deadlines import DeadlinePolicy as DeadlinePolicy
from ._deadlines import add_months as add_months
from ._erasure import ErasureHandler as ErasureHandler
from ._erasure import ErasureReport as ErasureReport
from ._erasure import Shredder as Shredder
from ._erasure import fulfil_erasure as fulfil_erasure
from ._export import EXPORT_FORMAT as EXPORT_FORMAT
from ._export import DataSource as DataSource
from ._export import SubjectExport as SubjectExport
from ._export import export_subject_data as export_subject_data
from ._requests import RequestEvent as RequestEvent
from ._requests import RequestKind as RequestKind
from ._requests import RequestRegister as RequestRegister
from ._requests import RequestStatus as RequestStatus
from ._requests import RequestStore as RequestStore
from ._requests import SubjectRequest as SubjectRequest

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "CCPA",
    "DataSource",
    "DeadlinePolicy",
    "EXPORT_FORMAT",
    "ErasureHandler",
    "ErasureReport",
    "GDPR",
    "PIPL",
    "RequestEvent",
    "RequestKind",
    "RequestRegister",
    "RequestStatus",
    "RequestStore",
    "Shredder",
    "SubjectExport",
    "SubjectRequest",
    "add_months",
    "export_subject_data",
    "fulfil_erasure",
]
