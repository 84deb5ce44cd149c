"""Fixtures shared by every test: database URLs for each storage backend.

Tests that take ``db_url`` run once per backend (SQLite and PostgreSQL), which
is how the contract tests are written once and run against every backend.
PostgreSQL tests skip unless ARMSLEDGER_TEST_PG_DSN names a server; ``make test``
starts a throwaway one (deploy/with-test-postgres).

This module deliberately imports no project package, so the harness works
whatever state the packages are in.
"""

import os
import uuid
from urllib.parse import quote, urlencode

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

# CI wants a bounded run time; locally the default example count finds more.
# No deadline in either: shared CI machines and database round trips make
# per-example timing noisy.
settings.register_profile("ci", deadline=None, max_examples=50)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _url_for_database(dsn: str, dbname: str) -> str:
    """The ``postgresql://`` URL of database ``dbname`` on the server of ``dsn``.

    ``dsn`` may be a URL or a ``key=value`` string; every other connection
    parameter (host, port, user, password, sslmode, ...) is kept.
    """
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    params.pop("dbname", None)
    user = params.pop("user", "")
    password = params.pop("password", None)
    userinfo = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    # A Unix-socket directory cannot sit in the authority part: pass it (and
    # its port) as query parameters, as libpq allows.
    netloc = ""
    if params.get("host") and not params["host"].startswith("/"):
        netloc = params.pop("host") + (":" + params.pop("port") if "port" in params else "")
    if userinfo:
        netloc = userinfo + "@" + netloc
    query = "?" + urlencode(params) if params else ""
    return f"postgresql://{netloc}/{quote(dbname, safe='')}{query}"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """DSN of the PostgreSQL server for tests; skips the test if none is configured."""
    dsn = os.environ.get("ARMSLEDGER_TEST_PG_DSN")
    if not dsn:
        pytest.skip("PostgreSQL tests need ARMSLEDGER_TEST_PG_DSN (make test starts a throwaway server)")
    return dsn


@pytest.fixture
def pg_url(pg_dsn):
    """URL of a fresh, empty database used by this test only; dropped afterwards."""
    dbname = f"armsledger_test_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield _url_for_database(pg_dsn, dbname)
    finally:
        # FORCE: a test that leaked a connection must not make teardown fail.
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """Path of a not-yet-existing SQLite database file in this test's tmp dir."""
    return str(tmp_path / "ledger.db")


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
)
def db_url(request) -> str:
    """Database URL for each backend in turn: a SQLite path, then a PostgreSQL URL."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """Bootstrap servers of a Kafka-protocol broker shared by the session's tests.

    ARMSLEDGER_TEST_KAFKA (``host:port[,..]``) if set; otherwise a local Tansu broker
    (nodes.federation.broker) on a free port, stopped when the session ends. Tests keep apart by
    using topic prefixes of their own; a test that kills a broker starts its own.
    """
    given = os.environ.get("ARMSLEDGER_TEST_KAFKA")
    if given:
        yield given
        return
    from nodes.federation.broker import LocalBroker  # here, not at the top: see the module docstring

    with LocalBroker() as broker:
        yield broker.bootstrap_servers
