"""The client file: ID, card and phone encrypted; lookup by ID number through a blind index."""

from django.db import models

from finprivacy.django import EncryptedCharField


class Client(models.Model):
    client_no = models.CharField(max_length=36, unique=True)
    name = models.CharField(max_length=60)
    id_no = EncryptedCharField(blind_index=True, mask="cn_id")
    card_no = EncryptedCharField(row_key="client_no", mask="bank_card", null=True)
    phone = EncryptedCharField(mask="cn_phone", null=True)

    def row(self) -> dict[str, object]:
        return {"client_no": self.client_no, "name": self.name, "id_no": self.id_no,
                "card_no": self.card_no, "phone": self.phone}
