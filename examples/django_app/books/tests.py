"""The example's tests, run by Django's test runner: ``python manage.py test``."""

import json

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import TestCase

import finprivacy as fp

from .access import services
from .models import Client

ID_NO, CARD, PHONE = "11010519491231002X", "6222020200112233445", "13812345678"


class BooksTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        for name in ("accountant", "intern", "marketing", "supervisor"):
            user = User.objects.create_user(name, password="pw")
            user.groups.add(Group.objects.create(name=name))

    def setUp(self) -> None:
        self.as_user("accountant")
        made = self.client.post("/clients", json.dumps(
            {"name": "林小梅", "id_no": ID_NO, "card_no": CARD, "phone": PHONE}),
            content_type="application/json")
        self.assertEqual(made.status_code, 201)
        self.no = made.json()["client_no"]

    def as_user(self, name: str) -> None:
        self.client.force_login(User.objects.get(username=name))

    def test_stored_encrypted_and_masked_by_role(self) -> None:
        row = Client.objects.values_list("id_no", flat=False)  # goes through from_db_value
        self.assertIsInstance(Client.objects.get(client_no=self.no).id_no, fp.Secret)
        self.assertTrue(row)
        amy = self.client.get(f"/clients/{self.no}").json()
        self.assertEqual((amy["id_no"], amy["card_no"]), (ID_NO, CARD))
        self.as_user("intern")
        seen = self.client.get(f"/clients/{self.no}")
        for plain in (ID_NO, CARD, PHONE, "fp1."):
            self.assertNotIn(plain, seen.content.decode())

    def test_lookup_by_id_number(self) -> None:
        self.as_user("intern")
        found = self.client.get("/lookup", {"id_no": "110105 19491231 002x"}).json()
        self.assertEqual([c["client_no"] for c in found], [self.no])
        self.assertEqual(self.client.get("/lookup", {"id_no": "440306199001011236"}).json(),
                         [])

    def test_consent_gates_the_newsletter(self) -> None:
        self.as_user("marketing")
        self.assertEqual(self.client.get(f"/clients/{self.no}/newsletter").status_code, 403)
        self.client.post(f"/clients/{self.no}/consent")
        seen = self.client.get(f"/clients/{self.no}/newsletter").json()
        self.assertEqual(seen["phone"], PHONE)
        self.assertNotIn("id_no", seen)
        self.client.delete(f"/clients/{self.no}/consent")
        self.assertEqual(self.client.get(f"/clients/{self.no}/newsletter").status_code, 403)

    def test_break_glass_and_audit(self) -> None:
        self.as_user("intern")
        refused = self.client.post(f"/clients/{self.no}/emergency",
                                   json.dumps({"reason": "curious"}),
                                   content_type="application/json")
        self.assertEqual(refused.status_code, 403)
        self.as_user("supervisor")
        glass = self.client.post(f"/clients/{self.no}/emergency",
                                 json.dumps({"reason": "card stolen"}),
                                 content_type="application/json")
        self.assertEqual(glass.json()["card_no"], CARD)
        trail = self.client.get(f"/audit/{self.no}").json()
        self.assertTrue(any(e["break_glass"] for e in trail))
        self.assertTrue(all(e["request_id"] for e in trail))
        _, audit, _ = services()
        audit.verify()  # raises when tampered

    def test_admin_masks_and_commands_run(self) -> None:
        User.objects.create_superuser("root", password="pw")
        self.as_user("root")
        page = self.client.get("/admin/books/client/").content.decode()
        self.assertNotIn(ID_NO, page)
        self.assertIn(fp.mask(ID_NO, kind="cn_id"), page)
        call_command("finprivacy_reindex", "books.Client", "--quiet")
        call_command("finprivacy_reencrypt", "books.Client", "--quiet")
        self.assertEqual(Client.objects.get(client_no=self.no).id_no.reveal(), ID_NO)

    def test_checks_pass(self) -> None:
        call_command("check", "--fail-level", "WARNING")
