"""Encrypted Django model fields and their blind index.

Each field stores an ``fp1`` token in a text column and gives back a
:class:`~finprivacy.Secret`. The context bound into every token is
``"app_label.model.field"`` unless ``context=`` says otherwise; ``row_key="client_no"``
binds it to the row too (``"…#<client_no>"``), so a token copied into another row
fails to decrypt. ``blind_index=True`` adds a companion ``<name>_bidx`` column, kept
in step on every save, through which ``filter(field=value)`` and ``field__in`` look
rows up (rotation-aware). Every other lookup on an encrypted field raises
:class:`~finprivacy.errors.ConfigurationError` at once, instead of silently matching
nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.query_utils import DeferredAttribute

from ..crypto import BlindIndex, Keyring, ValueCodec, is_token, record_context
from ..crypto._codecs import BYTES, DATE, DECIMAL, JSON, TEXT
from ..errors import ConfigurationError, InvalidInputError
from ..masking import mask as mask_value
from ..secret import Secret
from .conf import cached, get_keyring, setting

__all__ = [
    "BlindIndexField",
    "EncryptedBinaryField",
    "EncryptedCharField",
    "EncryptedDateField",
    "EncryptedDecimalField",
    "EncryptedField",
    "EncryptedJSONField",
    "EncryptedTextField",
]


class _Token(str):
    """A token already sealed by ``pre_save``: ``get_prep_value`` passes it through."""

    __slots__ = ()


class _SealedValue:
    """A row-bound token read from the database, opened on first attribute access."""

    __slots__ = ("field", "token")

    def __init__(self, field: EncryptedField, token: str) -> None:
        self.field = field
        self.token = token

    def open(self, record_id: object) -> Secret[Any]:
        return self.field._open(self.token, record_context(self.field.context, record_id))

    def __repr__(self) -> str:
        return f"<sealed {self.field.context}>"


class _OpeningAttribute(DeferredAttribute):
    """Opens a row-bound value with the row's key when it is first read."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if isinstance(value, _SealedValue):
            field: EncryptedField = self.field
            rid = getattr(instance, field.row_key or "")
            value = value.open(rid)
            instance.__dict__[field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # A data descriptor, so reads come through __get__ even once a value is loaded.
        instance.__dict__[self.field.attname] = value


class EncryptedField(models.Field):
    """Base of the encrypted fields: a text column holding an ``fp1`` token.

    ``context``: the context bound into tokens (default ``app_label.model.field``);
    ``row_key``: the name of a field whose value binds each token to its row;
    ``blind_index``: add a ``<name>_bidx`` column for ``filter(name=…)`` and ``__in``;
    ``mask``: the masking kind the admin uses (``"cn_id"``, ``"bank_card"`` …);
    ``accept_plaintext``: read stored plaintext as well (the migration mode of
    :class:`~finprivacy.django.operations.EncryptField`).
    """

    codec: ValueCodec = TEXT
    description = "An encrypted value (an fp1 token in a text column)"
    descriptor_class = _OpeningAttribute

    def __init__(self, *args: Any, context: str | None = None, row_key: str | None = None,
                 blind_index: bool = False, mask: str | None = None,
                 accept_plaintext: bool = False, **kwargs: Any) -> None:
        if kwargs.get("primary_key") or kwargs.get("unique") or kwargs.get("db_index"):
            raise ConfigurationError(
                "an encrypted field cannot be a primary key, unique or indexed (its tokens "
                "are randomised); use blind_index=True for lookups")
        named: object = context
        if named is not None and (not isinstance(named, str) or not named):
            raise ConfigurationError("context must be a non-empty str")
        self.given_context = context
        self.context = context or ""
        self.row_key = row_key
        self.blind_index = blind_index
        self.mask = mask
        self.accept_plaintext = accept_plaintext
        kwargs.pop("max_length", None)  # tokens are longer than the plaintext
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        """Name the context after the model and add the blind-index column if asked."""
        super().contribute_to_class(cls, name, private_only)
        if not self.given_context:
            self.context = f"{cls._meta.app_label}.{cls._meta.model_name}.{name}"
        # Migration states ("__fake__" models) list the companion field themselves.
        if self.blind_index and not cls._meta.abstract and cls.__module__ != "__fake__":
            companion = f"{name}_bidx"
            if companion not in {f.name for f in cls._meta.local_fields}:
                cls.add_to_class(companion, BlindIndexField(source=name, editable=False))

    def deconstruct(self) -> Any:
        """For migrations."""
        name, path, args, kwargs = super().deconstruct()
        for key, default in (("context", None), ("row_key", None), ("blind_index", False),
                             ("mask", None), ("accept_plaintext", False)):
            value = self.given_context if key == "context" else getattr(self, key)
            if value != default:
                kwargs[key] = value
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        """Return ``TextField``: tokens are stored as text."""
        return "TextField"

    # -- sealing and opening ------------------------------------------------------------

    def keyring(self) -> Keyring:
        """Return the keyring from the settings."""
        return get_keyring()

    def _seal(self, value: Any, context: str) -> str:
        return self.codec.seal(self.keyring(), value, column=self.context, context=context)

    def _open(self, token: str, context: str) -> Secret[Any]:
        return self.codec.open(self.keyring(), token, column=self.context, context=context)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """Decrypt a stored token (a row-bound one when first read)."""
        if value is None:
            return None
        if self.accept_plaintext and not is_token(value):
            return Secret(self.codec.parse(value, self.context))
        if self.row_key is not None:
            return _SealedValue(self, value)
        return self._open(value, self.context)

    def to_python(self, value: Any) -> Any:
        """Forms and deserialisation: a token is opened, a plain value wrapped."""
        if value is None or isinstance(value, Secret | _SealedValue):
            return value
        if isinstance(value, str) and is_token(value) and self.row_key is None:
            return self._open(value, self.context)
        return Secret(self.codec.check(value, self.context))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        """Seal the instance's value (with its row key when row-bound)."""
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        if isinstance(value, _SealedValue):
            return _Token(value.token)
        context = self.context
        if self.row_key is not None:
            rid = getattr(model_instance, self.row_key)
            if rid is None or rid == "":
                raise InvalidInputError(
                    f"{type(model_instance).__name__}.{self.name} is bound to "
                    f"{self.row_key!r}, which is not set: set it before saving")
            context = record_context(self.context, rid)
        return _Token(self._seal(value, context))

    def get_prep_value(self, value: Any) -> Any:
        """Seal a value for an UPDATE; tokens sealed by ``pre_save`` pass through."""
        if value is None or isinstance(value, _Token):
            return None if value is None else str(value)
        if self.row_key is not None:
            raise ConfigurationError(
                f"{self.context}: a row-bound field is written by saving the model "
                "instance, not by QuerySet.update()")
        return self._seal(value, self.context)

    def value_to_string(self, obj: Any) -> str:
        """Return the token for serialisers (dumpdata), never the plaintext."""
        value = self.value_from_object(obj)
        if value is None:
            return ""
        return str(self.pre_save(obj, add=False))

    def get_lookup(self, lookup_name: str) -> Any:
        """``exact`` and ``in`` through the blind index, ``isnull``; others refuse."""
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if self.blind_index and lookup_name in ("exact", "in"):
            return _BlindExact if lookup_name == "exact" else _BlindIn
        raise ConfigurationError(
            f"{self.context}: an encrypted field cannot be searched with {lookup_name!r} "
            + ("(blind_index=True allows exact and in lookups)" if not self.blind_index
               else "(only exact and in lookups, through the blind index)"))

    def get_transform(self, lookup_name: str) -> Any:
        """No transforms (``__year``, ``__lower`` …) on encrypted values."""
        raise ConfigurationError(
            f"{self.context}: an encrypted field has no {lookup_name!r} transform")

    def masked(self, value: Any) -> str:
        """Return the value as the admin shows it: masked by ``mask`` (or in full)."""
        if value is None:
            return ""
        plain = value.reveal() if isinstance(value, Secret) else value
        if self.mask is None or not isinstance(plain, str):
            return "****"
        try:
            return mask_value(plain, kind=self.mask)
        except (ValueError, LookupError):
            return "****"

    def blind(self) -> BlindIndex:
        """Return the blind index of this field (named after its context)."""
        bits = int(setting("BLIND_INDEX_BITS", 32))
        return cached(f"bidx:{self.context}",  # type: ignore[no-any-return]
                      lambda: BlindIndex(self.keyring(), self.context, bits=bits,
                                         normalize=("nfkc", "strip_spaces", "upper")))


class EncryptedCharField(EncryptedField):
    """An encrypted short string (an ID number, a card number, a phone number)."""


class EncryptedTextField(EncryptedField):
    """An encrypted long text (a note, an address)."""


class EncryptedBinaryField(EncryptedField):
    """Encrypted ``bytes`` (a scanned signature, a small file)."""

    codec = BYTES


class EncryptedDateField(EncryptedField):
    """An encrypted ``datetime.date`` (a date of birth)."""

    codec = DATE


class EncryptedDecimalField(EncryptedField):
    """An encrypted exact amount: ``Decimal`` or ``int`` (no float), scale kept."""

    codec = DECIMAL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        super().__init__(*args, **kwargs)


class EncryptedJSONField(EncryptedField):
    """An encrypted JSON document (canonical JSON, keys sorted)."""

    codec = JSON


class BlindIndexField(models.CharField):
    """The blind index of an encrypted field, filled from ``source`` on every save.

    Added by ``blind_index=True``; declare it yourself only to name the column. It is
    indexed (not unique: a blind index is truncated and may collide by design).
    """

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        self.source = source
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        """For migrations."""
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        """Compute the index of the source field's current value."""
        source: EncryptedField = model_instance._meta.get_field(self.source)
        value = getattr(model_instance, source.attname)
        if value is None:
            index = None
        else:
            if isinstance(value, _SealedValue):
                value = getattr(model_instance, source.name)
            plain = value.reveal() if isinstance(value, Secret) else value
            index = source.blind().compute(plain)
        setattr(model_instance, self.attname, index)
        return index


class _BlindLookup(Lookup):
    prepare_rhs = False
    can_use_none_as_rhs = True

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def _index_sql(self, compiler: Any, connection: Any, values: list[Any]) -> Any:
        field: EncryptedField = self.lhs.output_field
        companion = field.model._meta.get_field(f"{field.name}_bidx")
        column_sql, params = compiler.compile(Col(self.lhs.alias, companion))
        index = field.blind()
        wanted: list[str] = []
        for value in values:
            if value is None:
                continue
            plain = value.reveal() if isinstance(value, Secret) else value
            wanted.extend(index.lookup_values(plain))
        parts: list[str] = []
        out: list[Any] = []
        if wanted:
            parts.append(f"{column_sql} IN ({', '.join(['%s'] * len(wanted))})")
            out += [*params, *wanted]
        if any(v is None for v in values):
            # the value's own column: a row not indexed yet is not NULL
            value_sql, value_params = compiler.compile(self.lhs)
            parts.append(f"{value_sql} IS NULL")
            out += value_params
        if not parts:
            return "1 = 0", []
        return "(" + " OR ".join(parts) + ")", out


class _BlindExact(_BlindLookup):
    lookup_name = "exact"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        return self._index_sql(compiler, connection, [self.rhs])


class _BlindIn(_BlindLookup):
    lookup_name = "in"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        return self._index_sql(compiler, connection, list(self.rhs))
