"""Fixtures shared by every test: database URLs for each storage backend.

Tests that take ``db_url`` run once per backend (SQLite and PostgreSQL), which
is how the contract tests are written once and run against every backend.
PostgreSQL tests skip unless ARMSLEDGER_TEST_PG_DSN names a server; ``make test``
starts a throwaway one (deploy/with-test-postgres).

This module deliberately imports no project package (deploy/throwaway_postgres.py
makes the databases and imports none either), so the harness works whatever state
the packages are in.
"""

import os

import pytest
from cheap_kek import KEK_ENVIRON
from hypothesis import settings

from deploy.throwaway_postgres import PG_DSN_VARIABLE, throwaway_database

os.environ.update(KEK_ENVIRON)  # every node a test makes: a cheap KEK (tests/support/cheap_kek.py)

# CI wants a bounded run time; locally the default example count finds more.
# No deadline in either: shared CI machines and database round trips make
# per-example timing noisy.
settings.register_profile("ci", deadline=None, max_examples=50)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """DSN of the PostgreSQL server for tests; skips the test if none is configured."""
    dsn = os.environ.get(PG_DSN_VARIABLE)
    if not dsn:
        pytest.skip(f"PostgreSQL tests need {PG_DSN_VARIABLE} (make test starts a throwaway server)")
    return dsn


@pytest.fixture
def pg_url(pg_dsn):
    """URL of a fresh, empty database used by this test only; dropped afterwards."""
    with throwaway_database(pg_dsn, "armsledger_test") as url:
        yield url


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
