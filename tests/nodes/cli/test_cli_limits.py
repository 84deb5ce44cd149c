"""Values at and past the limits of each numeric option, and homes that are no node directory.

Each refusal exits 2 naming the option, and writes nothing; a value at the limit is accepted.
"""

from __future__ import annotations

import pytest

from domain.numbers import LARGEST_WHOLE
from domain.time import LONGEST_PERIOD_DAYS

from inprocess_cli import Cli
from insider import events_table, sql

LICENCE = ("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence", "--holder", "Dealer SA",
           "--valid-from", "2020-01-01", "--valid-until", "2030-12-31")


def rows(cli: Cli) -> int:
    return sql(cli.db, f"SELECT COUNT(*) FROM {events_table(cli.db)}")[0][0]


@pytest.mark.parametrize("quantity", [str(LARGEST_WHOLE + 1), "99999999999999999999999", "-1"])
def test_a_quantity_past_the_limit_is_refused_naming_it_and_writes_nothing(cli, quantity):
    before = rows(cli)
    result = cli.refused(*LICENCE, "--quantity", quantity)
    assert "--quantity" in result.err
    assert rows(cli) == before


def test_the_largest_quantity_is_accepted(cli):
    before = rows(cli)
    cli.ok(*LICENCE, "--quantity", str(LARGEST_WHOLE))
    assert rows(cli) == before + 1
    assert cli.ok("verify").code == 0


@pytest.mark.parametrize("days", [str(LONGEST_PERIOD_DAYS + 1), "100000000000000000000", "-5"])
def test_overdue_days_past_the_limit_are_refused_naming_the_option(cli, days):
    result = cli.refused("shipments", "--overdue-days", days)
    assert "--overdue-days" in result.err


def test_overdue_days_at_the_limit_list_nothing_overdue(cli):
    assert cli.ok("shipments", "--overdue-days", str(LONGEST_PERIOD_DAYS), "--json").json()["outgoing"] == []


def test_an_import_year_past_this_year_is_refused_naming_it(cli):
    before = rows(cli)
    result = cli.refused("record", "import", "--manufacturer", "Glock", "--country", "AT", "--serial", "G-1",
                         "--type", "pistol", "--calibre", "9mm", "--from", "AT", "--import-authorization", "IA-1",
                         "--holder", "Dealer SA", "--import-year", "99999999999999999999")
    assert "import_year" in result.err or "--import-year" in result.err
    assert rows(cli) == before


@pytest.mark.parametrize("home", ["a-file", "/proc/self", "/sys/x"])
@pytest.mark.parametrize("command", [("init", "--state", "BE"), ("history", "--manufacturer", "FN", "--country",
                                                                   "BE", "--serial", "1"), ("verify",), ("stats",)])
def test_a_home_that_is_no_node_directory_is_refused_naming_it(env, capsys, tmp_path, home, command):
    if home == "a-file":
        home = str(tmp_path / "a-file")
        (tmp_path / "a-file").write_text("not a directory\n")
    db = str(tmp_path / "ledger.db")
    result = Cli(capsys, home, db)(*command)
    assert result.code == 2, result.err
    assert home in result.err
    assert not (tmp_path / "ledger.db").exists()


# --- every numeric option goes through one parser: finite, in range, else exit 2 naming it ---

NOT_FINITE = ["nan", "inf", "-inf", "1e309"]


@pytest.mark.parametrize("timeout", [*NOT_FINITE, "0", "-1", "86401", "soon"])
def test_a_sync_timeout_that_is_no_sane_number_of_seconds_is_refused_before_any_broker(cli, timeout):
    before = rows(cli)
    result = cli.refused("--kafka", "127.0.0.1:9", "sync", "--timeout", timeout)
    assert "--timeout" in result.err
    assert rows(cli) == before


@pytest.mark.parametrize(("option", "value"), [
    *((("licence", "issue", "--quantity"), v) for v in NOT_FINITE),
    *((("shipments", "--overdue-days"), v) for v in NOT_FINITE),
    *((("quarantine", "--limit"), v) for v in NOT_FINITE),
    *((("quarantine", "--after"), v) for v in [*NOT_FINITE, str(2**63)]),
    *((("broker", "run", "--port"), v) for v in ["0", "65536", "-1", "nan"]),
    (("record", "import", "--import-year"), "1e309"),
])
def test_every_numeric_option_refuses_what_is_not_a_finite_number_in_its_range(cli, option, value):
    before = rows(cli)
    result = cli.refused(*option, value)
    assert option[-1] in result.err
    assert rows(cli) == before
