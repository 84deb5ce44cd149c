"""The throwaway-database URL that tests and benchmarks share keeps every connection parameter but the database."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from deploy.throwaway_postgres import url_for_database


@pytest.mark.parametrize("dsn, url", [
    ("postgresql://u:p@h:5432/postgres", "postgresql://u:p@h:5432/db%201"),
    ("host=/tmp/sock port=5433 user=postgres dbname=postgres", "postgresql://postgres@/db%201?host=%2Ftmp%2Fsock&port=5433"),
    ("host=localhost user=a@b password=p:w/", "postgresql://a%40b:p%3Aw%2F@localhost/db%201"),
    ("postgresql://h/x?sslmode=require", "postgresql://h/db%201?sslmode=require"),
    ("dbname=x", "postgresql:///db%201"),
], ids=["url", "unix socket", "characters to quote", "sslmode", "defaults only"])
def test_the_url_names_the_new_database_on_the_same_server(dsn, url):
    assert url_for_database(dsn, "db 1") == url
    expected = {**conninfo_to_dict(dsn), "dbname": "db 1"}
    assert conninfo_to_dict(url) == expected
