"""Throwaway PostgreSQL databases for tests and benchmarks.

``deploy/with-test-postgres`` starts a throwaway server and names it in
ARMSLEDGER_TEST_PG_DSN; ``throwaway_database`` gives each test or measurement a
fresh database on that server and drops it afterwards. Used by tests/conftest.py
and bench/common.py; imports no project package.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlencode

PG_DSN_VARIABLE = "ARMSLEDGER_TEST_PG_DSN"


def url_for_database(dsn: str, dbname: str) -> str:
    """The ``postgresql://`` URL of database ``dbname`` on the server of ``dsn``.

    ``dsn`` may be a URL or a ``key=value`` string; every other connection
    parameter (host, port, user, password, sslmode, ...) is kept. Raises
    ``psycopg.ProgrammingError`` when ``dsn`` cannot be parsed.
    """
    from psycopg.conninfo import conninfo_to_dict

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    params.pop("dbname", None)
    user = params.pop("user", "")
    password = params.pop("password", None)
    userinfo = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    # A Unix-socket directory cannot sit in the authority part: pass it (and
    # its port) as query parameters, as libpq's connection URIs allow.
    netloc = ""
    if params.get("host") and not params["host"].startswith("/"):
        netloc = params.pop("host") + (":" + params.pop("port") if "port" in params else "")
    if userinfo:
        netloc = userinfo + "@" + netloc
    query = "?" + urlencode(params) if params else ""
    return f"postgresql://{netloc}/{quote(dbname, safe='')}{query}"


@contextlib.contextmanager
def throwaway_database(dsn: str, prefix: str = "armsledger_test") -> Iterator[str]:
    """The URL of a new, empty database ``<prefix>_<random>`` on the server of ``dsn``; dropped afterwards.

    Requires a role in ``dsn`` that may create databases. The drop uses WITH (FORCE),
    so a connection left open by the caller does not make it fail.
    """
    import psycopg
    from psycopg import sql

    dbname = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield url_for_database(dsn, dbname)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
