"""The data inventory: what each field holds, how sensitive it is, why it is kept.

A bookkeeping firm's record of processing (PIPL Art. 51(1) "formulate internal
management systems", Art. 55/56 impact assessments) starts with a list of the
personal data it holds. :class:`DataInventory` is that list in code: per field its
data *category*, its *sensitivity* level, the *purposes* it serves, the *retention
class* that governs its lifetime and the *masking kind* used when it is shown
partially. Access control (:mod:`finprivacy.access`) reads it to decide, per field,
whether a principal sees the value raw, masked or not at all; minimisation reads the
purposes.

Sensitivity follows JR/T 0171-2020 *Personal financial information protection
technical specification* §4.2:

``C3``
    user authentication information — passwords, payment PINs, card verification
    codes (CVN/CVN2), magnetic-stripe track data, biometric templates used to
    authenticate. Disclosure directly endangers the person's property. finprivacy
    never shows C3 data through access control.
``C2``
    information that identifies a person or their accounts and property — resident
    ID numbers, bank card and account numbers, phone numbers, balances, transactions,
    credit data.
``C1``
    information used inside the institution that does not by itself identify a
    person's finances — account opening date, branch, product codes.

>>> inv = DataInventory([DataField("card_no", category="account", sensitivity="C2",
...                                mask="bank_card")])
>>> inv.classify("client.card_no").mask
'bank_card'
>>> inv.classify("nickname").category
'unclassified'
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Final, cast, get_args

from ._types import PathLike, Sensitivity
from .errors import ConfigurationError, FormatError

__all__ = [
    "CATEGORIES",
    "DataField",
    "DataInventory",
    "bookkeeping_inventory",
    "load_inventory",
    "read_document",
]

_LEVELS: Final[frozenset[str]] = frozenset(get_args(Sensitivity))

CATEGORIES: Final[Mapping[str, str]] = {
    "authentication": "passwords, PINs, CVN/CVN2, track data, authentication biometrics (C3)",
    "identity": "names, resident ID and passport numbers, dates of birth (C2)",
    "contact": "phone numbers, e-mail and postal addresses (C2)",
    "account": "bank card and account numbers, IBANs, payment account ids (C2)",
    "financial": "balances, income, assets, tax figures (C2)",
    "transaction": "payments, statements, invoices and their counterparties (C2)",
    "credit": "credit scores and records (C2)",
    "internal": "account opening dates, branches, product codes, staff notes (C1)",
    "unclassified": "fields missing from the inventory; treated as C2 by default",
}
"""The data categories finprivacy knows, with what they hold (JR/T 0171-2020 §4.2).

Inventories may use other category names; these are the ones the presets use.
"""

_FIELD_KEYS: Final[frozenset[str]] = frozenset(
    {"category", "sensitivity", "purposes", "retention", "mask", "description"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class DataField:
    """One field of personal data as the inventory describes it.

    ``name`` is either a bare field name (``"card_no"``), which matches that name at
    any depth of a record, or a dotted path (``"client.card_no"``), which matches only
    there and takes precedence over a bare name.
    """

    name: str
    """The field name or dotted path."""
    category: str
    """The data category (see :data:`CATEGORIES`)."""
    sensitivity: Sensitivity
    """``C1``, ``C2`` or ``C3`` in the sense of JR/T 0171-2020."""
    purposes: AbstractSet[str] = frozenset()
    """Purposes this field is collected for (used by minimisation)."""
    retention: str = ""
    """The retention class that governs how long the field is kept."""
    mask: str | None = None
    """The masking kind (``"bank_card"``, ``"cn_id"`` …) used when shown partially."""
    description: str = ""
    """Free text for the record of processing."""

    def __post_init__(self) -> None:
        if not _nonempty(self.name) or any(
            not part for part in self.name.split(".")
        ):
            raise ConfigurationError("a data field needs a non-empty name (dotted parts allowed)")
        if not _nonempty(self.category):
            raise ConfigurationError(f"data field {self.name!r} needs a category")
        if self.sensitivity not in _LEVELS:
            raise ConfigurationError(
                f"data field {self.name!r}: sensitivity must be one of C1, C2, C3"
            )
        if isinstance(self.purposes, str):
            raise ConfigurationError(
                f"data field {self.name!r}: purposes must be a collection of names, not a string"
            )
        object.__setattr__(self, "purposes", frozenset(self.purposes))
        if self.mask is not None and not _nonempty(self.mask):
            raise ConfigurationError(f"data field {self.name!r}: mask must be a kind name")

    @property
    def leaf(self) -> str:
        """The last part of the name (``"card_no"`` for ``"client.card_no"``)."""
        return self.name.rpartition(".")[2]


def _nonempty(value: object) -> bool:
    """Return True for a non-empty ``str`` (a runtime check of untyped input)."""
    return isinstance(value, str) and bool(value)


_DEFAULT: Final[DataField] = DataField("*", category="unclassified", sensitivity="C2")


class DataInventory:
    """An immutable set of :class:`DataField` entries, looked up by path or field name.

    Fields missing from the inventory are classified as ``default`` (category
    ``unclassified``, sensitivity ``C2``, unless given), so a field someone forgot to
    declare is masked rather than shown: the inventory fails closed.
    """

    __slots__ = ("_by_name", "_default", "_fields", "_source", "_version")

    def __init__(self, fields: Iterable[DataField] = (), *, default: DataField | None = None,
                 version: str = "") -> None:
        by_name: dict[str, DataField] = {}
        for field in fields:
            if not isinstance(field, DataField):
                raise ConfigurationError("inventory entries must be DataField objects")
            if field.name in by_name:
                raise ConfigurationError(f"data field {field.name!r} is declared twice")
            by_name[field.name] = field
        self._by_name: dict[str, DataField] = by_name
        self._fields: tuple[DataField, ...] = tuple(by_name.values())
        self._default = default if default is not None else _DEFAULT
        self._version = version
        self._source = ""

    @property
    def source(self) -> str:
        """The file it was loaded from (``load_inventory``), named in configuration errors."""
        return self._source

    @property
    def default(self) -> DataField:
        """The classification given to fields the inventory does not list."""
        return self._default

    @property
    def version(self) -> str:
        """A free-form version label, recorded with policy decisions."""
        return self._version

    def get(self, name: str) -> DataField | None:
        """Return the entry declared under exactly ``name`` (a path or a bare name)."""
        return self._by_name.get(name)

    def classify(self, path: str) -> DataField:
        """Classify the field at dotted ``path``: exact path, then bare name, then default."""
        found = self._by_name.get(path)
        if found is None:
            found = self._by_name.get(path.rpartition(".")[2])
        return found if found is not None else self._default

    def fields_for(self, purpose: str) -> frozenset[str]:
        """Names of the fields collected for ``purpose``."""
        return frozenset(f.name for f in self._fields if purpose in f.purposes)

    def by_sensitivity(self, level: Sensitivity) -> tuple[DataField, ...]:
        """Return the fields at sensitivity ``level``."""
        return tuple(f for f in self._fields if f.sensitivity == level)

    def by_category(self, category: str) -> tuple[DataField, ...]:
        """Return the fields in ``category``."""
        return tuple(f for f in self._fields if f.category == category)

    @property
    def categories(self) -> frozenset[str]:
        """Every category used by a declared field."""
        return frozenset(f.category for f in self._fields)

    def __iter__(self) -> Iterator[DataField]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __repr__(self) -> str:
        return f"DataInventory({len(self._fields)} fields, version={self._version!r})"

    # -- serialisation --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON/TOML-ready mapping that :meth:`from_dict` reads back."""
        out: dict[str, Any] = {"version": self._version, "fields": {}}
        for f in self._fields:
            entry: dict[str, Any] = {"category": f.category, "sensitivity": f.sensitivity}
            if f.purposes:
                entry["purposes"] = sorted(f.purposes)
            if f.retention:
                entry["retention"] = f.retention
            if f.mask:
                entry["mask"] = f.mask
            if f.description:
                entry["description"] = f.description
            out["fields"][f.name] = entry
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataInventory:
        """Build an inventory from ``{"version": ..., "fields": {name: {...}}}``.

        Raises :class:`~finprivacy.errors.FormatError` naming the offending entry
        and key when the mapping has the wrong shape.
        """
        if not isinstance(data, Mapping):
            raise FormatError("inventory: the document must be a table/object")
        unknown = set(data) - {"version", "fields"}
        if unknown:
            raise FormatError(f"inventory: unknown top-level keys {sorted(unknown)}")
        version = data.get("version", "")
        if not isinstance(version, str):
            raise FormatError("inventory: 'version' must be a string")
        raw_fields = data.get("fields", {})
        if not isinstance(raw_fields, Mapping):
            raise FormatError("inventory: 'fields' must be a table of field entries")
        fields = []
        for name, entry in raw_fields.items():
            where = f"inventory: field {name!r}"
            if not isinstance(entry, Mapping):
                raise FormatError(f"{where} must be a table")
            extra = set(entry) - _FIELD_KEYS
            if extra:
                raise FormatError(f"{where} has unknown keys {sorted(extra)}")
            for key in ("category", "sensitivity"):
                if not isinstance(entry.get(key), str):
                    raise FormatError(f"{where}: {key!r} is required and must be a string")
            for key in ("retention", "mask", "description"):
                if key in entry and not isinstance(entry[key], str):
                    raise FormatError(f"{where}: {key!r} must be a string")
            purposes = entry.get("purposes", [])
            if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
                raise FormatError(f"{where}: 'purposes' must be a list of strings")
            if entry["sensitivity"] not in _LEVELS:
                raise FormatError(f"{where}: 'sensitivity' must be one of C1, C2, C3")
            try:
                fields.append(DataField(
                    str(name), category=entry["category"],
                    sensitivity=cast(Sensitivity, entry["sensitivity"]),
                    purposes=frozenset(purposes), retention=entry.get("retention", ""),
                    mask=entry.get("mask"), description=entry.get("description", ""),
                ))
            except ConfigurationError as exc:
                raise FormatError(str(exc)) from None
        try:
            return cls(fields, version=version)
        except ConfigurationError as exc:
            raise FormatError(str(exc)) from None


def load_inventory(path: PathLike) -> DataInventory:
    """Load a :class:`DataInventory` from a ``.toml`` or ``.json`` file.

    Raises :class:`~finprivacy.errors.FormatError` for a file that does not parse or
    does not have the inventory's shape, and :class:`ConfigurationError` for an
    unreadable file or an unknown extension.
    """
    inventory = DataInventory.from_dict(read_document(path, "inventory"))
    inventory._source = Path(path).name
    return inventory


def read_document(path: PathLike, what: str) -> Mapping[str, Any]:
    """Parse a TOML or JSON file into a mapping; errors name the file, not its content.

    ``what`` names the document in errors (``"policy"``, ``"inventory"``). Used by
    :func:`load_inventory` and :func:`~finprivacy.load_policy`; deep nesting, bad
    UTF-8 and syntax errors raise typed errors.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in {".toml", ".json"}:
        raise ConfigurationError(f"{what} file {p.name!r}: use a .toml or .json file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"{what} file {p.name!r} cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} file {p.name!r} is not UTF-8") from None
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FormatError(f"{what} file {p.name!r} is not valid TOML ({exc})") from None
        except RecursionError:
            raise FormatError(f"{what} file {p.name!r} is nested too deeply") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FormatError(f"{what} file {p.name!r} is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{what} file {p.name!r} is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise FormatError(f"{what} file {p.name!r} must hold a JSON object")
    return doc


def bookkeeping_inventory() -> DataInventory:
    """Return a starting inventory for a bookkeeping firm's client records.

    Categories and levels follow JR/T 0171-2020 §4.2 (C3 authentication data, C2
    identity/account/property data, C1 internal data); retention classes name the
    Accounting Archives Management Measures (会计档案管理办法, 2015) periods: 30 years
    for ledgers and vouchers, 10 years for bank statements and reconciliations.
    """
    acct = frozenset({"account_verification", "bookkeeping"})
    return DataInventory([
        DataField("client_id", category="internal", sensitivity="C1",
                  purposes=frozenset({"account_verification", "bookkeeping", "marketing"})),
        DataField("name", category="identity", sensitivity="C2",
                  purposes=frozenset({"account_verification", "bookkeeping", "marketing"}),
                  mask="name"),
        DataField("id_number", category="identity", sensitivity="C2",
                  purposes=frozenset({"account_verification"}), mask="cn_id",
                  retention="client_identity_5y"),
        DataField("phone", category="contact", sensitivity="C2",
                  purposes=frozenset({"account_verification", "marketing"}), mask="cn_phone"),
        DataField("email", category="contact", sensitivity="C2",
                  purposes=frozenset({"marketing"}), mask="email"),
        DataField("card_no", category="account", sensitivity="C2", purposes=acct,
                  mask="bank_card", retention="bank_statements_10y"),
        DataField("balance", category="financial", sensitivity="C2",
                  purposes=frozenset({"bookkeeping"}), retention="ledgers_30y"),
        DataField("opened_on", category="internal", sensitivity="C1", purposes=acct),
        DataField("branch", category="internal", sensitivity="C1", purposes=acct),
        DataField("password", category="authentication", sensitivity="C3"),
        DataField("cvv", category="authentication", sensitivity="C3"),
        DataField("pin", category="authentication", sensitivity="C3"),
    ], version="bookkeeping-1")
