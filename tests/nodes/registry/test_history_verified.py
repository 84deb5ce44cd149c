"""What ``history`` and ``diversion`` show is verified as it is read; damaged rows never end in a traceback.

Each test edits the database behind the node's back (``tests/support/insider.py``) and
expects the record shown as not verified, with the reason, and exit 1; commands that
would write on a damaged stream refuse with exit 1 and write nothing. Both backends.
"""

from __future__ import annotations

import pytest

from ledger.encoding import canonical_decode, canonical_encode

from inprocess_cli import Cli, node_environment
from insider import events_table, row_id, sql

PISTOL = ("--manufacturer", "FN Herstal", "--country", "BE", "--serial", "HV-1")


@pytest.fixture
def be(monkeypatch, capsys, tmp_path, db_url) -> Cli:
    node_environment(monkeypatch)
    cli = Cli(capsys, tmp_path / "be", db_url)
    cli.ok("init", "--state", "BE")
    return cli


@pytest.fixture
def weapon(be) -> str:
    """A weapon with three records: manufactured (v1), marked M1 (v2), marked M2 (v3); and a transfer licence."""
    made = be.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--make", "FN", "--model", "57",
                 "--calibre", "5.7", "--year", "2020", "--holder", "FN Herstal").out.strip()
    be.ok("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence", "--holder", "Dealer SA",
          "--valid-from", "2020-01-01", "--valid-until", "2030-12-31")
    for mark in ("M1", "M2"):
        be.ok("record", "mark", "--weapon", made, "--mark", mark, "--reason", "inspection", "--by", "police")
    return made


def where(be: Cli, weapon: str, version: int) -> tuple[str, tuple]:
    return "WHERE originator_id = ? AND originator_version = ?", (row_id(be.db, weapon), version)


def rewrite(be: Cli, weapon: str, version: int, change) -> None:
    """Re-encode the stored envelope of ``version`` with ``change`` applied, without signing it again."""
    clause, params = where(be, weapon, version)
    state = bytes(sql(be.db, f"SELECT state FROM {events_table(be.db)} {clause}", *params)[0][0])
    envelope = dict(canonical_decode(state))
    change(envelope)
    sql(be.db, f"UPDATE {events_table(be.db)} SET state = ? {clause}", canonical_encode(envelope), *params)


def rows(be: Cli) -> int:
    return sql(be.db, f"SELECT COUNT(*) FROM {events_table(be.db)}")[0][0]


def history(be: Cli, weapon: str) -> tuple[int, dict, str]:
    result = be("history", weapon, "--json")
    return result.code, result.json(), result.err


def test_an_intact_history_is_verified_and_exits_0(be, weapon):
    code, document, _ = history(be, weapon)
    assert code == 0 and document["verified"] is True
    assert [e["verified"] for e in document["events"]] == [True, True, True]
    assert document["marks"] == ["M1", "M2"]


def test_an_edited_body_is_shown_as_not_verified_with_exit_1(be, weapon):
    rewrite(be, weapon, 2, lambda e: e.__setitem__("body", {**e["body"], "mark": "EDITED"}))
    code, document, err = history(be, weapon)
    assert code == 1 and document["verified"] is False
    edited = document["events"][1]
    assert (edited["version"], edited["verified"]) == (2, False) and "signature" in edited["problem"]
    assert document["events"][0]["verified"] is True
    assert "EDITED" not in document["marks"]  # the status is replayed from the verified records only
    assert "version 2" in err and "armsledger verify" in err
    text = be("history", weapon)
    assert text.code == 1 and "NOT VERIFIED" in text.out


def test_a_stored_type_altered_is_named_by_history_and_refused_by_a_write(be, weapon):
    rewrite(be, weapon, 2, lambda e: e.__setitem__("type", "Weapon.Bogus"))
    code, document, err = history(be, weapon)
    assert code == 1 and document["events"][1]["verified"] is False and "version 2" in err
    before = rows(be)
    result = be("record", "transfer", "--weapon", weapon, "--to", "Dealer SA", "--licence", "TL-1")
    assert result.code == 1 and "Weapon.Bogus" in result.err and "verify" in result.err
    assert rows(be) == before


def test_a_deleted_middle_row_is_named_by_history_and_refused_by_a_write(be, weapon):
    clause, params = where(be, weapon, 2)
    sql(be.db, f"DELETE FROM {events_table(be.db)} {clause}", *params)
    code, document, err = history(be, weapon)
    assert code == 1
    assert [(e["version"], e["verified"]) for e in document["events"]] == [(1, True), (3, False)]
    assert "version 2" in document["events"][1]["problem"] and "missing" in document["events"][1]["problem"]
    before = rows(be)
    result = be("record", "transfer", "--weapon", weapon, "--to", "Dealer SA", "--licence", "TL-1")
    assert result.code == 1 and "deleted" in result.err and "verify" in result.err
    assert rows(be) == before


def test_an_edited_body_is_not_used_by_diversion_which_exits_1(be, weapon):
    rewrite(be, weapon, 3, lambda e: e.__setitem__("body", {**e["body"], "mark": "EDITED"}))
    result = be("diversion", weapon, "--json")
    assert result.code == 1
    failed = result.json()["failed"]
    assert len(failed) == 1 and weapon in failed[0] and "version 3" in failed[0] and "signature" in failed[0]
    assert "NOT VERIFIED" in be("diversion", weapon).out


def test_an_unreadable_row_is_named_by_history_and_verify(be, weapon):
    clause, params = where(be, weapon, 2)
    sql(be.db, f"UPDATE {events_table(be.db)} SET state = ? {clause}", b"\xc1 not msgpack", *params)
    code, document, _ = history(be, weapon)
    assert code == 1 and document["events"][1]["type"] is None and "unreadable" in document["events"][1]["problem"]
    result = be("verify")
    assert result.code == 1 and f"stream {weapon} version 2" in result.err


def test_a_null_state_is_named_by_verify_and_history(be, weapon):
    clause, params = where(be, weapon, 2)
    sql(be.db, f"UPDATE {events_table(be.db)} SET state = NULL {clause}", *params)
    result = be("verify")
    assert result.code == 1 and f"stream {weapon} version 2" in result.err and "not bytes" in result.err
    code, document, _ = history(be, weapon)
    assert code == 1 and document["events"][1]["verified"] is False



@pytest.mark.parametrize("command", [("record", "transfer", "--to", "Dealer SA", "--licence", "TL-1"),
                                     ("record", "mark", "--mark", "M3", "--reason", "inspection", "--by", "police")])
def test_a_write_over_a_null_state_names_the_row_and_writes_nothing(be, weapon, command):
    clause, params = where(be, weapon, 2)
    sql(be.db, f"UPDATE {events_table(be.db)} SET state = NULL {clause}", *params)
    before = rows(be)
    result = be(*command, "--weapon", weapon)
    assert result.code == 1, result.err
    assert f"{weapon} version 2" in result.err and "armsledger verify" in result.err
    assert rows(be) == before


# SQLite only: PostgreSQL stores originator ids as uuid, so no row there can hold another value.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_originator_id_that_is_not_a_uuid_is_named_by_verify(be, weapon, db_url):
    clause, params = where(be, weapon, 2)
    sql(be.db, f"UPDATE {events_table(be.db)} SET originator_id = 'not-a-uuid' {clause}", *params)
    result = be("verify")
    assert result.code == 1 and "not-a-uuid" in result.err and f"stream {weapon} version 2" in result.err
