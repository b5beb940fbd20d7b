"""Models for the Django benchmark: the same client three ways."""

from django.db import models

from finprivacy.django import EncryptedCharField


class Plain(models.Model):
    id_no = models.CharField(max_length=18, db_index=True)
    card_no = models.CharField(max_length=19)
    phone = models.CharField(max_length=11)

    class Meta:
        app_label = "_django_app"


class Sealed(models.Model):
    id_no = EncryptedCharField(blind_index=True, mask="cn_id")
    card_no = EncryptedCharField(mask="bank_card")
    phone = EncryptedCharField(mask="cn_phone")

    class Meta:
        app_label = "_django_app"


try:
    from encrypted_fields.fields import EncryptedCharField as FernetCharField

    class Fernet(models.Model):
        id_no = FernetCharField(max_length=18)
        card_no = FernetCharField(max_length=19)
        phone = FernetCharField(max_length=11)

        class Meta:
            app_label = "_django_app"
except ImportError:  # the peer is optional: pip install -e '.[bench]'
    pass
