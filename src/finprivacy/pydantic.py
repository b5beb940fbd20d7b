"""pydantic v2 field types: ``fp.Encrypted`` stores a field as an ``fp1`` token.

::

    class Customer(pydantic.BaseModel):
        id: int
        card_no: Annotated[fp.Secret[str], fp.Encrypted(context="customers.card_no")]
        id_no: Annotated[fp.Secret[str] | None,
                         fp.Encrypted(context="customers.id_no", context_field="id")] = None

    with fp.use_keyring(keyring):
        row = Customer(id=7, card_no="6222020200112233445").model_dump(mode="json")
        # row["card_no"] == "fp1.1a2b3c4d.…"
        Customer.model_validate(row).card_no.reveal()      # "6222020200112233445"

* **Construction** accepts the plaintext (``str`` for ``Secret[str]``, ``bytes`` for
  ``Secret[bytes]``) or a :class:`~finprivacy.secret.Secret`; the model holds a
  ``Secret``, so its repr, str and validation errors show only ``**********``.
* **Dumping** with ``mode="json"`` (and ``model_dump_json()``) encrypts under the
  keyring passed as ``context={"keyring": kr}`` or else the current one
  (:class:`~finprivacy.crypto.use_keyring`). Without a keyring it raises: pydantic
  wraps the :class:`~finprivacy.errors.ConfigurationError` in its
  ``PydanticSerializationError``, whose message names it. Plaintext is never written in
  place of a token. ``mode="python"`` keeps the ``Secret``.
* **Loading** a token decrypts it. A token that fails to decrypt raises
  :class:`~finprivacy.errors.DecryptionError` (a retired or destroyed key
  :class:`~finprivacy.errors.KeyUnavailableError`, itself a ``DecryptionError``); the
  stored value is never handed back.
  In JSON mode (``model_validate_json``) a non-token is refused; in python mode it is
  taken as new plaintext, unless the validation context says ``{"require_tokens":
  True}`` — pass that when loading rows, so a value written into the database by
  someone without the key cannot pass for a decrypted one.
* **Migrating a plaintext column**: ``fp.Encrypted(..., accept_plaintext=True)``
  accepts a non-token as legacy plaintext and :func:`needs_resave` reports the model,
  so the caller writes it back encrypted. Real tokens that fail still raise.
* **Binding the row**: ``context_field="id"`` encrypts under
  ``record_context(context, model.id)`` (``"customers.id_no#7"``), so a token copied to
  another row fails. The named field must be declared *before* the encrypted one.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

import pydantic
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from .crypto import Keyring, current_keyring, record_context
from .crypto._token import PREFIX_PATTERN
from .errors import ConfigurationError, InvalidInputError
from .secret import Secret

__all__ = ["Encrypted", "needs_resave"]


class _Loaded(Secret[Any]):
    """A Secret that remembers where it came from: the key id, or None for legacy plaintext."""

    __slots__ = ("_fp_origin",)

    def __init__(self, value: Any, origin: str | None) -> None:
        super().__init__(value)
        self._fp_origin = origin


class _MaskedInput:
    """The raw input, masked: validation errors show this instead of the value."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __reduce_ex__(self, protocol: object) -> typing.NoReturn:
        raise TypeError("masked input cannot be pickled")


_KNOWN_PREFIXES = frozenset({"fp1", "fpd1", "fps1"})


def _looks_like_token(value: str) -> bool:
    # Cheap shape test: "<prefix>.<key id>.<body>" with a finprivacy prefix.
    head, dot, _ = value.partition(".")
    return (bool(dot) and value.count(".") == 2
            and (head in _KNOWN_PREFIXES or PREFIX_PATTERN.fullmatch(head) is not None))


def _keyring_from(context: object) -> Keyring:
    if context is not None and (type(context) is dict or isinstance(context, Mapping)):
        kr = context.get("keyring")
        if kr is not None:
            if type(kr) is not Keyring and not isinstance(kr, Keyring):
                raise ConfigurationError("context['keyring'] must be a finprivacy Keyring")
            return kr
    return current_keyring()


def _require_tokens(context: object) -> bool:
    if context is None or not (type(context) is dict or isinstance(context, Mapping)):
        return False
    return bool(context.get("require_tokens"))


def _inner_type(source: Any) -> tuple[type[str] | type[bytes], bool]:
    """Return (str or bytes, nullable) for Secret[str], Secret[bytes] and their Optionals."""
    nullable = False
    origin = typing.get_origin(source)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(source) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(source))
        if len(args) != 1:
            raise ConfigurationError("fp.Encrypted() annotates Secret[str] or Secret[bytes] "
                                     "(optionally | None)")
        source = args[0]
        origin = typing.get_origin(source)
    if origin is Secret:
        (arg,) = typing.get_args(source)
        if arg is str or arg is bytes:
            return arg, nullable
    raise ConfigurationError("fp.Encrypted() annotates Secret[str] or Secret[bytes] "
                             "(optionally | None), never a plain str")


@dataclasses.dataclass(frozen=True, slots=True)
class Encrypted:
    """Annotated marker: keep the field a ``Secret`` in memory, an ``fp1`` token when dumped.

    ``context`` names the column (``"customers.card_no"``) and is bound into every
    token. ``context_field`` names another field (declared earlier) whose value binds
    the token to its record. ``accept_plaintext=True`` is the opt-in migration mode for
    a column that still holds plaintext: such values load, and :func:`needs_resave`
    says the model must be written back.
    """

    context: str
    accept_plaintext: bool = False
    context_field: str | None = None

    def __post_init__(self) -> None:
        context: object = self.context
        if not isinstance(context, str) or not context:
            raise ConfigurationError("fp.Encrypted(context=...) needs a non-empty str")
        if self.context_field is not None and not self.context_field.isidentifier():
            raise ConfigurationError("context_field must name a field")

    def _context_for(self, record_id: object, field: str | None) -> str:
        if self.context_field is None:
            return self.context
        if record_id is None:
            raise InvalidInputError(
                f"field {field or '?'} is bound to {self.context_field!r}, which is None; "
                "set it before encrypting or decrypting")
        return record_context(self.context, record_id)

    def __get_pydantic_core_schema__(self, source_type: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        kind, nullable = _inner_type(source_type)
        marker = self
        bound = self.context_field

        def validate(boxed: _MaskedInput, info: core_schema.ValidationInfo) -> Secret[Any]:
            value = boxed.value
            if isinstance(value, str) and _looks_like_token(value):
                if bound is None:
                    context = marker.context
                else:
                    data = info.data
                    if bound not in data:
                        raise ConfigurationError(
                            f"field {info.field_name} is bound to {bound!r}, which must be "
                            "declared before it and be valid")
                    context = marker._context_for(data[bound], info.field_name)
                keyring = _keyring_from(info.context)
                plain = keyring.decrypt(value, context=context)
                if type(plain) is not kind:
                    raise PydanticCustomError(
                        "finprivacy_encrypted_type",
                        "the token holds {held}, the field expects {kind}",
                        {"held": type(plain).__name__, "kind": kind.__name__})
                return _Loaded(plain, value.split(".", 2)[1])
            if isinstance(value, Secret):
                if not isinstance(value.reveal(), kind):
                    raise PydanticCustomError(
                        "finprivacy_encrypted_type", "expected Secret[{kind}]",
                        {"kind": kind.__name__})
                return value
            is_json = info.mode == "json"
            if kind is bytes and isinstance(value, bytearray | memoryview):
                value = bytes(value)
            if is_json and kind is bytes and isinstance(value, str) and marker.accept_plaintext:
                value = value.encode("utf-8")
            if not isinstance(value, kind):
                raise PydanticCustomError(
                    "finprivacy_encrypted_type",
                    "expected {kind} plaintext or an fp1 token, got {got}",
                    {"kind": kind.__name__, "got": type(value).__name__})
            if marker.accept_plaintext:
                return _Loaded(value, None)
            if is_json or _require_tokens(info.context):
                raise PydanticCustomError(
                    "finprivacy_token_required",
                    "expected an fp1 token; use fp.Encrypted(accept_plaintext=True) to "
                    "migrate a plaintext column")
            return Secret(value)

        def serialize(*args: Any) -> Any:
            # (value, info) or, with context_field, (model, value, info).
            info: core_schema.SerializationInfo = args[-1]
            value = args[-2]
            if not isinstance(value, Secret):
                raise ConfigurationError(
                    "an encrypted field holds something other than a Secret; "
                    "refusing to serialise it")
            keyring = _keyring_from(info.context)
            if bound is None:
                return keyring.encrypt(value.reveal(), context=marker.context)
            return keyring.encrypt(value.reveal(), context=marker._context_for(
                getattr(args[0], bound), None))

        ser = core_schema.plain_serializer_function_ser_schema(
            serialize, info_arg=True, is_field_serializer=bound is not None,
            when_used="json")
        schema: core_schema.CoreSchema = core_schema.chain_schema(
            [core_schema.no_info_plain_validator_function(_MaskedInput),
             core_schema.with_info_plain_validator_function(validate)],
            serialization=ser)
        if nullable:
            schema = core_schema.nullable_schema(schema)
        return schema

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        token: JsonSchemaValue = {
            "type": "string", "format": "finprivacy-token",
            "pattern": r"^fp1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
            "description": f"an fp1 token (AES-256-GCM) bound to {self.context!r}"}
        if schema.get("type") == "nullable":
            return {"anyOf": [token, {"type": "null"}]}
        return token


def needs_resave(model: pydantic.BaseModel, *, keyring: Keyring | None = None) -> bool:
    """Return whether ``model`` should be written back to storage to finish a migration.

    True when an encrypted field was loaded from legacy plaintext
    (``accept_plaintext=True``), or from a token under a key that is not ``keyring``'s
    primary (``keyring`` defaults to the current one, if any). Nested models in fields,
    lists, tuples and dict values are checked too.
    """
    if keyring is None:
        try:
            keyring = current_keyring()
        except ConfigurationError:
            keyring = None
    primary = keyring.primary_id if keyring is not None else None
    return _needs_resave(model, primary)


def _needs_resave(obj: object, primary: str | None) -> bool:
    if isinstance(obj, _Loaded):
        origin = obj._fp_origin
        return origin is None or (primary is not None and origin != primary)
    if isinstance(obj, pydantic.BaseModel):
        return any(_needs_resave(getattr(obj, name), primary)
                   for name in type(obj).model_fields)
    if isinstance(obj, list | tuple | set | frozenset):
        return any(_needs_resave(v, primary) for v in obj)
    if isinstance(obj, dict):
        return any(_needs_resave(v, primary) for v in obj.values())
    return False
