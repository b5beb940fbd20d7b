"""Answer an access or portability request: everything held about one subject.

The application names its data sources (callables returning the subject's records);
:func:`export_subject_data` gathers them into one machine-readable document (PIPL
Art. 45; GDPR Art. 15 and 20), lists what each field is and why it is held from the
data inventory, and withholds authentication data (sensitivity C3 — PIN and password
hashes, security answers), which is never handed out, not even to its owner.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..clock import Clock, SystemClock
from ..errors import InvalidInputError
from ..inventory import DataInventory
from ..secret import Secret

__all__ = ["EXPORT_FORMAT", "DataSource", "SubjectExport", "export_subject_data"]

EXPORT_FORMAT = "finprivacy-subject-export/1"
"""The ``format`` field of every export document."""

DataSource = Callable[[str], Iterable[Mapping[str, Any]]]
"""A callable returning one subject's records from one part of the system."""


@dataclasses.dataclass(frozen=True, slots=True)
class SubjectExport:
    """One subject's data, ready to hand over. Its repr shows counts only."""

    subject: str
    generated_at: _dt.datetime
    sections: Mapping[str, tuple[Mapping[str, Any], ...]]
    withheld: tuple[str, ...]
    """Field paths withheld as authentication data (C3)."""
    processing: tuple[Mapping[str, Any], ...]
    """Per field seen: category, sensitivity, purposes and retention class."""

    def __repr__(self) -> str:
        counts = {k: len(v) for k, v in self.sections.items()}
        return f"SubjectExport(subject={self.subject!r}, records={counts})"

    def to_dict(self) -> dict[str, Any]:
        """Return the export as a JSON-ready dict."""
        return {
            "format": EXPORT_FORMAT,
            "subject": self.subject,
            "generated_at": self.generated_at.isoformat(),
            "data": {k: [dict(r) for r in v] for k, v in self.sections.items()},
            "withheld": list(self.withheld),
            "processing": [dict(p) for p in self.processing],
        }

    def to_json(self) -> str:
        """Return the export as indented UTF-8 JSON text (machine-readable, GDPR Art. 20)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True,
                          default=str)


def _plain(value: Any, path: str, inventory: DataInventory | None,
           withheld: set[str], seen: dict[str, Any]) -> Any:
    if isinstance(value, Secret):
        value = value.reveal()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            field = inventory.get(child) or inventory.get(str(key)) if inventory else None
            if field is not None:
                seen.setdefault(field.name, field)
                if field.sensitivity == "C3":
                    withheld.add(child)
                    continue
            out[str(key)] = _plain(item, child, inventory, withheld, seen)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v, path, inventory, withheld, seen) for v in value]
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump(), path, inventory, withheld, seen)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)},
                      path, inventory, withheld, seen)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    return value


def export_subject_data(subject: str, sources: Mapping[str, DataSource], *,
                        inventory: DataInventory | None = None,
                        clock: Clock | None = None) -> SubjectExport:
    """Collect one subject's data from every source into a :class:`SubjectExport`.

    Values wrapped in :class:`~finprivacy.Secret` are revealed — the export is for
    the subject — so hand it over only after :meth:`RequestRegister.verify_identity`.
    """
    if not subject or not isinstance(subject, str):
        raise InvalidInputError("subject must be a non-empty string")
    if not sources:
        raise InvalidInputError("name at least one data source")
    withheld: set[str] = set()
    seen: dict[str, Any] = {}
    sections: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for name, source in sources.items():
        records = []
        for record in source(subject):
            records.append(_plain(record, "", inventory, withheld, seen))
        sections[name] = tuple(records)
    processing = tuple(
        {"field": f.name, "category": f.category, "sensitivity": f.sensitivity,
         "purposes": sorted(f.purposes), "retention": f.retention}
        for f in sorted(seen.values(), key=lambda f: f.name)
    )
    now = (clock or SystemClock()).now()
    return SubjectExport(subject, now, sections, tuple(sorted(withheld)), processing)
