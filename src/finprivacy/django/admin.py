"""``MaskedAdminMixin``: the admin shows encrypted fields masked and read-only.

::

    @admin.register(Client)
    class ClientAdmin(MaskedAdminMixin, admin.ModelAdmin):
        list_display = ("client_no", "id_no", "card_no")

Each encrypted field in ``list_display`` and on the change page shows
``field.masked(value)`` (by the field's ``mask=`` kind, else ``****``); the change
form never carries the plaintext, so staff cannot read it from the page source.
"""

from __future__ import annotations

from typing import Any

from .fields import EncryptedField

__all__ = ["MaskedAdminMixin"]


def _shower(field: EncryptedField) -> Any:
    def show(obj: Any) -> str:
        return field.masked(getattr(obj, field.name))

    show.short_description = field.verbose_name  # type: ignore[attr-defined]
    return show


class MaskedAdminMixin:
    """Mix into a ``ModelAdmin`` before it: encrypted fields are masked and read-only."""

    model: Any

    def _encrypted(self) -> list[EncryptedField]:
        return [f for f in self.model._meta.local_fields if isinstance(f, EncryptedField)]

    def get_list_display(self, request: Any) -> Any:
        """Swap encrypted fields in ``list_display`` for their masked display."""
        shown = list(super().get_list_display(request))  # type: ignore[misc]
        by_name = {f.name: f for f in self._encrypted()}
        return [_shower(by_name[n]) if isinstance(n, str) and n in by_name else n
                for n in shown]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        """Encrypted fields are shown (masked), not edited, on the change page."""
        base = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*base, *(f"masked_{f.name}" for f in self._encrypted())]

    def get_exclude(self, request: Any, obj: Any = None) -> Any:
        """Keep encrypted fields (and blind indexes) out of the form."""
        base = list(super().get_exclude(request, obj) or ())  # type: ignore[misc]
        names = [f.name for f in self._encrypted()]
        return [*base, *names, *(f"{n}_bidx" for n in names)]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("masked_"):
            for field in self._encrypted():
                if name == f"masked_{field.name}":
                    return _shower(field)
        raise AttributeError(name)
