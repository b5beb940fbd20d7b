"""``EncryptField``: a migration operation that encrypts an existing plaintext column.

Without downtime: first deploy the model with the encrypted field and
``accept_plaintext=True`` (it reads plaintext and tokens, and writes tokens), then run
a migration with::

    operations = [EncryptField("client", "id_no", batch_size=1000)]

which seals every plaintext value left, in primary-key order, a batch per query;
values that are already tokens are skipped, so an interrupted run is resumed by
running it again (``migrate`` again). Blind indexes are filled at the same time.
Finally deploy with ``accept_plaintext=False``. Reversing is refused: decrypting a
column back to plaintext is not a migration step.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction
from django.db.migrations.operations.base import Operation

from ..crypto import is_token, record_context
from .fields import EncryptedField

__all__ = ["EncryptField", "encrypt_rows"]


def encrypt_rows(model: Any, field_name: str, *, batch_size: int = 1000,
                 using: str = "default") -> int:
    """Seal the plaintext left in ``model.field_name``; return how many rows changed."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, EncryptedField):
        raise TypeError(f"{field_name} is not an encrypted field")
    companion = f"{field.name}_bidx" if field.blind_index else None
    connection = connections[using]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    done = 0
    last: Any = None
    while True:
        key_column = qn(model._meta.pk.column)
        select = (f"SELECT {key_column}, {qn(field.column)}"  # noqa: S608 - quoted names
                  + (f", {qn(model._meta.get_field(field.row_key).column)}"
                     if field.row_key else "")
                  + f" FROM {table}"
                  + (f" WHERE {qn(model._meta.pk.column)} > %s" if last is not None else "")
                  + f" ORDER BY {qn(model._meta.pk.column)} LIMIT {int(batch_size)}")
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(select, [last] if last is not None else [])
            fetched = cursor.fetchall()
            if not fetched:
                break
            for row in fetched:
                stored = row[1]
                if stored is None or is_token(stored):
                    continue
                plain = field.codec.parse(stored, field.context)
                context = (field.context if field.row_key is None
                           else record_context(field.context, row[2]))
                sets = [f"{qn(field.column)} = %s"]
                params: list[Any] = [field._seal(plain, context)]
                if companion is not None:
                    index_field = model._meta.get_field(companion)
                    sets.append(f"{qn(index_field.column)} = %s")
                    params.append(field.blind().compute(plain))
                update = (f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 - as above
                          f"WHERE {qn(model._meta.pk.column)} = %s")
                cursor.execute(update, [*params, row[0]])
                done += 1
        last = fetched[-1][0]
    return done


class EncryptField(Operation):
    """Encrypt the plaintext left in ``model_name.name`` (see the module docstring)."""

    reversible = False
    reduces_to_sql = False

    def __init__(self, model_name: str, name: str, batch_size: int = 1000) -> None:
        self.model_name = model_name
        self.name = name
        self.batch_size = batch_size

    def deconstruct(self) -> Any:
        """For the migration file."""
        return (self.__class__.__name__, [self.model_name, self.name],
                {"batch_size": self.batch_size})

    def state_forwards(self, app_label: str, state: Any) -> None:
        """Leave the state alone: the schema does not change."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any,
                          to_state: Any) -> None:
        """Seal the rows, with the current model class (its fields know their keys)."""
        from django.apps import apps

        model = apps.get_model(app_label, self.model_name)
        encrypt_rows(model, self.name, batch_size=self.batch_size,
                     using=schema_editor.connection.alias)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any,
                           to_state: Any) -> None:
        """Refused."""
        raise NotImplementedError("EncryptField cannot be reversed")

    def describe(self) -> str:
        """For ``manage.py migrate`` output."""
        return f"Encrypt the plaintext left in {self.model_name}.{self.name}"
