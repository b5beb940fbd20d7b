"""Django field speed (issue 17), on SQLite, all figures from the same run.

* save + load of a model with 3 encrypted fields (one blind-indexed) against the same
  model with plain fields (target ≤ 1.5×);
* ``filter(id_no=…)`` through the blind index on 100,000 rows against a plain indexed
  lookup (target ≤ 2×);
* per-field encrypt + decrypt (``pre_save`` + ``from_db_value``) against
  django-fernet-encrypted-fields' ``get_prep_value`` + ``from_db_value`` (target: at
  least 5× faster), and the raw ``Keyring`` calls as the floor.
"""

from __future__ import annotations

import tempfile

from benchmarks._harness import heading, per_call, report

ID_NO, CARD, PHONE = "11010519491231002X", "6222020200112233445", "13812345678"


def _setup(tmp: str) -> None:
    import django
    from django.conf import settings

    import finprivacy as fp

    if settings.configured:
        return
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": f"{tmp}/bench.db"}},
        INSTALLED_APPS=["finprivacy.django", "benchmarks._django_app"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField", USE_TZ=True,
        SECRET_KEY="benchmark-only", SALT_KEY="benchmark-only",
        FINPRIVACY={"KEYRING": fp.Keyring.generate()})
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def main(*, quick: bool = False) -> None:
    heading("django: encrypted fields, blind-index filter, against plain and Fernet fields")
    tmp = tempfile.mkdtemp()
    _setup(tmp)
    from django.db import connection, transaction

    from benchmarks._django_app import models as m

    has_fernet = hasattr(m, "Fernet")

    def save_load(model: type) -> float:
        def once() -> None:
            obj = model(id_no=ID_NO, card_no=CARD, phone=PHONE)
            obj.save()
            got = model.objects.get(pk=obj.pk)
            assert got.card_no is not None

        with transaction.atomic():
            t = per_call(once, number=300 if quick else 2000, repeat=3)
            transaction.set_rollback(True)
        return t

    plain_t = save_load(m.Plain)
    sealed_t = save_load(m.Sealed)
    report("save + load, 3 plain fields", plain_t)
    report("save + load, 3 encrypted fields (one blind-indexed)", sealed_t, plain_t,
           baseline_name="plain", target=1.5)
    if has_fernet:
        report("save + load, 3 Fernet fields (django-fernet-encrypted-fields)",
               save_load(m.Fernet), plain_t, baseline_name="plain")

    rows = 10_000 if quick else 100_000
    ids = [f"{110105194912310000 + i:018d}" for i in range(rows)]
    field = m.Sealed._meta.get_field("id_no")
    index = field.blind()
    kr = field.keyring()
    with transaction.atomic():
        m.Plain.objects.bulk_create([m.Plain(id_no=v, card_no=CARD, phone=PHONE) for v in ids],
                                    batch_size=5000)
        # bulk_create does not call pre_save for the companion index: fill it directly
        m.Sealed.objects.bulk_create(
            [m.Sealed(id_no=v, card_no=CARD, phone=PHONE, id_no_bidx=index.compute(v))
             for v in ids], batch_size=5000)
    probe = ids[rows // 2]
    assert m.Sealed.objects.filter(id_no=probe).count() >= 1
    plain_q = per_call(lambda: list(m.Plain.objects.filter(id_no=probe)), number=500)
    blind_q = per_call(lambda: list(m.Sealed.objects.filter(id_no=probe)), number=500)
    report(f"filter() by plain indexed column ({rows:,} rows)", plain_q)
    report("filter() by blind index", blind_q, plain_q, baseline_name="plain", target=2)
    blind_only = per_call(lambda: list(m.Sealed.objects.filter(id_no=probe).values_list(
        "pk", flat=True)), number=500)
    plain_only = per_call(lambda: list(m.Plain.objects.filter(id_no=probe).values_list(
        "pk", flat=True)), number=500)
    report("  the same, primary keys only (no decryption)", blind_only, plain_only,
           baseline_name="plain", target=2)

    obj = m.Sealed(id_no=ID_NO, card_no=CARD, phone=PHONE)
    card = m.Sealed._meta.get_field("card_no")
    token = str(card.pre_save(obj, True))
    ours = per_call(lambda: card.from_db_value(str(card.pre_save(obj, True)), None, connection),
                    number=20000)
    raw = per_call(lambda: kr.decrypt_str(kr.encrypt(CARD, context=card.context),
                                          context=card.context), number=20000)
    assert card.from_db_value(token, None, connection).reveal() == CARD
    report("raw Keyring.encrypt + decrypt_str", raw)
    report("EncryptedCharField encrypt + decrypt", ours, raw, baseline_name="raw")
    if has_fernet:
        fobj = m.Fernet(id_no=ID_NO, card_no=CARD, phone=PHONE)
        fcard = m.Fernet._meta.get_field("card_no")
        fernet = per_call(lambda: fcard.from_db_value(
            fcard.get_prep_value(fcard.pre_save(fobj, True)), None, connection), number=20000)
        report("Fernet field encrypt + decrypt", fernet)
        print(f"{'  finprivacy speed-up over Fernet':<58} {fernet / ours:10.2f}x"
              f"  (target ≥ 5x: {'ok' if fernet / ours >= 5 else 'MISSED'})")
    else:
        print("  (django-fernet-encrypted-fields not installed: pip install -e '.[bench]')")
