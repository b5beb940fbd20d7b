"""SQLAlchemy lookups by blind index (issue 17): ``Client.id_no == value`` and
``in_()`` query the index column, rotation-aware, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import finprivacy as fp
from finprivacy.sqlalchemy import EncryptedString, blind_indexed

KEYRING = fp.Keyring.generate()
ID_INDEX = fp.BlindIndex(KEYRING, "clients.id_no", bits=32,
                         normalize=("nfkc", "strip_spaces", "upper"))
A, B, C = "11010519491231002X", "440306199001011236", "110101199003074477"


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "blind_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    id_no_token: Mapped[fp.Secret[str] | None] = mapped_column(
        "id_no", EncryptedString("blind_clients.id_no"), nullable=True)
    id_no_bidx: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    id_no = blind_indexed("id_no_token", "id_no_bidx", ID_INDEX)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def session(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Session]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/blind.db"
    else:
        url = str(request.getfixturevalue("pg_url")).replace("postgresql://",
                                                             "postgresql+psycopg://", 1)
    engine = create_engine(url, hide_parameters=True)
    Base.metadata.create_all(engine)
    with fp.use_keyring(KEYRING), Session(engine) as s:
        s.add_all([Client(name="amy", id_no=A), Client(name="bob", id_no=B),
                   Client(name="cat", id_no=None)])
        s.commit()
        yield s
    engine.dispose()


def test_equality_and_in_query_the_index(session: Session) -> None:
    found = session.scalars(select(Client).where(Client.id_no == "110105 19491231 002x"))
    rows = list(found)
    assert [r.name for r in rows] == ["amy"]
    assert rows[0].id_no.reveal() == A  # reading gives the decrypted Secret
    names = {r.name for r in session.scalars(select(Client).where(Client.id_no.in_([B, A, C])))}
    assert names == {"amy", "bob"}
    assert list(session.scalars(select(Client).where(Client.id_no.in_([])))) == []
    assert {r.name for r in session.scalars(select(Client).where(Client.id_no != A))} == {
        "bob"}  # NULL compares unknown, as in SQL
    assert [r.name for r in session.scalars(select(Client).where(Client.id_no == None))] == [  # noqa: E711
        "cat"]


def test_the_stored_index_is_not_the_value_and_writes_keep_it_in_step(
        session: Session) -> None:
    amy = session.scalars(select(Client).where(Client.id_no == A)).one()
    assert amy.id_no_bidx and A not in amy.id_no_bidx
    amy.id_no = C
    session.commit()
    assert session.scalars(select(Client).where(Client.id_no == A)).all() == []
    assert session.scalars(select(Client).where(Client.id_no == C)).one().name == "amy"


def test_rows_indexed_before_a_rotation_are_still_found(session: Session) -> None:
    KEYRING.rotate()  # bob's row keeps its index under the key before
    assert session.scalars(select(Client).where(Client.id_no == B)).one().name == "bob"
    session.add(Client(name="dan", id_no=C))  # indexed under the new key
    session.commit()
    assert session.scalars(select(Client).where(Client.id_no == C)).one().name == "dan"


def test_other_comparisons_refuse() -> None:
    with pytest.raises(fp.InvalidInputError, match="only be compared for equality"):
        select(Client).where(Client.id_no > A)
    with pytest.raises(fp.InvalidInputError, match="only be compared for equality"):
        select(Client).where(Client.id_no.like("1101%"))
    with pytest.raises(fp.InvalidInputError, match="BlindIndex"):
        blind_indexed("a", "b", "not an index")  # type: ignore[arg-type]
