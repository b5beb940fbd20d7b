"""Django integration (extra ``django``).

Encrypted model fields, blind-index lookups, settings and system checks, a principal
middleware, masked admin, management commands and a migration operation.

Add ``"finprivacy.django"`` to ``INSTALLED_APPS`` (for the checks and the management
commands), configure ``FINPRIVACY`` in the settings (see :mod:`finprivacy.django.conf`)
and use the fields::

    from finprivacy.django import EncryptedCharField, EncryptedDecimalField

    class Client(models.Model):
        client_no = models.CharField(max_length=36, unique=True)
        id_no = EncryptedCharField(blind_index=True, mask="cn_id")
        balance = EncryptedDecimalField(null=True)

    Client.objects.filter(id_no="11010519491231002X")     # through the blind index

Importing this package imports Django; nothing else in finprivacy does.
"""

from __future__ import annotations

from .conf import get_keyring as get_keyring
from .conf import reset as reset
from .fields import BlindIndexField as BlindIndexField
from .fields import EncryptedBinaryField as EncryptedBinaryField
from .fields import EncryptedCharField as EncryptedCharField
from .fields import EncryptedDateField as EncryptedDateField
from .fields import EncryptedDecimalField as EncryptedDecimalField
from .fields import EncryptedField as EncryptedField
from .fields import EncryptedJSONField as EncryptedJSONField
from .fields import EncryptedTextField as EncryptedTextField

__all__ = [
    "BlindIndexField",
    "EncryptedBinaryField",
    "EncryptedCharField",
    "EncryptedDateField",
    "EncryptedDecimalField",
    "EncryptedField",
    "EncryptedJSONField",
    "EncryptedTextField",
    "get_keyring",
    "reset",
]
