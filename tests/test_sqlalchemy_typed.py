"""SQLAlchemy (issue 17): typed encrypted columns, row binding, refusing SQL comparisons,
and encrypting an existing column online (dual read + batched, resumable encryption,
also run as a real Alembic migration). On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import Integer, String, create_engine, insert, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import finprivacy as fp
from finprivacy.crypto import is_token
from finprivacy.sqlalchemy import (
    EncryptedDate,
    EncryptedInteger,
    EncryptedJSON,
    EncryptedNumeric,
    EncryptedString,
    RowValue,
    Sealed,
    encrypt_column,
)

KEYRING = fp.Keyring.generate()
CARD = "6222020200112233445"


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "typed_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    born: Mapped[fp.Secret[dt.date] | None] = mapped_column(EncryptedDate("accounts.born"))
    balance: Mapped[fp.Secret[decimal.Decimal] | None] = mapped_column(
        EncryptedNumeric("accounts.balance"))
    visits: Mapped[fp.Secret[int] | None] = mapped_column(EncryptedInteger("accounts.visits"))
    profile: Mapped[fp.Secret[Any] | None] = mapped_column(EncryptedJSON("accounts.profile"))


class Card(Base):
    __tablename__ = "typed_cards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_no: Mapped[str] = mapped_column(String(36))
    card_no: Mapped[fp.Secret[str] | None] = mapped_column(
        EncryptedString("cards.card_no", row_key="client_no"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/typed.db"
    else:
        url = str(request.getfixturevalue("pg_url")).replace("postgresql://",
                                                             "postgresql+psycopg://", 1)
    eng = create_engine(url, hide_parameters=True)
    Base.metadata.create_all(eng)
    with fp.use_keyring(KEYRING):
        yield eng
    eng.dispose()


def test_typed_columns_round_trip_as_secrets_and_store_tokens(engine: Any) -> None:
    profile = {"risk": "low", "tags": ["vip", "税务"], "limit": 5000, "ok": True}
    with Session(engine) as s:
        s.add(Account(id=1, born=dt.date(1990, 3, 7), balance=decimal.Decimal("10.50"),
                      visits=-3, profile=profile))
        s.add(Account(id=2, born=None, balance=7, visits=0, profile=None))
        s.commit()
    with Session(engine) as s:
        a = s.get(Account, 1)
        assert a is not None and isinstance(a.balance, fp.Secret)
        assert a.born is not None and a.born.reveal() == dt.date(1990, 3, 7)
        assert str(a.balance.reveal()) == "10.50"  # the scale is kept
        assert a.visits is not None and a.visits.reveal() == -3
        assert a.profile is not None and a.profile.reveal() == profile
        b = s.get(Account, 2)
        assert b is not None and b.born is None and b.profile is None
        assert b.balance is not None and b.balance.reveal() == decimal.Decimal(7)
        assert "10.50" not in repr(a.balance) and "1990" not in repr(a.born)
    with engine.connect() as conn:
        stored = conn.execute(text("select born, balance, visits, profile from typed_accounts "
                                   "where id = 1")).one()
    for value in stored:
        assert is_token(value)
    # a token moved to another column does not decrypt
    with engine.begin() as conn:
        conn.execute(text("update typed_accounts set visits = balance where id = 1"))
    with Session(engine) as s, pytest.raises(fp.DecryptionError):
        s.get(Account, 1)


@pytest.mark.parametrize(("column", "value"), [
    ("balance", 1.5), ("balance", decimal.Decimal("NaN")), ("balance", True),
    ("visits", True), ("visits", "12"), ("born", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    ("born", "2020-01-01"), ("profile", {"when": dt.date(2020, 1, 1)}),
    ("profile", float("inf")),
])
def test_wrong_types_are_refused_without_writing_anything(engine: Any, column: str,
                                                          value: object) -> None:
    with Session(engine) as s:
        s.add(Account(id=9, **{column: value}))
        with pytest.raises(Exception, match="accounts") as info:
            s.commit()
        cause = getattr(info.value, "orig", None) or info.value
        assert isinstance(cause, fp.InvalidInputError), repr(info.value)
        assert "accounts." in str(cause) and repr(value) not in str(cause)
        s.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from typed_accounts")).scalar() == 0


def test_sql_comparisons_on_encrypted_columns_refuse_but_null_checks_work(engine: Any) -> None:
    for make in (lambda: Account.balance == 5, lambda: Account.balance > 5,
                 lambda: Account.born.like("19%"), lambda: Account.visits.in_([1, 2]),
                 lambda: Card.card_no == CARD):
        with pytest.raises(fp.InvalidInputError, match="blind_indexed"):
            make()
    with Session(engine) as s:
        s.add_all([Account(id=1, visits=1), Account(id=2)])
        s.commit()
        assert s.scalars(select(Account.id).where(Account.visits.is_(None))).all() == [2]
        assert s.scalars(select(Account.id).where(Account.visits != None)).all() == [1]  # noqa: E711


def test_row_bound_tokens_open_only_in_their_row(engine: Any) -> None:
    with Session(engine) as s:
        s.add_all([Card(id=1, client_no="c-1", card_no=CARD),
                   Card(id=2, client_no="c-2", card_no="6228480402564890018")])
        s.commit()
        one = s.get(Card, 1)
        assert one is not None and one.card_no is not None
        assert one.card_no.reveal() == CARD  # usable right after the flush as well
    with engine.connect() as conn:
        token = conn.execute(text("select card_no from typed_cards where id = 1")).scalar()
        assert isinstance(token, str) and is_token(token)
        assert KEYRING.decrypt(token, context="cards.card_no#c-1") == CARD
        # Core: the value comes back sealed, opened with the row's key
        sealed = conn.execute(select(Card.card_no).where(Card.id == 1)).scalar()
        assert isinstance(sealed, Sealed) and CARD not in repr(sealed)
        assert sealed.open("c-1").reveal() == CARD
        with pytest.raises(fp.DecryptionError):
            sealed.open("c-2")
    with engine.begin() as conn:  # the token copied into the other row
        conn.execute(update(Card).where(Card.id == 2).values(card_no=Sealed(token, sealed._type)))
    with Session(engine) as s, pytest.raises(fp.DecryptionError):
        s.get(Card, 2)


def test_row_key_changes_reseal_and_a_missing_key_refuses(engine: Any) -> None:
    with Session(engine) as s:
        s.add(Card(id=1, client_no="c-1", card_no=CARD))
        s.commit()
        card = s.get(Card, 1)
        assert card is not None
        card.client_no = "c-9"  # the value is resealed for its new key
        s.commit()
    with engine.connect() as conn:
        token = conn.execute(text("select card_no from typed_cards where id = 1")).scalar()
        assert KEYRING.decrypt(str(token), context="cards.card_no#c-9") == CARD
    with Session(engine) as s:
        s.add(Card(id=3, client_no="", card_no=CARD))
        with pytest.raises(fp.InvalidInputError, match="client_no") as info:
            s.commit()
        assert CARD not in str(info.value)
    with engine.begin() as conn:
        with pytest.raises(Exception, match="RowValue"):
            conn.execute(insert(Card).values(id=4, client_no="c-4", card_no=CARD))
        conn.execute(insert(Card).values(id=5, client_no="c-5", card_no=RowValue(CARD, "c-5")))
    with Session(engine) as s:
        five = s.get(Card, 5)
        assert five is not None and five.card_no is not None
        assert five.card_no.reveal() == CARD


class Legacy(Base):
    __tablename__ = "legacy_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[fp.Secret[str] | None] = mapped_column(
        EncryptedString("legacy.phone", accept_plaintext=True))


def test_online_encryption_reads_both_and_resumes(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text("insert into legacy_clients (id, phone) values "
                          + ", ".join(f"({i}, '138{i:08d}')" for i in range(1, 26))
                          + ", (26, NULL)"))
    col = Legacy.__table__.c.phone.type
    calls: list[int] = []
    with engine.connect() as conn:
        # stopped after the first batch: run it again and it finishes, never twice
        def stop(done: int) -> None:
            calls.append(done)
            raise RuntimeError("killed")

        with pytest.raises(RuntimeError):
            encrypt_column(conn, "legacy_clients", "phone", col, batch_size=10, progress=stop)
        with Session(engine) as s:  # dual read while half done
            phones = {c.id: c.phone.reveal() for c in s.scalars(select(Legacy)) if c.phone}
            assert phones == {i: f"138{i:08d}" for i in range(1, 26)}
        assert encrypt_column(conn, "legacy_clients", "phone", col, batch_size=10) == 15
        assert encrypt_column(conn, "legacy_clients", "phone", col, batch_size=10) == 0
    assert calls == [10]
    with engine.connect() as conn:
        stored = conn.execute(text("select phone from legacy_clients where id < 26")).scalars()
        assert all(is_token(v) for v in stored)
    strict = EncryptedString("legacy.phone")
    with engine.connect() as conn:
        token = conn.execute(text("select phone from legacy_clients where id = 7")).scalar()
        assert strict.process_result_value(token, engine.dialect).reveal() == "13800000007"


def test_encrypt_column_row_bound_and_bad_arguments(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text("insert into typed_cards (id, client_no, card_no) values "
                          f"(1, 'c-1', '{CARD}')"))
        kind = EncryptedString("cards.card_no", row_key="client_no", accept_plaintext=True)
        assert encrypt_column(conn, "typed_cards", "card_no", kind) == 1
        with pytest.raises(fp.InvalidInputError):
            encrypt_column(conn, "typed_cards", "nope", kind)
        with pytest.raises(fp.InvalidInputError):
            encrypt_column(conn, "typed_cards", "card_no", kind, batch_size=0)
    with Session(engine) as s:
        card = s.get(Card, 1)
        assert card is not None and card.card_no is not None
        assert card.card_no.reveal() == CARD


def test_an_alembic_migration_encrypts_a_column(tmp_path: Path) -> None:
    alembic = pytest.importorskip("alembic")
    from alembic import command
    from alembic.config import Config

    db = tmp_path / "books.db"
    eng = create_engine(f"sqlite:///{db}")
    with eng.begin() as conn:
        conn.execute(text("create table clients (id integer primary key, id_no text)"))
        conn.execute(text("insert into clients values (1, '11010519491231002X'), (2, NULL)"))
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(
        "from alembic import context\n"
        "from sqlalchemy import create_engine\n"
        "engine = create_engine(context.config.get_main_option('sqlalchemy.url'))\n"
        "with engine.connect() as connection:\n"
        "    context.configure(connection=connection, target_metadata=None)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n")
    (scripts / "script.py.mako").write_text("")
    (scripts / "versions" / "0001_encrypt_id_no.py").write_text(
        '"""encrypt clients.id_no"""\n'
        "from alembic import op\n"
        "import finprivacy as fp\n"
        "from finprivacy.sqlalchemy import EncryptedString, encrypt_column\n"
        "revision = '0001'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n"
        "def upgrade():\n"
        "    kind = EncryptedString('clients.id_no', accept_plaintext=True)\n"
        "    encrypt_column(op.get_bind(), 'clients', 'id_no', kind, batch_size=1)\n"
        "def downgrade():\n"
        "    raise NotImplementedError\n")
    cfg = Config()
    cfg.set_main_option("script_location", str(scripts))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    with fp.use_keyring(KEYRING):
        command.upgrade(cfg, "head")
    with eng.connect() as conn:
        rows = conn.execute(text("select id, id_no from clients order by id")).all()
    assert rows[1][1] is None and is_token(rows[0][1])
    assert KEYRING.decrypt(rows[0][1], context="clients.id_no") == "11010519491231002X"
    eng.dispose()
    assert alembic is not None


def test_reprs_hide_values() -> None:
    value = RowValue(CARD, "c-1")
    assert CARD not in repr(value) and "c-1" in repr(value)
    assert isinstance(uuid.uuid4(), uuid.UUID)
