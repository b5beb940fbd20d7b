"""``manage.py finprivacy_reencrypt [app.Model[.field]]``: rewrite tokens under the primary key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ._common import add_walk_arguments, encrypted_fields, stored_token, walk

__all__ = ["Command"]


class Command(BaseCommand):
    """Re-encrypt every token not under the keyring's primary key (after a rotation)."""

    help = ("Re-encrypt encrypted fields whose tokens are not under the primary key, in "
            "batches; resumable (rows already done are skipped)")

    def add_arguments(self, parser: Any) -> None:
        """``target``, ``--batch-size``, ``--after``, ``--quiet``, ``--database``."""
        add_walk_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        """Walk each field; print how many rows were rewritten."""
        for model, field in encrypted_fields(options["target"]):
            kr = field.keyring()
            using = options["database"]

            def work(obj: Any, field: Any = field, kr: Any = kr, model: Any = model,
                     using: str = using) -> bool:
                raw = stored_token(model, field, obj.pk, using)
                if raw is None or not kr.needs_reencrypt(raw):
                    return False
                getattr(obj, field.name)  # open a row-bound value before saving
                obj.save(update_fields=[field.name], using=using)
                return True

            changed, _ = walk(model, field, work, batch_size=options["batch_size"],
                              after=options["after"], quiet=options["quiet"],
                              using=options["database"])
            self.stdout.write(f"{model._meta.label}.{field.name}: {changed} re-encrypted")
