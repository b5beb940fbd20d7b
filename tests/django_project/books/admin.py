"""Admin of the test app: encrypted fields masked."""

from __future__ import annotations

from django.contrib import admin

from finprivacy.django.admin import MaskedAdminMixin

from .models import Client


@admin.register(Client)
class ClientAdmin(MaskedAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    list_display = ("client_no", "name", "id_no", "card_no")
