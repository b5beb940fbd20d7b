"""SQLAlchemy column speed (issue 17).

* bind + result of an encrypted column: ``EncryptedString``'s own processing of one
  value (encrypt on the way in, decrypt on the way out), against the raw
  ``Keyring.encrypt`` + ``Keyring.decrypt`` calls it makes; and an ORM round trip
  (insert 1,000 rows, load them) against the same model with a plain column.
  Target: ≤ 3× raw Keyring cost.
* lookup by blind index: ``select(Client).where(Client.id_no == value)`` on 100,000
  rows (SQLite, indexed), against the same query on a plain indexed column.
  Target: ≤ 2× the plain lookup.
"""


import tempfile
from typing import Any

from benchmarks._harness import Timer, heading, per_call, report

CARD = "6222020200112233445"


def main(*, quick: bool = False) -> None:
    from sqlalchemy import Integer, String, create_engine, insert, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    import finprivacy as fp
    from finprivacy.sqlalchemy import EncryptedString, blind_indexed

    heading("sqlalchemy: encrypted columns and blind-index lookups")
    kr = fp.Keyring.generate()
    index = fp.BlindIndex(kr, "clients.id_no", bits=32)
    kind = EncryptedString("clients.card_no", keyring=kr)
    dialect: Any = None
    token = kind.process_bind_param(CARD, dialect)

    raw = per_call(lambda: kr.decrypt(kr.encrypt(CARD, context="clients.card_no"),
                                      context="clients.card_no"), number=5000)
    typed = per_call(lambda: kind.process_result_value(kind.process_bind_param(CARD, dialect),
                                                       dialect), number=5000)
    assert token is not None
    report("raw Keyring.encrypt + decrypt", raw)
    report("EncryptedString bind + result", typed, raw, baseline_name="raw", target=3)

    class Base(DeclarativeBase):
        pass

    class Plain(Base):
        __tablename__ = "plain"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        card_no: Mapped[str] = mapped_column(String)
        id_no: Mapped[str | None] = mapped_column(String, index=True)

    class Client(Base):
        __tablename__ = "clients"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        card_no: Mapped[fp.Secret[str]] = mapped_column(EncryptedString("clients.card_no"))
        id_no_token: Mapped[fp.Secret[str] | None] = mapped_column(
            "id_no", EncryptedString("clients.id_no"))
        id_no_bidx: Mapped[str | None] = mapped_column(String(16), index=True)
        id_no = blind_indexed("id_no_token", "id_no_bidx", index)

    n_orm = 200 if quick else 1000
    n_rows = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp, fp.use_keyring(kr):
        engine = create_engine(f"sqlite:///{tmp}/b.db", hide_parameters=True)
        Base.metadata.create_all(engine)

        def orm_round(model: Any, offset: int) -> float:
            with Timer() as t, Session(engine) as s:
                s.add_all([model(id=offset + i, card_no=CARD) for i in range(n_orm)])
                s.commit()
                s.expunge_all()
                rows = s.scalars(select(model).where(model.id >= offset)).all()
                assert len(rows) == n_orm
            return t.seconds

        plain_t = min(orm_round(Plain, 10_000_000 + 10 * n_orm * k) for k in range(3))
        enc_t = min(orm_round(Client, 10_000_000 + 10 * n_orm * k) for k in range(3))
        report(f"ORM insert + load {n_orm} rows, plain column (per row)", plain_t / n_orm)
        report(f"ORM insert + load {n_orm} rows, encrypted (per row)", enc_t / n_orm,
               plain_t / n_orm, baseline_name="plain")
        # and against the raw keyring work those rows need
        # information, no target: the whole ORM round trip around one encrypt + decrypt
        report("  encrypted ORM overhead over plain, per row", (enc_t - plain_t) / n_orm, raw,
               baseline_name="raw")

        ids = [f"{110105194912310000 + i:018d}" for i in range(n_rows)]
        with engine.begin() as conn:
            conn.execute(insert(Plain), [{"id": i, "card_no": CARD, "id_no": v}
                                         for i, v in enumerate(ids)])
            conn.execute(insert(Client), [
                {"id": i, "card_no": CARD, "id_no_token": v, "id_no_bidx": index.compute(v)}
                for i, v in enumerate(ids)])
        probe = ids[n_rows // 2]
        with Session(engine) as s:
            plain_q = per_call(lambda: s.execute(
                select(Plain.id).where(Plain.id_no == probe)).all(), number=500)
            blind_q = per_call(lambda: s.execute(
                select(Client.id).where(Client.id_no == probe)).all(), number=500)
            assert n_rows // 2 in [r[0] for r in s.execute(
                select(Client.id).where(Client.id_no == probe)).all()]
        report(f"lookup by plain indexed column ({n_rows:,} rows)", plain_q)
        report("lookup by blind index (Client.id_no == value)", blind_q, plain_q,
               baseline_name="plain", target=2)
        engine.dispose()
