"""The admin shows encrypted fields masked."""

from django.contrib import admin

from finprivacy.django.admin import MaskedAdminMixin

from .models import Client


@admin.register(Client)
class ClientAdmin(MaskedAdminMixin, admin.ModelAdmin):
    list_display = ("client_no", "name", "id_no", "card_no", "phone")
