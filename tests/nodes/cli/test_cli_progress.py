"""Progress of the long commands: drawn on stderr with rate and time left when stdout and stderr are
terminals (pseudo-terminals here), absent when they are pipes and with --json; counts in words."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

from nodes.cli import progress
from nodes.cli.invocation import Invocation
from nodes.cli.main import build_parser, main
from nodes.plurals import counted

from terminal import Terminals

CSV_HEADER = "manufacturer,country,serial,type,make,model,calibre,year,manufactured_on,first_holder\n"
TIME_LEFT = re.compile(rb"\d\d:\d\d left")


def rate(unit: str) -> re.Pattern[bytes]:
    return re.compile(rb"\d+(\.\d+)?k? " + unit.encode() + rb"/s")


@pytest.fixture
def at_once(monkeypatch):
    """Bars drawn from the first report on (a test's work is over in less than ``DELAY_S``)."""
    monkeypatch.setattr(progress, "DELAY_S", 0)


def on_terminal(cli, monkeypatch, *argv: str) -> tuple[int, bytes, bytes]:
    """``armsledger ARGV`` on ``cli``'s node with stdout and stderr on pseudo-terminals: (exit code, out, err)."""
    terminals = Terminals()
    try:
        with monkeypatch.context() as patched:
            patched.setattr(sys, "stdout", terminals.out)
            patched.setattr(sys, "stderr", terminals.err)
            code = main(["--home", str(cli.home), "--db", cli.db, *argv])
    finally:
        out, err = terminals.close()
    assert b"Traceback" not in err
    return code, out, err


def register(tmp_path, rows: int):
    path = tmp_path / "register.csv"
    path.write_text(CSV_HEADER + "".join(f"FN Herstal,BE,P-{i:05d},pistol,FN,57,5.7,2019,2019-05-01,FN Herstal\n"
                                         for i in range(rows)))
    return path


def test_import_csv_on_a_terminal_draws_the_rows_and_the_projections_with_rate_and_time_left(
        cli, monkeypatch, tmp_path, at_once):
    code, out, err = on_terminal(cli, monkeypatch, "import-csv", str(register(tmp_path, 40)))
    assert code == 0
    assert b"import register.csv: 100%|" in err and b"40/40 rows" in err
    assert rate("rows").search(err) and TIME_LEFT.search(err)
    assert b"projections: 100%|" in err and rate("records").search(err)
    # stdout holds the summary and nothing of the bar
    assert out.strip() == b"register.csv: 40 weapons recorded (40 signed events), 0 recorded already, 0 rows refused"


def test_verify_and_rebuild_on_a_terminal_draw_their_progress(cli, monkeypatch, tmp_path, at_once):
    cli.ok("import-csv", str(register(tmp_path, 5)))
    code, out, err = on_terminal(cli, monkeypatch, "verify")
    assert code == 0 and out.startswith(b"ok: ")
    assert b"verify: 100%|" in err and rate("checks").search(err) and TIME_LEFT.search(err)
    code, out, err = on_terminal(cli, monkeypatch, "rebuild")
    assert code == 0 and out.startswith(b"projections rebuilt from ")
    assert b"rebuild: 100%|" in err and rate("records").search(err) and TIME_LEFT.search(err)


def test_with_json_nothing_is_drawn_even_on_a_terminal(cli, monkeypatch, tmp_path, at_once):
    code, out, err = on_terminal(cli, monkeypatch, "import-csv", str(register(tmp_path, 10)), "--json")
    assert code == 0 and err == b""
    assert json.loads(out)["imported"] == 10
    for command in ("verify", "rebuild"):
        code, out, err = on_terminal(cli, monkeypatch, command, "--json")
        assert code == 0 and err == b"" and json.loads(out)


def test_piped_nothing_is_drawn(cli, tmp_path, at_once):
    imported = cli.ok("import-csv", str(register(tmp_path, 10)))
    assert imported.err == "" and imported.out.count("\n") == 1
    for command in ("verify", "rebuild"):
        result = cli.ok(command)
        assert result.err == "" and result.out.count("\n") == 1


def test_a_terminal_on_stderr_alone_draws_nothing(cli, monkeypatch, tmp_path, at_once, capsys):
    terminals = Terminals()
    try:
        with monkeypatch.context() as patched:
            patched.setattr(sys, "stderr", terminals.err)
            assert main(["--home", str(cli.home), "--db", cli.db, "verify"]) == 0
    finally:
        _, err = terminals.close()
    assert err == b"" and capsys.readouterr().out.startswith("ok: ")


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "a terminal of no size"])
def test_the_bar_shows_the_time_left_of_the_work_in_hand(at_once, sized):
    terminals = Terminals(sized=sized)
    run = Invocation(build_parser().parse_args(["verify"]), {}, out=terminals.out, err=terminals.err)
    try:
        with progress.progress_of(run, "work", "items") as shown:
            for done in range(0, 11):
                shown(done * 100, 1000)
                time.sleep(progress.REDRAW_S * 1.25)  # each step redrawn
    finally:
        _, err = terminals.close()
    assert b"work: 100%|" in err and b"1000/1000 items" in err
    # midway, the time left was estimated from the rate (not "?")
    assert re.search(rb"00:0[1-9] left", err) and rate("items").search(err)


def test_work_over_before_the_delay_draws_nothing_and_no_work_no_bar(monkeypatch):
    monkeypatch.setattr(progress, "DELAY_S", 60)
    terminals = Terminals()
    run = Invocation(build_parser().parse_args(["verify"]), {}, out=terminals.out, err=terminals.err)
    try:
        with progress.progress_of(run, "quick", "items") as shown:
            shown(5, 10)
            shown(10, 10)
        monkeypatch.setattr(progress, "DELAY_S", 0)
        with progress.progress_of(run, "idle", "items") as shown:
            shown(0, 0)  # a sync with an empty backlog
    finally:
        _, err = terminals.close()
    assert err == b""


def test_counts_in_words():
    assert [counted(n, "record") for n in (0, 1, 2)] == ["0 records", "1 record", "2 records"]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"


def test_import_verify_and_rebuild_say_one_in_the_singular(cli, tmp_path):
    one = cli.ok("import-csv", str(register(tmp_path, 1))).out
    assert "1 weapon recorded (1 signed event)" in one and "0 rows refused" in one
    verified = cli.ok("verify").out
    assert re.search(r"\d+ records in \d+ streams checked", verified) and "1 checkpoints" not in verified
    assert re.search(r"^projections rebuilt from \d+ records$", cli.ok("rebuild").out.strip())
