"""``fp.Hashed``: a pydantic marker for fields that are hashed with Argon2id, never encrypted.

PINs, passwords and security answers must be checkable but never readable again, so
they are hashed the moment a model is validated; the model only ever holds the hash::

    class Client(pydantic.BaseModel):
        phone_pin: Annotated[str, fp.Hashed(kind="pin")]

    c = Client(phone_pin="246810")        # c.phone_pin is "$argon2id$v=19$…"
    fp.Hashed(kind="pin").verify(c.phone_pin, "246810")   # raises on a mismatch

A value that already is a finprivacy Argon2id hash (when a stored row is loaded) is
kept as it is, so ``model_validate(model.model_dump())`` round-trips; with the
validation context ``{"require_tokens": True}`` (as for ``fp.Encrypted`` when loading
rows) anything that is not such a hash is refused instead of hashed. Untrusted input
that happens to look like a hash is kept as that hash: it can only make the field
unverifiable, never reveal or weaken another field. The plaintext
never reaches the model, its repr or its JSON; the JSON schema marks the field
``writeOnly`` with format ``password``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from .crypto import PROFILE_FINANCE, HashProfile, SecretHasher, SecretKind
from .errors import InvalidInputError
from .secret import Secret

__all__ = ["Hashed"]

_HASH_PREFIXES: Final = ("$argon2id$", "$fpp1$k=")


class Hashed:
    """Annotated marker: hash the field's input with Argon2id during validation.

    Pass ``profile`` and ``kind`` (``"password"``, ``"pin"`` or ``"security_answer"``),
    or a ready :class:`~finprivacy.crypto.SecretHasher` (for example one with a
    pepper) as ``hasher``. The annotated type must be ``str``.
    """

    __slots__ = ("_hasher",)

    def __init__(self, *, profile: HashProfile = PROFILE_FINANCE,
                 kind: SecretKind = "password", hasher: SecretHasher | None = None) -> None:
        if hasher is not None and not isinstance(hasher, SecretHasher):
            raise InvalidInputError("hasher must be a SecretHasher")
        self._hasher = hasher if hasher is not None else SecretHasher(profile, kind=kind)

    @property
    def hasher(self) -> SecretHasher:
        """The hasher that makes and checks this field's hashes."""
        return self._hasher

    def __repr__(self) -> str:
        return f"Hashed({self._hasher!r})"

    def verify(self, stored: str, secret: str | bytes | Secret[str] | Secret[bytes]) -> None:
        """Check ``secret`` against the stored field value; raise VerificationError if wrong."""
        self._hasher.verify(stored, secret)

    def needs_rehash(self, stored: str) -> bool:
        """Return whether the stored field value was made with other parameters."""
        return self._hasher.needs_rehash(stored)

    def _wrap(self, value: object, handler: core_schema.ValidatorFunctionWrapHandler,
              info: core_schema.ValidationInfo) -> str:
        # Runs first. A stored hash passes through; anything else is wrapped in a Secret
        # before the hashing step, so a validation error shows Secret('**********') as
        # its input instead of the plaintext.
        if isinstance(value, str) and value.startswith(_HASH_PREFIXES):
            return value
        context = info.context
        if isinstance(context, Mapping) and context.get("require_tokens"):
            # Loading stored rows: a value that is not a hash was not written by us.
            # Refused inside the inner step so the error shows a masked input.
            refused: str = handler(_NotAHash())
            return refused
        result: str = handler(value if isinstance(value, Secret) else Secret(value))
        return result

    def _hash(self, value: Secret[object] | _NotAHash) -> str:
        if isinstance(value, _NotAHash):
            raise PydanticCustomError("finprivacy_hash_required",
                                      "expected a stored Argon2id hash")
        raw = value.reveal()
        if not isinstance(raw, str):
            raise InvalidInputError("a hashed field takes text")
        return self._hasher.hash(raw)

    def __get_pydantic_core_schema__(self, source_type: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        if source_type is not str:
            raise InvalidInputError("fp.Hashed() annotates str fields only")
        return core_schema.with_info_wrap_validator_function(
            self._wrap,
            core_schema.no_info_plain_validator_function(self._hash),
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, when_used="always"
            ),
        )

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "format": "password", "writeOnly": True}


class _NotAHash:
    """Stands in for a refused input so pydantic's error shows no plaintext."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('**********')"
