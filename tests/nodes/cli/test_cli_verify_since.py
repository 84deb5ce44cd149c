"""``verify --since SIZE|latest``: a passing verify records a signed mark, ``--since`` starts from it and
still catches records altered, deleted or inserted after it and altered before it; a missing or forged
mark exits 1, a size never verified exits 2 naming --since; a node key rotation across the mark still
verifies. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from inprocess_cli import Cli
from insider import events_table, sql

MARK = "verified.checkpoint"


def _record(cli: Cli, first: int, count: int) -> None:
    for n in range(first, first + count):
        cli.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", f"SN-{n}",
               "--type", "pistol", "--make", "FN", "--model", "Five-seveN", "--calibre", "5.7x28",
               "--year", "2020", "--holder", "Museum", "--date", "2021-01-01")


def _node(capsys, tmp_path, db_url) -> tuple[Cli, int]:
    """A node with records, fully verified (so its mark is recorded), then three more records."""
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    _record(be, 0, 3)
    full = be.ok("verify", "--json").json()
    assert full["recorded"] == full["checkpoint_size"] > 0
    assert (tmp_path / "be" / MARK).is_file()
    _record(be, 3, 3)
    return be, full["checkpoint_size"]


def _id(db: str) -> str:
    """The column of a row's log position: eventsourcing's SQLite recorder uses the rowid."""
    return "notification_id" if db.startswith("postgresql://") else "rowid"


def _positions(db: str) -> list[int]:
    return [row[0] for row in sql(db, f"SELECT {_id(db)} FROM {events_table(db)} ORDER BY {_id(db)}")]


def _kinds(result) -> set[str]:
    return {problem["kind"] for problem in result.json()["problems"]}


def test_since_verifies_only_the_records_after_the_mark_and_moves_the_mark(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    total = len(_positions(db_url))

    since = be.ok("verify", "--since", str(size), "--json").json()
    assert since["ok"] and since["since"]["size"] == size
    assert since["since"]["records"] == {"from_index": size, "to_index": total}
    assert since["since"]["signatures_verified"] == total - size > 0
    assert since["recorded"] == since["checkpoint_size"] > size
    text = be.ok("verify", "--since", "latest").out
    assert text.startswith("ok") and "--since" in text


def test_since_catches_a_record_after_the_mark_altered(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    last = _positions(db_url)[-1]
    state = sql(db_url, f"SELECT state FROM {events_table(db_url)} WHERE {_id(db_url)} = ?", last)[0][0]
    forged = bytes(state).replace(b"SN-5", b"SN-X")
    assert forged != bytes(state)
    sql(db_url, f"UPDATE {events_table(db_url)} SET state = ? WHERE {_id(db_url)} = ?", forged, last)

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1 and {"signature", "root"} & _kinds(failed)
    assert be("verify", "--since", "latest").err  # problems named on stderr


def test_since_catches_a_record_after_the_mark_deleted(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    sql(db_url, f"DELETE FROM {events_table(db_url)} WHERE {_id(db_url)} = ?", _positions(db_url)[size + 1])

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1 and {"deleted", "root", "consistency"} & _kinds(failed)


def test_since_catches_a_record_inserted_after_the_mark(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    table, last = events_table(db_url), _positions(db_url)[-1]
    # A copy of a record after the mark, under a stream of its own, appended at the end of the log.
    first = _positions(db_url)[0]
    other = sql(db_url, f"SELECT originator_id FROM {table} WHERE {_id(db_url)} = ?", first)[0][0]
    sql(db_url, f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
                f"SELECT ?, 999, topic, state FROM {table} WHERE {_id(db_url)} = ?", other, last)

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1, failed.err
    assert _kinds(failed) & {"misfiled", "chain", "inserted"}


def test_since_does_not_read_a_record_before_the_mark_says_so_and_a_full_verify_names_it(env, capsys, tmp_path,
                                                                                          db_url):
    be, size = _node(capsys, tmp_path, db_url)
    table, early = events_table(db_url), _positions(db_url)[size - 1]
    state = bytes(sql(db_url, f"SELECT state FROM {table} WHERE {_id(db_url)} = ?", early)[0][0])
    index = state.index(b"\xc4\x40")  # the 64-byte signature (msgpack bin 8): the leaf hash does not cover it
    damaged = state[:index + 2] + bytes(64) + state[index + 66:]
    sql(db_url, f"UPDATE {table} SET state = ? WHERE {_id(db_url)} = ?", damaged, early)

    since = be.ok("verify", "--since", "latest", "--json").json()
    assert since["ok"] and "full 'armsledger verify' on a schedule" in since["since"]["not_checked"]
    assert "not checked by --since: the records before the mark" in be.ok("verify", "--since", "latest").out
    recorded = (tmp_path / "be" / MARK).read_bytes()
    full = be("verify", "--json").json()
    assert not full["ok"] and "signature" in {p["kind"] for p in full["problems"]}  # a full verify names it
    assert (tmp_path / "be" / MARK).read_bytes() == recorded  # a verify that fails records nothing


def test_a_missing_or_forged_mark_exits_1_and_a_size_never_verified_exits_2(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    mark = tmp_path / "be" / MARK

    never = be.refused("verify", "--since", str(size + 1))
    assert "--since" in never.err and f"size {size + 1}" in never.err
    assert "--since" in be.refused("verify", "--since", "yesterday").err

    data = mark.read_bytes()
    mark.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    forged = be("verify", "--since", "latest", "--json")
    assert forged.code == 1 and _kinds(forged) == {"mark"} and "altered" in forged.json()["problems"][0]["reason"]
    mark.write_bytes(b"not a mark")
    assert be("verify", "--since", "latest").code == 1
    mark.unlink()
    missing = be("verify", "--since", "latest")
    assert missing.code == 1 and "full 'armsledger verify'" in missing.err
    assert be.ok("verify", "--json").json()["recorded"] > size  # a full verify records a new mark


def test_a_mark_whose_checkpoint_the_log_no_longer_holds_fails(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    sql(db_url, "DELETE FROM armsledger_checkpoints WHERE size = ?", size)

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1 and "witness" in _kinds(failed)


def test_a_node_key_rotation_across_the_mark_still_verifies_since(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    be.ok("key", "rotate", "--node")
    _record(be, 6, 2)

    since = be.ok("verify", "--since", str(size), "--json").json()
    assert since["ok"] and since["since"]["size"] == size and since["recorded"] > size
    new_key = json.loads(be.ok("key", "export").out)["node_key_id"]
    assert be.ok("verify", "--since", "latest", "--json").json()["ok"]
    assert new_key  # the mark recorded after the rotation is signed by the new key and reads back


def _continue_a_stream_of_before_the_mark(be: Cli) -> None:
    be.ok("record", "report-stolen", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", "SN-0",
          "--date", "2022-01-01")


def test_since_catches_the_record_before_the_mark_that_a_new_record_follows_altered(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    _continue_a_stream_of_before_the_mark(be)
    table = events_table(db_url)
    stream, = sql(db_url, f"SELECT originator_id FROM {table} WHERE {_id(db_url)} = ?", _positions(db_url)[-1])[0]
    head = sql(db_url, f"SELECT {_id(db_url)}, state FROM {table} WHERE originator_id = ? AND originator_version = 1",
               stream)[0]
    assert head[0] <= _positions(db_url)[size - 1]  # the stream's first record lies before the mark
    forged = bytes(head[1]).replace(b"SN-0", b"SN-Z")
    assert forged != bytes(head[1])
    sql(db_url, f"UPDATE {table} SET state = ? WHERE {_id(db_url)} = ?", forged, head[0])

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1 and "chain" in _kinds(failed)


def test_since_catches_a_register_record_before_the_mark_altered(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    table = events_table(db_url)
    first = _positions(db_url)[0]  # the register of authorities opens the log
    state = bytes(sql(db_url, f"SELECT state FROM {table} WHERE {_id(db_url)} = ?", first)[0][0])
    index = state.index(b"\xc4\x40")
    sql(db_url, f"UPDATE {table} SET state = ? WHERE {_id(db_url)} = ?",
        state[:index + 2] + bytes(64) + state[index + 66:], first)

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1 and "altered" in _kinds(failed)


def test_since_catches_the_leaf_index_altered_after_the_mark(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    sql(db_url, "UPDATE armsledger_leaves SET envelope_hash = ? WHERE leaf_index = ?", bytes(32), size)

    failed = be("verify", "--since", "latest", "--json")
    assert failed.code == 1 and _kinds(failed) == {"index"}


def test_a_stream_continued_after_the_mark_links_to_its_head_before_it(env, capsys, tmp_path, db_url):
    be, size = _node(capsys, tmp_path, db_url)
    _continue_a_stream_of_before_the_mark(be)
    table, positions = events_table(db_url), _positions(db_url)
    continued = sql(db_url, f"SELECT originator_version FROM {table} WHERE {_id(db_url)} > ? AND topic LIKE ?"
                            " AND originator_version > 1", positions[size - 1], "Weapon.%")
    assert continued  # a weapon recorded before the mark has a new version after it

    assert be.ok("verify", "--since", "latest", "--json").json()["ok"]


def test_a_verify_without_the_passphrase_records_no_mark_and_says_so(env, capsys, tmp_path, db_url, monkeypatch):
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    _record(be, 0, 2)
    monkeypatch.delenv("ARMSLEDGER_PASSPHRASE")

    text = be.ok("verify").out
    assert text.startswith("ok") and "no verified mark recorded for --since: the node is locked" in text
    assert be.ok("verify", "--json").json()["recorded"] is None
    assert not (tmp_path / "be" / MARK).exists()
