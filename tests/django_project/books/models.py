"""Models of the Django test app: every encrypted field kind, a blind index, row binding."""

from __future__ import annotations

from django.db import models

from finprivacy.django import (
    EncryptedBinaryField,
    EncryptedCharField,
    EncryptedDateField,
    EncryptedDecimalField,
    EncryptedJSONField,
    EncryptedTextField,
)


class Client(models.Model):
    client_no = models.CharField(max_length=36)
    name = models.CharField(max_length=40, default="")
    id_no = EncryptedCharField(blind_index=True, mask="cn_id", null=True)
    card_no = EncryptedCharField(row_key="client_no", mask="bank_card", null=True)
    phone = EncryptedCharField(mask="cn_phone", null=True)
    note = EncryptedTextField(null=True)
    born = EncryptedDateField(null=True)
    balance = EncryptedDecimalField(null=True)
    profile = EncryptedJSONField(null=True)
    scan = EncryptedBinaryField(null=True)

    class Meta:
        app_label = "books"


class PlainClient(models.Model):
    """The same shape with plain fields: the benchmark baseline."""

    client_no = models.CharField(max_length=36)
    id_no = models.CharField(max_length=18, db_index=True, null=True)
    card_no = models.CharField(max_length=19, null=True)
    phone = models.CharField(max_length=11, null=True)

    class Meta:
        app_label = "books"


class Legacy(models.Model):
    """A table whose phone column still holds plaintext (the migration test)."""

    phone = EncryptedCharField(accept_plaintext=True, blind_index=True, null=True)

    class Meta:
        app_label = "books"
