"""Discovery (``finprivacy.discovery``): find personal data where it already sits.

``finprivacy discover SOURCE`` on the command line; ``fp.discover`` in code (the
package is ``discovery`` so that ``fp.discover`` stays the function)::

    report = fp.discover("sqlite:///books.db", inventory=inventory)
    for column in report.personal: ...
    report.to_json(); report.to_html()

Each column is judged by its sampled values through the checksum-validated detectors
(the recognizer registry, your own kinds included); its name (Chinese, English, pinyin
initials such as ``sfzh``, ``yhkh``, ``sjhm``) only raises the confidence, so an
``id_no`` holding a sequence, order numbers or amounts are not reported. finprivacy
tokens are recognised as already encrypted, with the key that sealed them. Given the
retention schedule and each table's date column (:class:`RecordDates`), it also counts
the records past retention.
"""

from __future__ import annotations

from ._columns import NAME_HINTS as NAME_HINTS
from ._columns import ColumnFinding as ColumnFinding
from ._columns import analyse_column as analyse_column
from ._columns import name_hint as name_hint
from ._discover import DiscoveryReport as DiscoveryReport
from ._discover import InventoryGap as InventoryGap
from ._discover import discover as discover
from ._retention import PastRetention as PastRetention
from ._retention import RecordDates as RecordDates

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "ColumnFinding",
    "DiscoveryReport",
    "InventoryGap",
    "NAME_HINTS",
    "PastRetention",
    "RecordDates",
    "analyse_column",
    "discover",
    "name_hint",
]
