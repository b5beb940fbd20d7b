"""A throwaway PostgreSQL database for benchmarks, started the way the test suite does.

``FINPRIVACY_BENCH_PG_DSN`` (an admin DSN) is used when set. Otherwise the
``_PgServer`` class of ``tests/conftest.py`` starts a cluster in a temporary folder,
listening only on a unix socket, and it is stopped afterwards. Yields ``None`` with a
printed note when neither psycopg nor the server binaries are available.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["postgres"]

_CONFTEST = Path(__file__).resolve().parent.parent / "tests" / "conftest.py"


def _conftest() -> Any:
    spec = importlib.util.spec_from_file_location("_finprivacy_bench_conftest", _CONFTEST)
    if spec is None or spec.loader is None:
        raise RuntimeError("tests/conftest.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    """Yield the URL of a fresh, empty PostgreSQL database, or ``None`` with a note."""
    try:
        import psycopg
    except ImportError:
        print("  (PostgreSQL skipped: psycopg is not installed)")
        yield None
        return
    admin = os.environ.get("FINPRIVACY_BENCH_PG_DSN")
    server = None
    pg_ctl = None
    if not admin:
        try:
            conf = _conftest()
        except Exception as exc:  # pragma: no cover - depends on the checkout
            print(f"  (PostgreSQL skipped: cannot load tests/conftest.py: {exc})")
            yield None
            return
        initdb, pg_ctl = conf._pg_bin("initdb"), conf._pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            print("  (PostgreSQL skipped: no FINPRIVACY_BENCH_PG_DSN and no initdb/pg_ctl)")
            yield None
            return
        server = conf._PgServer()
        server.start(initdb, pg_ctl)
        admin = server.dsn("postgres")
    name = "bench_audit_" + uuid.uuid4().hex[:12]
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        head, _, query = admin.partition("?")
        yield head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    finally:
        from finprivacy.storage import _db

        for key, db in list(_db._CACHE.items()):
            if name in key[1]:
                db.close()
                del _db._CACHE[key]
        with contextlib.suppress(Exception), psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None and pg_ctl:
            server.stop(pg_ctl)
