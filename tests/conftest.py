"""Shared fixtures: hypothesis profiles, store URLs and a throwaway PostgreSQL server.

PostgreSQL: if ``FINPRIVACY_TEST_PG_DSN`` names a server, tests use it. Otherwise the
suite starts its own (``initdb`` + ``pg_ctl`` in a temporary folder, listening only on a
unix socket) when the binaries exist, and stops it at the end. Tests marked
``postgres`` are skipped, with the reason printed, only when neither is possible.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# "ci" (the default) is derandomized: every run tries the same examples, so a red CI
# run is a real, reproducible failure. "thorough" explores with fresh randomness.
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


class _PgServer:
    """A PostgreSQL cluster in a temporary folder, reachable only by unix socket."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="finprivacy-pg-"))
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.sock.mkdir()
        self.port = 5432
        self.user = "postgres"
        self._run_as: list[str] = []
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # initdb refuses to run as root: run the server as the postgres user.
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is missing")
            self._run_as = [runuser, "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres")
            shutil.chown(self.sock, "postgres")
            os.chmod(self.base, 0o755)

    def _cmd(self, *args: str) -> None:
        subprocess.run([*self._run_as, *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)

    def start(self, initdb: str, pg_ctl: str) -> None:
        self._cmd(initdb, "-D", str(self.data), "-U", self.user, "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        opts = (f"-c listen_addresses='' -c unix_socket_directories={self.sock} "
                f"-c port={self.port} -c fsync=on -c max_connections=200 "
                "-c shared_buffers=64MB")
        self._cmd(pg_ctl, "-D", str(self.data), "-o", opts, "-w", "-t", "60",
                  "-l", str(self.base / "server.log"), "start")

    def stop(self, pg_ctl: str) -> None:
        with contextlib.suppress(Exception):
            self._cmd(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def dsn(self, dbname: str) -> str:
        return f"postgresql://{self.user}@/{dbname}?host={self.sock}&port={self.port}"


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """DSN of an admin database on a PostgreSQL server for the whole session."""
    env = os.environ.get("FINPRIVACY_TEST_PG_DSN")
    if env:
        yield env
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found and "
                    "FINPRIVACY_TEST_PG_DSN not set")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[dev]')")
    server = _PgServer()
    try:
        server.start(initdb, pg_ctl)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server.stop(pg_ctl)
        pytest.fail(f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')}")
    try:
        yield server.dsn("postgres")
    finally:
        server.stop(pg_ctl)


@pytest.fixture
def pg_url(pg_server_dsn: str) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = pg_server_dsn.partition("?")
    head = base.rsplit("/", 1)[0]
    url = f"{head}/{name}" + (f"?{query}" if query else "")
    yield url
    _forget_database(url)
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """URL of a fresh SQLite file in the test's temporary folder."""
    url = f"sqlite:///{tmp_path / 'finprivacy.db'}"
    yield url
    _forget_database(url)


def _forget_database(url: str) -> None:
    """Close and drop this process's cached ``Database`` for ``url`` (reopened fresh)."""
    from finprivacy.storage import _db

    for key, db in list(_db._CACHE.items()):
        if key[1] == url:
            db.close()
            del _db._CACHE[key]


@pytest.fixture
def forget_database() -> Callable[[str], None]:
    """The function that closes and drops the cached ``Database`` of a URL."""
    return _forget_database


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: ``memory:``, a fresh SQLite file, a fresh PostgreSQL database."""
    if request.param == "memory":
        return "memory:"
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def django_project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[list[str]]:
    """Django configured once per session with the test app, on SQLite and PostgreSQL.

    The test databases are made by Django's own test runner machinery
    (``DiscoverRunner.setup_databases``); returns the database aliases available.
    """
    pytest.importorskip("django")
    import django
    from django.conf import settings
    from django.test.runner import DiscoverRunner
    from django.test.utils import setup_test_environment, teardown_test_environment

    import finprivacy as fp

    base = tmp_path_factory.mktemp("django")
    databases: dict[str, dict[str, object]] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(base / "books.db"),
                    "TEST": {"NAME": str(base / "test_books.db")}}}
    try:
        dsn = request.getfixturevalue("pg_server_dsn")
    except pytest.skip.Exception:
        dsn = ""
    if dsn:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(dsn)
        query = parse_qs(parts.query)
        databases["pg"] = {"ENGINE": "django.db.backends.postgresql", "NAME": "books",
                           "USER": parts.username or "postgres",
                           "HOST": query.get("host", [""])[0],
                           "PORT": query.get("port", [""])[0]}
    settings.configure(
        DEBUG=False, SECRET_KEY="tests-only", USE_TZ=True, ROOT_URLCONF="tests.django_project.urls",
        ALLOWED_HOSTS=["testserver"], DATABASES=databases,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                        "django.contrib.sessions", "django.contrib.messages",
                        "django.contrib.admin", "finprivacy.django",
                        "tests.django_project.books"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.contrib.messages.middleware.MessageMiddleware",
                    "finprivacy.django.middleware.FinPrivacyMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True, "OPTIONS": {"context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages"]}}],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        FINPRIVACY={"KEYRING": fp.Keyring.generate(), "BLIND_INDEX_BITS": 32},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()
    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    old = runner.setup_databases()
    try:
        yield list(databases)
    finally:
        runner.teardown_databases(old)
        teardown_test_environment()


SPARK_KEK_VAR = "FINPRIVACY_TEST_SPARK_KEK"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole test session (skipped without Java/PySpark).

    The executors' key-encryption key is set before the JVM starts (and through
    ``spark.executorEnv``), as a cluster would set it on its executors.
    """
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (the CI installs one from Debian)")
    from pyspark.sql import SparkSession

    from finprivacy.crypto import EnvironmentProvider

    kek = EnvironmentProvider.generate_kek()
    os.environ[SPARK_KEK_VAR] = kek.reveal() if hasattr(kek, "reveal") else str(kek)
    session = (SparkSession.builder.master("local[2]").appName("finprivacy-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config(f"spark.executorEnv.{SPARK_KEK_VAR}", os.environ[SPARK_KEK_VAR])
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
