"""``manage.py finprivacy_reindex [app.Model[.field]]``: recompute blind indexes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ._common import add_walk_arguments, encrypted_fields, walk

__all__ = ["Command"]


class Command(BaseCommand):
    """Recompute the blind index of every row whose stored index is stale (after a rotation)."""

    help = "Recompute blind indexes under the current key, in batches; resumable"

    def add_arguments(self, parser: Any) -> None:
        """``target``, ``--batch-size``, ``--after``, ``--quiet``, ``--database``."""
        add_walk_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        """Walk each blind-indexed field; print how many rows were rewritten."""
        for model, field in encrypted_fields(options["target"]):
            if not field.blind_index:
                continue
            companion = f"{field.name}_bidx"
            index = field.blind()
            db = options["database"]

            def work(obj: Any, field: Any = field, companion: str = companion,
                     index: Any = index, model: Any = model, db: str = db) -> bool:
                value = getattr(obj, field.name)
                want = None if value is None else index.compute(value.reveal())
                if getattr(obj, companion) == want:
                    return False
                model._base_manager.using(db).filter(pk=obj.pk).update(**{companion: want})
                return True

            changed, _ = walk(model, field, work, batch_size=options["batch_size"],
                              after=options["after"], quiet=options["quiet"],
                              using=options["database"])
            self.stdout.write(f"{model._meta.label}.{field.name}: {changed} reindexed")
