"""The test harness itself: the throwaway PostgreSQL and the per-backend URLs work."""

from pathlib import Path

import psycopg
import pytest


def test_pg_url_is_a_fresh_database_that_stores_and_returns_rows(pg_url):
    with psycopg.connect(pg_url) as conn:
        dbname = conn.execute("SELECT current_database()").fetchone()[0]
        assert dbname.startswith("armsledger_test_")
        assert pg_url.endswith("/" + dbname)
        # Fresh: no user tables yet.
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        conn.execute("CREATE TABLE transfer (serial text PRIMARY KEY, quantity int NOT NULL)")
        conn.execute("INSERT INTO transfer VALUES (%s, %s)", ("SN-0042", 3))
        conn.commit()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT serial, quantity FROM transfer").fetchall() == [("SN-0042", 3)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_db_url_is_a_new_file_path_in_the_tests_tmp_dir(db_url, tmp_path):
    path = Path(db_url)
    assert path.parent == tmp_path
    assert not path.exists()
