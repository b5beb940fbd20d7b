from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.clock import ensure_aware, utc

PLAIN = "6222020200112233445"


def test_secret_masks_repr_str_format() -> None:
    s = fp.Secret(PLAIN)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", format(s, ""), repr([s]), repr({"k": s})):
        assert PLAIN not in text
    assert s.reveal() == PLAIN


def test_secret_refuses_pickle() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(fp.Secret(PLAIN))
    with pytest.raises(TypeError):
        pickle.dumps({"nested": [fp.Secret(PLAIN)]})


def test_secret_equality_and_copy() -> None:
    a, b = fp.Secret(PLAIN), fp.Secret(PLAIN)
    assert a == b and hash(a) == hash(b)
    assert a != fp.Secret(PLAIN + "0")
    assert fp.Secret(b"k") == fp.Secret(b"k")
    assert fp.Secret("1") != fp.Secret(b"1")
    assert a.__eq__(PLAIN) is NotImplemented  # never equal to a bare value
    assert copy.deepcopy(a).reveal() == PLAIN
    assert fp.Secret(a).reveal() == PLAIN  # no double wrapping


def test_secret_equality_on_unsupported_types_is_typed() -> None:
    with pytest.raises(fp.InvalidInputError):
        _ = fp.Secret([1]) == fp.Secret([1])


@given(st.text() | st.binary())
def test_secret_never_shows_value(value: str | bytes) -> None:
    s = fp.Secret(value)
    if len(value) >= 3:
        assert repr(value) not in repr(s)
    assert s.reveal() == value


def test_fixed_clock() -> None:
    c = fp.FixedClock(dt.datetime(2024, 2, 28, 16, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert c.now() == dt.datetime(2024, 2, 28, 8, tzinfo=dt.UTC)
    assert c.now().tzinfo is dt.UTC
    assert c.advance(dt.timedelta(days=1)).day == 29
    c.set(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert c.now().year == 2030
    assert isinstance(c, fp.Clock) and isinstance(fp.SystemClock(), fp.Clock)
    assert fp.SystemClock().now().tzinfo is dt.UTC


def test_naive_datetimes_refused() -> None:
    naive = dt.datetime(2024, 1, 1)
    with pytest.raises(fp.InvalidTimeError, match="timezone-aware"):
        fp.FixedClock(naive)
    with pytest.raises(fp.InvalidTimeError):
        ensure_aware(naive)
    with pytest.raises(fp.InvalidTimeError):
        utc("2024-01-01")  # type: ignore[arg-type]
    assert isinstance(fp.InvalidTimeError("x"), ValueError)


def test_error_tree() -> None:
    assert issubclass(fp.DecryptionError, fp.CryptoError)
    assert issubclass(fp.SubjectErasedError, fp.DecryptionError)
    assert issubclass(fp.AccessDeniedError, PermissionError)
    assert issubclass(fp.ConsentRequiredError, PermissionError)
    assert issubclass(fp.InvalidIdentifierError, ValueError)
    assert issubclass(fp.NotFoundError, LookupError)
    for name in fp.errors.__all__:
        assert issubclass(getattr(fp.errors, name), fp.FinPrivacyError)
    err = fp.AuditIntegrityError("bad entry", position=7)
    assert err.position == 7
    denied = fp.ConsentRequiredError("x", subject="c1", purpose="p", reason="withdrawn")
    assert denied.reason == "withdrawn"


def test_error_tree_docstring_names_every_error() -> None:
    doc = fp.errors.__doc__ or ""
    missing = [n for n in fp.errors.__all__ if n not in doc]
    assert not missing, missing
