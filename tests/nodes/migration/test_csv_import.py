"""Bulk migration of paper registers: nodes.migration.import_csv (layout: docs/csv-layout.md).

Contract tests run on SQLite and PostgreSQL (``db_url``): good rows land as
signed records, bad rows are reported by line and column, a re-run records
nothing twice, and a kill -9 mid-run leaves no half-written weapon and resumes.
"""

import contextlib
import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from uuid import UUID

import pytest

from domain.marking import Marking
from domain.time import parse_time
from ledger.envelope import Envelope, verify_chain, verify_envelope
from ledger.keys import public_key_from_bytes
from nodes.bootstrap import init_node, open_node
from nodes.errors import ConfigurationError, ImportFileError
from nodes.migration import REQUIRED_COLUMNS, RowError, import_csv
from nodes.registry.application import Registry
from nodes.settings import Settings

COLUMNS = ("manufacturer", "country", "serial", "type", "make", "model", "calibre", "year", "manufactured_on",
           "first_holder", "current_holder", "transferred_on", "transfer_licence", "by")
PASSPHRASE = "correct horse"


def a_row(serial: str, **changes: str) -> dict[str, str]:
    row = {"manufacturer": "FN Herstal", "country": "BE", "serial": serial, "type": "pistol", "make": "FN",
           "model": "GP35", "calibre": "9x19mm", "year": "1965", "manufactured_on": "1965-04-12",
           "first_holder": "FN Herstal", "current_holder": "", "transferred_on": "", "transfer_licence": "", "by": ""}
    row.update(changes)
    return row


def with_holder(serial: str, holder: str = "Police de Liège", **changes: str) -> dict[str, str]:
    transfer = {"current_holder": holder, "transferred_on": "1971-09-30", "transfer_licence": f"PAPER/{serial}"}
    return a_row(serial, **{**transfer, **changes})


def write_csv(path, rows, columns=COLUMNS):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns] if isinstance(row, dict) else row)
    return path


def weapon_id(serial: str, manufacturer: str = "FN Herstal", country: str = "BE") -> UUID:
    return Marking.read(manufacturer, country, serial).weapon_id()


def public_keys(node) -> dict:
    return {key_id: public_key_from_bytes(public)
            for key_id, (public, _kind) in node.registry.authority_register().keys.items()}


def streams(node) -> dict[str, list[Envelope]]:
    """Every stored envelope, by stream, in notification order (one pass over the log)."""
    found = defaultdict(list)
    for _position, stored in node.registry.stored_notifications():
        envelope = Envelope.from_bytes(stored.state)
        found[envelope.stream].append(envelope)
    return found


@pytest.fixture
def settings(db_url, tmp_path):
    return Settings.load(home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE)


@pytest.fixture
def node(settings):
    node = init_node(settings, "BE")
    yield node
    node.close()


def test_good_rows_become_signed_weapon_records_with_their_holders(node, tmp_path):
    path = write_csv(tmp_path / "register.csv", [
        a_row("1-0001"),
        with_holder("1-0002"),
        a_row("1-0003", by="licensing", year="1994", manufactured_on="1994-02-01", first_holder="FN Herstal SA"),
    ])

    report = import_csv(node, path)

    assert report.to_dict() == {"file": str(path), "rows": 3, "imported": 3, "skipped": 0, "events": 4,
                                "errors": []}
    keys, registry_key = public_keys(node), node.identity.authority_key_ids["registry"]
    kept = node.registry.weapon(weapon_id("1-0001"))
    assert (kept.holder, kept.status.value, kept.year) == ("FN Herstal", "active", 1965)
    transferred = node.registry.weapon(weapon_id("1-0002"))
    assert transferred.holder == "Police de Liège"
    envelopes = node.registry.envelopes(transferred.id)
    assert [e.type for e in envelopes] == ["Weapon.Manufactured", "Weapon.Transferred"]
    assert envelopes[0].occurred_on == parse_time("1965-04-12") < 0  # decades before the epoch
    assert dict(envelopes[1].body) == {"from_holder": "FN Herstal", "to_holder": "Police de Liège",
                                       "licence": "PAPER/1-0002", "officer": ""}
    assert {e.authority for e in envelopes} == {registry_key}
    by_licensing = node.registry.envelopes(weapon_id("1-0003"))
    assert by_licensing[0].authority == node.identity.authority_key_ids["licensing"]
    for stream in (weapon_id("1-0001"), transferred.id, weapon_id("1-0003")):
        stored = node.registry.envelopes(stream)
        assert verify_chain(stored)
        assert all(verify_envelope(e, keys[e.authority]) for e in stored)


def test_records_written_by_the_import_are_those_the_registry_mapper_writes(node, tmp_path):
    path = write_csv(tmp_path / "register.csv", [with_holder("2-0001")])
    import_csv(node, path)
    imported = node.registry.envelopes(weapon_id("2-0001"))

    # The same weapon through the interactive path (Registry.save and its mapper),
    # with the same keys, in another database.
    reference = Registry(str(tmp_path / "reference.db"), node.identity)
    try:
        wid = reference.manufacture(by="registry", marking=Marking.read("FN Herstal", "BE", "2-0001"),
                                    type="pistol", make="FN", model="GP35", calibre="9x19mm", year=1965,
                                    holder="FN Herstal", occurred_on=parse_time("1965-04-12"))
        weapon = reference.weapon(wid)
        weapon.migrate_transfer(authority=reference.authority("registry"), to_holder="Police de Liège",
                                licence_reference="PAPER/2-0001", occurred_on=parse_time("1971-09-30"))
        reference.save(weapon)
        saved = reference.envelopes(wid)
        saved_topics = [s.topic for s in reference.recorder.select_events(wid)]
    finally:
        reference.close()

    def comparable(envelope):  # all but recording time, and what depends on it
        fields = envelope.unsigned()
        del fields["recorded_at"], fields["prev"]
        return fields

    assert [comparable(e) for e in imported] == [comparable(e) for e in saved]
    assert [s.topic for s in node.registry.recorder.select_events(weapon_id("2-0001"))] == saved_topics
    assert imported[1].prev == imported[0].hash
    assert all(Envelope.from_bytes(e.to_bytes()) == e for e in imported)  # canonical bytes


def test_signing_in_worker_processes_gives_the_same_verifiable_records(node, tmp_path):
    rows = [with_holder(f"3-{i:04d}") if i % 2 else a_row(f"3-{i:04d}") for i in range(40)]
    rows[17] = a_row("3-0017", country="XX")
    path = write_csv(tmp_path / "register.csv", rows)

    report = import_csv(node, path, batch_size=6, workers=2)

    assert (report.rows, report.imported, report.events) == (40, 39, 39 + 19)
    assert report.errors == [RowError(19, "country", "'XX' is not an ISO 3166-1 alpha-2 country code")]
    keys = public_keys(node)
    for i in range(40):
        stored = node.registry.envelopes(weapon_id(f"3-{i:04d}"))
        assert len(stored) == (0 if i == 17 else 2 if i % 2 else 1)
        assert verify_chain(stored) and all(verify_envelope(e, keys[e.authority]) for e in stored)


TOMORROW = (date.today() + timedelta(days=2)).isoformat()
BAD_ROWS = [
    # (row, column reported)
    (a_row("B-01", country="Belgium"), "country"),
    (a_row("B-02", manufactured_on=TOMORROW), "manufactured_on"),
    (a_row("   "), "serial"),
    (a_row("B-04", year="19x5"), "year"),
    (a_row("B-05", year="1700", manufactured_on="1700-01-01"), "year"),
    (a_row("B-06", manufactured_on="12/04/1965"), "manufactured_on"),
    (a_row("B-07", manufactured_on="1964-12-31"), "manufactured_on"),  # before its year of manufacture
    (a_row("B-08", manufacturer=""), "manufacturer"),
    (a_row("B-09", first_holder=""), "first_holder"),
    (a_row("B-10", calibre=""), "calibre"),
    (a_row("B-11", by="police"), "by"),
    (a_row("B-12", by="ministry"), "by"),
    (with_holder("B-13", transfer_licence=""), "transfer_licence"),
    (with_holder("B-14", current_holder=""), "current_holder"),
    (with_holder("B-15", transferred_on="1960-01-01"), "transferred_on"),  # before manufacture
    (with_holder("B-16", transferred_on=TOMORROW), "transferred_on"),
    (with_holder("B-17", by="licensing"), "by"),  # live transfers need an issued licence
    (["FN Herstal", "BE", "B-18", "pistol"], None),  # too few values
]


def test_bad_rows_are_reported_by_line_and_column_while_good_rows_land(node, tmp_path):
    rows = []
    for i, (bad, _column) in enumerate(BAD_ROWS):
        rows += [a_row(f"G-{i:02d}"), bad]
    path = write_csv(tmp_path / "register.csv", rows)

    report = import_csv(node, path)

    # Line 1 is the header: good rows are on even lines, bad rows on odd ones.
    assert [(e.line, e.field) for e in report.errors] == [(3 + 2 * i, column)
                                                          for i, (_row, column) in enumerate(BAD_ROWS)]
    assert all(e.reason for e in report.errors)
    assert (report.rows, report.imported, report.events) == (2 * len(BAD_ROWS), len(BAD_ROWS), len(BAD_ROWS))
    for i in range(len(BAD_ROWS)):
        assert node.registry.weapon(weapon_id(f"G-{i:02d}")).holder == "FN Herstal"
    stored = streams(node)
    assert not any(weapon_id(f"B-{i:02d}") in map(UUID, stored) for i in range(1, 19))


def test_duplicate_markings_in_the_file_and_in_the_store_are_reported(node, tmp_path):
    node.registry.manufacture(by="licensing", marking=Marking.read("FN Herstal", "BE", "D-3"), type="rifle",
                              make="FN", model="FAL", calibre="7.62x51mm", year=1970, holder="FN Herstal",
                              occurred_on=parse_time("1970-05-05"))
    path = write_csv(tmp_path / "register.csv", [
        a_row("D-1"),
        a_row("d 1", model="GP35 MkII"),  # the same marking once normalised
        a_row("D-3"),                     # registered already, as another weapon record
        a_row("D-4"),
        a_row("D-1"),                     # an exact repeat is a duplicate too
    ])

    report = import_csv(node, path)

    assert [(e.line, e.field) for e in report.errors] == [(3, "serial"), (4, "serial"), (6, "serial")]
    assert "line 2" in report.errors[0].reason and "FNHERSTAL|BE|D1" in report.errors[0].reason
    assert "registered already" in report.errors[1].reason
    assert (report.imported, report.skipped) == (2, 0)
    assert node.registry.weapon(weapon_id("D-3")).type == "rifle"  # untouched
    assert node.registry.weapon(weapon_id("D-1")).model == "GP35"


def test_re_running_a_file_records_nothing_twice(node, tmp_path):
    rows = [with_holder(f"R-{i}") if i % 3 else a_row(f"R-{i}") for i in range(12)]
    rows.insert(5, a_row("R-bad", year="soon"))
    path = write_csv(tmp_path / "register.csv", rows)
    first = import_csv(node, path, batch_size=4, workers=0)
    stored_after_first = node.registry.recorder.max_notification_id()

    again = import_csv(node, path, batch_size=5, workers=0)

    assert (first.imported, first.skipped, first.events) == (12, 0, 20)
    assert (again.rows, again.imported, again.skipped, again.events) == (13, 0, 12, 0)
    assert again.errors == first.errors == [RowError(7, "year", "'soon' is not a whole number")]
    assert node.registry.recorder.max_notification_id() == stored_after_first

    # An edited register is not a re-run: a transfer that was not imported is reported.
    rows[0] = with_holder("R-0")
    edited = import_csv(node, write_csv(tmp_path / "edited.csv", rows), workers=0)
    assert [(e.line, e.field) for e in edited.errors] == [(2, "current_holder"), (7, "year")]
    assert (edited.imported, edited.skipped) == (0, 11)


@pytest.mark.parametrize("content, message", [
    ("", "header row is missing"),
    ("\n\n", "header row is missing"),
    (",".join(COLUMNS) + ",colour\n", "unknown column 'colour'"),
    (",".join(c for c in COLUMNS if c != "serial") + "\n", "missing required column 'serial'"),
    (",".join(COLUMNS + ("year",)) + "\n", "column 'year' appears twice"),
])
def test_a_file_not_in_the_layout_is_refused_whole(content, message, sqlite_url, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(content, encoding="utf-8")
    with init_node(Settings.load(home=tmp_path / "be", db=sqlite_url, passphrase=PASSPHRASE), "BE") as node:
        before = node.registry.recorder.max_notification_id()
        with pytest.raises(ImportFileError, match=message):
            import_csv(node, path)
        with pytest.raises(ImportFileError, match="cannot read"):
            import_csv(node, tmp_path / "missing.csv")
        assert node.registry.recorder.max_notification_id() == before


def test_header_names_are_matched_loosely_and_optional_columns_may_be_absent(sqlite_url, tmp_path):
    header = [f" {c.upper()} " for c in REQUIRED_COLUMNS]
    path = tmp_path / "register.csv"
    row = a_row("H-1")
    path.write_bytes(b"\xef\xbb\xbf" + (",".join(header) + "\n" + ",".join(row[c] for c in REQUIRED_COLUMNS)
                                         + "\n\n").encode("utf-8"))  # with a BOM and a blank line
    with init_node(Settings.load(home=tmp_path / "be", db=sqlite_url, passphrase=PASSPHRASE), "BE") as node:
        report = import_csv(node, path)
        assert (report.rows, report.imported, report.errors) == (1, 1, [])
        assert node.registry.weapon(weapon_id("H-1")).make == ""


def test_rows_before_an_undecodable_line_are_recorded(sqlite_url, tmp_path):
    path = tmp_path / "register.csv"
    good = write_csv(tmp_path / "good.csv", [a_row("U-1"), a_row("U-2")]).read_bytes()
    path.write_bytes(good + b"FN Herstal,BE,U-3,pistol,FN,GP35,9mm,1965,1965-04-12,Fabrique \xe9,,,,\n")
    with init_node(Settings.load(home=tmp_path / "be", db=sqlite_url, passphrase=PASSPHRASE), "BE") as node:
        with pytest.raises(ImportFileError, match="line 4: the file is not UTF-8"):
            import_csv(node, path)
        assert node.registry.weapon(weapon_id("U-2")).holder == "FN Herstal"


def test_a_locked_node_cannot_import(sqlite_url, tmp_path):
    settings = Settings.load(home=tmp_path / "be", db=sqlite_url, passphrase=PASSPHRASE)
    init_node(settings, "BE").close()
    path = write_csv(tmp_path / "register.csv", [a_row("L-1")])
    with open_node(settings, unlock=False) as node:
        with pytest.raises(ConfigurationError, match="locked"):
            import_csv(node, path)


IMPORT_SCRIPT = """
import sys
from nodes.bootstrap import open_node
from nodes.migration import import_csv
from nodes.settings import Settings
with open_node(Settings.load(home=sys.argv[1], db=sys.argv[2], passphrase=sys.argv[3])) as node:
    import_csv(node, sys.argv[4], batch_size=int(sys.argv[5]))
"""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def feed(fifo, data: bytes) -> None:
    """Write ``data`` into the pipe and keep it open (no end of file) until the process ends.

    Run in a daemon thread, so that an importer that dies before reading cannot block the test.
    """
    pipe = open(fifo, "wb")  # never closed: the reader must not see the end
    pipe.write(data)
    pipe.flush()
    threading.Event().wait()


def test_an_import_killed_mid_run_leaves_no_half_weapon_and_resumes(node, settings, tmp_path):
    total = 3000
    expected = {str(weapon_id(f"K-{i:05d}")): 2 if i % 2 else 1 for i in range(total)}
    path = write_csv(tmp_path / "register.csv",
                     [with_holder(f"K-{i:05d}") if i % 2 else a_row(f"K-{i:05d}") for i in range(total)])
    before = node.registry.recorder.max_notification_id() or 0
    streams_before = set(streams(node))
    # The importer reads the file from a pipe that holds only the first 1200 rows: it has
    # written some batches and waits for more when it is killed, however fast it runs.
    fifo = tmp_path / "register.fifo"
    os.mkfifo(fifo)
    fed = b"".join(path.read_bytes().splitlines(keepends=True)[:1201])  # header + 1200 rows
    importer = subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, str(settings.home), settings.db, PASSPHRASE, str(fifo), "200"],
        start_new_session=True,  # its own process group, for the clean-up below
    )
    threading.Thread(target=feed, args=(fifo, fed), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while (node.registry.recorder.max_notification_id() or 0) == before:
            assert importer.poll() is None, "the import ended while rows were still to come"
            assert time.monotonic() < deadline, "the import wrote nothing"
            time.sleep(0.005)
        workers = children_of(importer.pid)
        os.kill(importer.pid, signal.SIGKILL)
        importer.wait()
        # Its signing workers notice and exit rather than linger as orphans.
        deadline = time.monotonic() + 10
        while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers and not any(is_running(pid) for pid in workers)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(importer.pid, signal.SIGKILL)
        importer.wait()

    # Killed mid-run: some weapons are in, each one whole.
    interrupted = {s: len(e) for s, e in streams(node).items() if s in expected}
    assert importer.returncode == -signal.SIGKILL
    assert 0 < len(interrupted) <= 1200
    assert all(count == expected[s] for s, count in interrupted.items())

    report = import_csv(node, path, batch_size=500)

    assert report.errors == []
    assert (report.skipped, report.imported) == (len(interrupted), total - len(interrupted))
    recorded = streams(node)
    keys = public_keys(node)
    for stream, count in expected.items():
        envelopes = recorded[stream]
        assert [e.type for e in envelopes] == ["Weapon.Manufactured", "Weapon.Transferred"][:count]
        assert verify_chain(envelopes)
    sample = [e for s in list(expected)[::500] for e in recorded[s]]
    assert all(verify_envelope(e, keys[e.authority]) for e in sample)
    new_streams = {s for s in recorded if s not in streams_before}
    assert new_streams == set(expected)


def test_on_postgresql_an_import_leaves_the_planner_statistics_of_what_it_wrote(pg_url, tmp_path):
    # Autovacuum's analyze gives way to every batch's table lock: without statistics the planner guessed, and
    # a history read at 10,000,000 events was ten times slower (docs/benchmarks.md, cost as the work grows).
    node = init_node(Settings.load(home=tmp_path / "be", db=pg_url, passphrase=PASSPHRASE), "BE")
    try:
        import_csv(node, write_csv(tmp_path / "register.csv", [a_row(f"1-{i:04d}") for i in range(30)]),
                   batch_size=10)
        recorder = node.registry.recorder
        table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT (SELECT reltuples FROM pg_class WHERE oid = %s::regclass) AS estimated, "
                           f"(SELECT count(*) FROM {table}) AS stored", (table,))
            (row,) = cursor.fetchall()
    finally:
        node.close()
    assert row["stored"] > 30
    assert row["estimated"] == row["stored"]  # never analyzed: -1
