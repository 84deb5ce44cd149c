"""``armsledger stats``: the seizure tables of a period on a small known register, on each backend;
every figure expected is computed here from the records the test made. Bad dates exit 2 naming the
option and nothing is read."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date

import pytest

from inprocess_cli import Cli

MADE, SEIZED_MADE = "2020-01-01", "2024-03-01"
IMPORTED, SEIZED_IMPORTED = "2023-06-01", "2024-04-10"


@pytest.fixture
def register(env, capsys, tmp_path, db_url):
    """A BE node that recorded: a pistol made here and seized in Antwerp; a pistol imported from AT and
    seized in Ghent; an unrecorded rifle seized in Antwerp; a revolver seized in Brussels in 2022."""
    cli = Cli(capsys, tmp_path / "be", db_url)
    cli.ok("init", "--state", "BE")
    made = cli.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", "S-1",
                  "--type", "pistol", "--calibre", "9mm", "--year", "2019", "--holder", "Dealer SA",
                  "--date", MADE).out.strip()
    cli.ok("record", "seize", "--weapon", made, "--place", "Antwerp", "--circumstances", "raid",
           "--date", SEIZED_MADE)
    imported = cli.ok("record", "import", "--manufacturer", "Glock", "--country", "AT", "--serial", "S-2",
                      "--type", "pistol", "--calibre", "9mm", "--year", "2022", "--from", "AT",
                      "--import-authorization", "IA-1", "--holder", "Gun shop BVBA", "--date", IMPORTED).out.strip()
    cli.ok("record", "seize", "--weapon", imported, "--place", "Ghent", "--circumstances", "search",
           "--date", SEIZED_IMPORTED)
    cli.ok("record", "seize", "--manufacturer", "Zastava", "--country", "RS", "--serial", "S-3", "--type", "rifle",
           "--calibre", "7.62", "--place", "Antwerp", "--circumstances", "border check", "--date", "2024-05-20")
    cli.ok("record", "seize", "--manufacturer", "Colt", "--country", "US", "--serial", "S-4", "--type", "revolver",
           "--calibre", ".38", "--place", "Brussels", "--circumstances", "old case", "--date", "2022-01-01")
    return cli


def days(start: str, end: str) -> int:
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def test_the_seizures_of_a_period_by_place_calibre_country_tracing_and_time_to_crime(register):
    figures = register.ok("stats", "--from", "2024-01-01", "--to", "2024-12-31", "--json").json()
    tables = figures["seizures"]
    assert tables["seized"] == 3                       # the 2022 seizure is outside the period
    assert tables["by_place"] == {"Antwerp": 2, "Ghent": 1}
    assert tables["by_calibre"] == {"7.62": 1, "9mm": 2}
    assert tables["by_weapon_type"] == {"pistol": 2, "rifle": 1}
    assert tables["by_country_of_manufacture"] == {"AT": 1, "BE": 1, "RS": 1}
    assert tables["by_country_of_last_legal_import"] == {"BE": 1, "unknown": 2}
    assert tables["tracing"] == {"traced": 2, "untraced": 1, "traced_percent": round(200 / 3, 1)}
    known = [days(MADE, SEIZED_MADE), days(IMPORTED, SEIZED_IMPORTED)]
    ttc = tables["time_to_crime"]
    assert (ttc["known"], ttc["unknown"], ttc["median_days"]) == (2, 1, statistics.median(known))
    assert known[0] > 4 * 365 and 91 <= known[1] < 365
    assert ttc["bands"] == {"under 3 months": 0, "3 to 12 months": 1, "1 to 3 years": 0, "3 to 10 years": 1,
                            "10 years or more": 0, "unknown": 1}
    assert figures["period"]["from_utc"] == "2024-01-01T00:00:00Z"
    assert figures["period"]["to_utc"] == "2024-12-31T23:59:59Z"      # a plain end date includes that day
    assert figures["by_type"]["Weapon.Seized"] == 4                    # the register's counts, whole log


def test_without_a_period_every_seizure_counts_and_the_text_says_so(register):
    assert register.ok("stats", "--json").json()["seizures"]["seized"] == 4
    text = register.ok("stats", "--to", "2023-12-31").out
    assert "weapons seized from the first record to 2023-12-31: 1" in text
    assert "Brussels" in text and "Antwerp" not in text.split("by type of firearm")[0]
    register = text.split("register (every record held, whatever the period)")[1]
    assert "rifle/2024-05" in register and "Weapon.Seized" in register      # the whole log, nested keys joined


def test_csv_rows_parse_and_hold_the_same_figures(register):
    out = register.ok("stats", "--from", "2024-01-01", "--csv").out
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["table", "value", "figure"]
    figures = {(table, value): figure for table, value, figure in rows[1:]}
    assert figures[("seized", "")] == "3"
    assert figures[("by_place", "Antwerp")] == "2" and figures[("by_country_of_manufacture", "AT")] == "1"
    assert figures[("tracing", "untraced")] == "1"
    expected = statistics.median([days(MADE, SEIZED_MADE), days(IMPORTED, SEIZED_IMPORTED)])
    assert float(figures[("time_to_crime", "median_days")]) == expected
    assert figures[("time_to_crime_band", "unknown")] == "1"


@pytest.mark.parametrize("argv, option, reason", [
    (["--from", "2024-13-01"], "--from", "is not a date"),
    (["--to", "yesterday"], "--to", "is not a date"),
    (["--from", "2024-06-01", "--to", "2024-01-01"], "--to", "is before the start of the period"),
])
def test_a_bad_period_exits_2_naming_the_option(register, argv, option, reason):
    refused = register.refused("stats", *argv)
    assert option in refused.err and reason in refused.err
    assert refused.out == ""
