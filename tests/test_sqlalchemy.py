from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy import Integer, String, create_engine, select, text  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

import finprivacy as fp  # noqa: E402
from finprivacy.sqlalchemy import EncryptedBytes, EncryptedString  # noqa: E402

CARD = "6222020200112233445"


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    card_no: Mapped[fp.Secret[str] | None] = mapped_column(
        EncryptedString("clients.card_no"), nullable=True)
    statement: Mapped[fp.Secret[bytes] | None] = mapped_column(
        EncryptedBytes("clients.statement"), nullable=True)


_ENGINES: list[sqlalchemy.Engine] = []


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    # A pooled connection collected while open warns on Python 3.13 (ResourceWarning).
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def _engine(tmp_path: Path) -> sqlalchemy.Engine:
    # hide_parameters keeps bound plaintext out of SQLAlchemy's own error messages.
    engine = create_engine(f"sqlite:///{tmp_path / 'orm.db'}", hide_parameters=True)
    _ENGINES.append(engine)
    Base.metadata.create_all(engine)
    return engine


def test_orm_roundtrip_stores_tokens(tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    engine = _engine(tmp_path)
    with fp.use_keyring(kr), Session(engine) as session:
        session.add(Client(id=1, name="Li", card_no=fp.Secret(CARD), statement=b"%PDF-1.7"))
        session.add(Client(id=2, name="Wang", card_no=None))
        session.commit()
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT card_no, statement FROM clients WHERE id = 1")).one()
    assert raw[0].startswith("fp1.") and CARD not in raw[0]
    assert "%PDF" not in raw[1]  # "%" is not in the base64url alphabet
    with fp.use_keyring(kr), Session(engine) as session:
        loaded = session.scalars(select(Client).order_by(Client.id)).all()
        assert loaded[0].card_no is not None and loaded[0].card_no.reveal() == CARD
        assert loaded[0].statement is not None and loaded[0].statement.reveal() == b"%PDF-1.7"
        assert loaded[1].card_no is None
        assert CARD not in repr(loaded[0].card_no)


def test_token_moved_to_other_column_fails(tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    engine = _engine(tmp_path)
    with fp.use_keyring(kr), Session(engine) as session:
        session.add(Client(id=1, name="Li", card_no=CARD))
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE clients SET statement = card_no"))
    with fp.use_keyring(kr), Session(engine) as session, pytest.raises(fp.DecryptionError):
        session.scalars(select(Client)).one()


def test_wrong_type_and_missing_keyring(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with fp.use_keyring(fp.Keyring.generate()), Session(engine) as session:
        session.add(Client(id=1, name="Li", card_no=12345))
        with pytest.raises(sqlalchemy.exc.StatementError) as info:
            session.commit()
        assert isinstance(info.value.orig, fp.InvalidInputError)
    with Session(engine) as session:
        session.add(Client(id=2, name="Li", card_no=CARD))
        with pytest.raises(sqlalchemy.exc.StatementError) as info:
            session.commit()
        assert isinstance(info.value.orig, fp.ConfigurationError)
        assert CARD not in str(info.value)


def test_explicit_keyring_and_empty_context() -> None:
    kr = fp.Keyring.generate()
    col = EncryptedString("t.c", keyring=kr)
    token = col.process_bind_param(CARD, None)  # type: ignore[arg-type]
    assert token is not None
    assert kr.decrypt(token, context="t.c") == CARD
    with pytest.raises(fp.InvalidInputError):
        EncryptedString("")
