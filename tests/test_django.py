"""finprivacy.django (issue 17) against real Django, on SQLite and PostgreSQL.

Fields seal on save and open on load as Secrets; blind-index lookups (exact, in) find
rows and survive a rotation; other lookups refuse; row-bound tokens do not move; the
system checks, the middleware, the masked admin, the management commands and the
migration operation all run for real.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("django")

import finprivacy as fp
from finprivacy.crypto import is_token

ID_A, ID_B = "11010519491231002X", "440306199001011236"
CARD = "6222020200112233445"


@pytest.fixture(params=["default", pytest.param("pg", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, django_project: list[str]) -> Iterator[str]:
    """One database alias, each test in a transaction rolled back afterwards."""
    if request.param not in django_project:
        pytest.skip("PostgreSQL is not available")
    from django.db import transaction

    atomic = transaction.atomic(using=request.param)
    atomic.__enter__()
    try:
        yield request.param
    finally:
        transaction.set_rollback(True, using=request.param)
        atomic.__exit__(None, None, None)


def _raw(alias: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall()) if cursor.description else []


def test_fields_seal_on_save_and_open_as_secrets(db: str) -> None:
    from tests.django_project.books.models import Client

    c = Client(client_no="c-1", name="amy", id_no=ID_A, card_no=CARD, phone="13812345678",
               note="长期客户", born=dt.date(1949, 12, 31), balance=decimal.Decimal("10.50"),
               profile={"risk": "low"}, scan=b"\x00\x01")
    c.save(using=db)
    assert isinstance(c.id_no, str)  # the instance keeps what was assigned
    row = _raw(db, "select id_no, card_no, phone, note, born, balance, profile, scan, "
                   "id_no_bidx from books_client where id = %s", [c.pk])[0]
    assert all(is_token(v) for v in row[:8])
    assert ID_A not in str(row) and CARD not in str(row)
    got = Client.objects.using(db).get(pk=c.pk)
    assert isinstance(got.id_no, fp.Secret) and got.id_no.reveal() == ID_A
    assert got.card_no.reveal() == CARD
    assert got.born.reveal() == dt.date(1949, 12, 31)
    assert str(got.balance.reveal()) == "10.50"
    assert got.profile.reveal() == {"risk": "low"} and got.scan.reveal() == b"\x00\x01"
    assert ID_A not in repr(got.__dict__)
    context = "books.client.phone"  # app_label.model.field
    assert fp.Keyring.decrypt(fp.django.get_keyring(), row[2], context=context) \
        == "13812345678"


def test_blind_index_lookups_exact_and_in_and_rotation(db: str) -> None:
    from django.core.management import call_command
    from tests.django_project.books.models import Client

    Client.objects.using(db).create(client_no="c-1", name="amy", id_no=ID_A)
    Client.objects.using(db).create(client_no="c-2", name="bob", id_no=ID_B)
    Client.objects.using(db).create(client_no="c-3", name="cat", id_no=None)
    qs = Client.objects.using(db)
    assert [c.name for c in qs.filter(id_no="110105 19491231 002x")] == ["amy"]
    assert sorted(c.name for c in qs.filter(id_no__in=[ID_B, ID_A, "110101199003074477"])) \
        == ["amy", "bob"]
    assert [c.name for c in qs.filter(id_no=None)] == ["cat"]
    assert [c.name for c in qs.filter(id_no__isnull=True)] == ["cat"]
    assert [c.name for c in qs.exclude(id_no=ID_A).order_by("name")] == ["bob", "cat"]
    kr = fp.django.get_keyring()
    kr.rotate()
    fp.django.reset()  # the cached index picks the new key up
    try:
        assert [c.name for c in qs.filter(id_no=ID_A)] == ["amy"]  # found by the old key
        out = io.StringIO()
        call_command("finprivacy_reindex", "books.Client", "--quiet", "--database", db,
                     stdout=out)
        assert "2 reindexed" in out.getvalue()
        assert [c.name for c in qs.filter(id_no=ID_A)] == ["amy"]
        call_command("finprivacy_reencrypt", "books.Client", "--quiet", "--database", db,
                     stdout=out)
        assert "books.Client.id_no: 2 re-encrypted" in out.getvalue()
        token = _raw(db, "select id_no from books_client where name = 'amy'")[0][0]
        assert not kr.needs_reencrypt(token)
    finally:
        fp.django.reset()


def test_unsupported_lookups_refuse_clearly(django_project: list[str]) -> None:
    from tests.django_project.books.models import Client

    for kwargs in ({"id_no__startswith": "110"}, {"phone": "13812345678"},
                   {"id_no__gt": "1"}, {"born__year": 1949}, {"phone__in": ["1"]}):
        with pytest.raises(fp.ConfigurationError, match="encrypted field"):
            list(Client.objects.filter(**kwargs))


def test_row_bound_tokens_do_not_move_between_rows(db: str) -> None:
    from django.db import transaction
    from tests.django_project.books.models import Client

    a = Client.objects.using(db).create(client_no="c-1", card_no=CARD)
    b = Client.objects.using(db).create(client_no="c-2", card_no="6228480402564890018")
    token = _raw(db, "select card_no from books_client where id = %s", [a.pk])[0][0]
    _raw(db, "update books_client set card_no = %s where id = %s", [token, b.pk])
    with pytest.raises(fp.DecryptionError):
        _ = Client.objects.using(db).get(pk=b.pk).card_no  # opened on first read
    assert Client.objects.using(db).get(pk=a.pk).card_no.reveal() == CARD
    with pytest.raises(fp.InvalidInputError, match="client_no"), transaction.atomic(using=db):
        Client.objects.using(db).create(client_no="", card_no=CARD)
    with pytest.raises(fp.ConfigurationError, match="row-bound"), transaction.atomic(using=db):
        Client.objects.using(db).filter(pk=a.pk).update(card_no=CARD)
    # a plain field can be updated in bulk: the value is sealed
    Client.objects.using(db).filter(pk=a.pk).update(phone="13900000000")
    assert Client.objects.using(db).get(pk=a.pk).phone.reveal() == "13900000000"


def test_wrong_types_refuse_before_writing(db: str) -> None:
    from django.db import transaction
    from tests.django_project.books.models import Client

    for field, value in (("balance", 1.5), ("born", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
                         ("balance", decimal.Decimal("NaN")), ("scan", "text")):
        with pytest.raises(fp.InvalidInputError, match=r"books\.client") as info, \
                transaction.atomic(using=db):
            Client.objects.using(db).create(client_no="c-9", **{field: value})
        assert repr(value) not in str(info.value)
    assert Client.objects.using(db).count() == 0


def test_migration_operation_encrypts_plaintext_and_resumes(db: str) -> None:
    from tests.django_project.books.models import Legacy

    from finprivacy.django.operations import EncryptField, encrypt_rows

    for i in range(7):
        _raw(db, "insert into books_legacy (phone) values (%s)", [f"1380000000{i}"])
    _raw(db, "insert into books_legacy (phone) values (NULL)")
    # dual read while plaintext is still there
    assert sorted(p.phone.reveal() for p in Legacy.objects.using(db).exclude(phone=None)) == [
        f"1380000000{i}" for i in range(7)]
    assert encrypt_rows(Legacy, "phone", batch_size=3, using=db) == 7
    assert encrypt_rows(Legacy, "phone", batch_size=3, using=db) == 0  # resumable, idempotent
    stored = [r[0] for r in _raw(db, "select phone from books_legacy where phone is not null")]
    assert len(stored) == 7 and all(is_token(v) for v in stored)
    assert [p.pk for p in Legacy.objects.using(db).filter(phone="13800000003")]  # index filled
    op = EncryptField("legacy", "phone", batch_size=2)
    assert op.deconstruct() == ("EncryptField", ["legacy", "phone"], {"batch_size": 2})
    assert "legacy.phone" in op.describe()


def test_system_checks_flag_bad_settings(django_project: list[str], tmp_path: Any) -> None:
    from django.test.utils import override_settings

    from finprivacy.django.checks import check_fields, check_settings

    assert check_settings() == [] and check_fields() == []
    with override_settings(FINPRIVACY={"KEYRING_FILE": str(tmp_path / "none.json"),
                                       "KEY_PROVIDER": {"kind": "vault"}, "POLCY": "x"}):
        ids = sorted(e.id for e in check_settings())
    assert ids == ["finprivacy.E004", "finprivacy.E005", "finprivacy.W001"]
    with override_settings(FINPRIVACY=None):
        assert [e.id for e in check_settings()] == ["finprivacy.E001"]


def test_keyring_from_settings_with_a_provider(django_project: list[str], tmp_path: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test.utils import override_settings

    kek = fp.crypto.EnvironmentProvider.generate_kek()
    monkeypatch.setenv("BOOKS_KEK", kek.reveal() if isinstance(kek, fp.Secret) else kek)
    kr = fp.Keyring.generate()
    kr.save(tmp_path / "k.json", provider=fp.crypto.EnvironmentProvider("BOOKS_KEK"))
    conf = {"KEYRING_FILE": str(tmp_path / "k.json"),
            "KEY_PROVIDER": {"kind": "environment", "var": "BOOKS_KEK"}}
    fp.django.reset()
    try:
        with override_settings(FINPRIVACY=conf):
            loaded = fp.django.get_keyring()
            token = loaded.encrypt("x", context="c")
            assert kr.decrypt(token, context="c") == "x"
        fp.django.reset()
        with override_settings(FINPRIVACY={"KEYRING_FILE": str(tmp_path / "k.json"),
                                           "KEY_PROVIDER": {"kind": "nope"}}), \
                pytest.raises(fp.ConfigurationError, match="environment, passphrase_file"):
            fp.django.get_keyring()
    finally:
        fp.django.reset()


def test_middleware_binds_principal_and_request_id_and_denies_as_problem(
        django_project: list[str]) -> None:
    from django.contrib.auth.models import Group, User
    from django.test import Client as WebClient

    user = User.objects.create_user("alice", password="pw")
    user.groups.add(Group.objects.create(name="accountant"))
    web = WebClient()
    anon = web.get("/whoami", HTTP_X_REQUEST_ID="rq-1")
    assert anon.json() == {"principal": "", "roles": [], "request_id": "rq-1"}
    assert anon["X-Request-ID"] == "rq-1"
    web.force_login(user)
    me = web.get("/whoami").json()
    assert me["principal"] == str(user.pk) and me["roles"] == ["accountant"]
    assert len(me["request_id"]) == 32
    denied = web.get("/denied")
    assert denied.status_code == 403
    assert denied["Content-Type"] == "application/problem+json"
    assert denied.json()["reason"] == "no_permission" and "11010519" not in denied.content.decode()
    user.delete()


def test_admin_shows_encrypted_fields_masked(django_project: list[str]) -> None:
    from django.contrib.auth.models import User
    from django.test import Client as WebClient
    from tests.django_project.books.models import Client

    c = Client.objects.create(client_no="c-1", name="amy", id_no=ID_A, card_no=CARD)
    admin = User.objects.create_superuser("root", password="pw")
    web = WebClient()
    web.force_login(admin)
    try:
        listing = web.get("/admin/books/client/").content.decode()
        page = web.get(f"/admin/books/client/{c.pk}/change/").content.decode()
        for html in (listing, page):
            assert ID_A not in html and CARD not in html
            assert fp.mask(CARD, kind="bank_card") in html
        assert fp.mask(ID_A, kind="cn_id") in listing
    finally:
        c.delete()
        admin.delete()


def test_dumpdata_writes_tokens_not_plaintext(django_project: list[str]) -> None:
    from django.core import serializers
    from tests.django_project.books.models import Client

    c = Client.objects.create(client_no="c-1", id_no=ID_A, card_no=CARD)
    try:
        text = serializers.serialize("json", Client.objects.filter(pk=c.pk))
        assert ID_A not in text and CARD not in text and '"fp1.' in text
    finally:
        c.delete()


def test_views_respond_and_shaped_mask_by_purpose(django_project: list[str]) -> None:
    from django.test import RequestFactory

    from finprivacy.access import AccessControl, Permission, Policy, Principal, Purpose, Role
    from finprivacy.django.views import respond, shaped
    from finprivacy.inventory import DataField, DataInventory

    control = AccessControl(
        Policy(version="d", purposes=(Purpose("verify", legal_basis="contract"),),
               roles=(Role("intern"), Role("accountant")),
               permissions=(Permission("intern", "verify"),
                            Permission("accountant", "verify", raw=frozenset({"account"})))),
        DataInventory([DataField("card_no", category="account", sensitivity="C2",
                                 mask="bank_card")]))

    @shaped("verify", subject="client_no", control=control)
    def view(request: object, client_no: str) -> dict[str, object]:
        return {"client_no": client_no, "card_no": fp.Secret(CARD)}

    request = RequestFactory().get("/x")
    with fp.acting_as(Principal("ivan", roles={"intern"})):
        masked = view(request, client_no="c-1")
        listing = respond([{"card_no": CARD}], "verify", control=control)
    with fp.acting_as(Principal("amy", roles={"accountant"})):
        raw = view(request, client_no="c-1")
    assert CARD not in masked.content.decode() and CARD not in listing.content.decode()
    assert fp.mask(CARD, kind="bank_card") in masked.content.decode()
    assert CARD in raw.content.decode()
    with pytest.raises(fp.AccessDeniedError):
        view(request, client_no="c-1")
