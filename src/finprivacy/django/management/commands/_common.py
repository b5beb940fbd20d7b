"""What ``finprivacy_reencrypt`` and ``finprivacy_reindex`` share: walking a field in batches."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError

from ...fields import EncryptedField

__all__ = ["add_walk_arguments", "encrypted_fields", "stored_token", "walk"]


def add_walk_arguments(parser: Any) -> None:
    """Add the arguments both commands take."""
    parser.add_argument("target", nargs="?", help="app_label.Model or app_label.Model.field")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--after", default=None, help="resume after this primary key")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--database", default="default", help="the database alias")


def encrypted_fields(label: str | None) -> Iterator[tuple[Any, EncryptedField]]:
    """``(model, field)`` for every encrypted field, or those of ``app.Model[.field]``."""
    parts = label.split(".") if label else []
    if len(parts) not in (0, 2, 3):
        raise CommandError("name app_label.Model or app_label.Model.field")
    models = [apps.get_model(parts[0], parts[1])] if parts else apps.get_models()
    for model in models:
        for field in model._meta.local_fields:
            if isinstance(field, EncryptedField) and (len(parts) < 3 or field.name == parts[2]):
                yield model, field


def walk(model: Any, field: EncryptedField, work: Callable[[Any], bool], *,
         batch_size: int, after: Any, quiet: bool, using: str = "default"
         ) -> tuple[int, Any]:
    """Call ``work(obj)`` for each row after primary key ``after``; return (changed, last).

    Each batch is saved in one transaction; progress goes to stderr. ``last`` is the
    last primary key done, to resume with ``--after``.
    """
    from django.db import transaction

    pk = model._meta.pk.name
    manager = model._base_manager.db_manager(using)
    total = manager.count()
    changed = seen = 0
    last = after
    while True:
        rows = manager.order_by(pk)
        if last is not None:
            rows = rows.filter(**{f"{pk}__gt": last})
        batch = list(rows[:batch_size])
        if not batch:
            break
        with transaction.atomic(using=using):
            for obj in batch:
                if work(obj):
                    changed += 1
        seen += len(batch)
        last = getattr(batch[-1], pk)
        if not quiet:
            sys.stderr.write(f"\r{model._meta.label}.{field.name}: {seen}/{total} rows, "
                             f"{changed} rewritten (resume with --after {last})")
    if not quiet:
        sys.stderr.write("\n")
    return changed, last


def stored_token(model: Any, field: EncryptedField, pk: Any, using: str) -> str | None:
    """Return the text stored in ``field``'s column for row ``pk`` (not decrypted)."""
    from django.db import connections

    connection = connections[using]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn(field.column)} FROM {qn(model._meta.db_table)} "  # noqa: S608
                       f"WHERE {qn(model._meta.pk.column)} = %s", [pk])
        row = cursor.fetchone()
    return None if row is None else row[0]
