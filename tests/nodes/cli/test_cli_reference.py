"""``armsledger reference import|search|show`` and the reference notes of the record commands, in-process on
each backend: refusals exit 2 naming line, field or option and write nothing, a damaged table exits 1, a
description that matches nothing is recorded and flagged; and one trace over a real broker that carries the
entry to its addressee."""

from __future__ import annotations

import json

import pytest

from domain.marking import Marking
from nodes.cli import trace as trace_cli
from nodes.cli.main import run as armsledger
from nodes.reference.loading import read_text, starter_text
from nodes.reference.table import TABLE, ReferenceTable
from nodes.tracing import service as tracing

from federation_nodes import Cluster, now
from inprocess_cli import Cli, node_environment

HEADER = "id,make,model,type,calibre,country,source\n"
FILE = HEADER + "NAT-1,Glock,17,pistol,9mm,AT,national\nNAT-2,Acme,Thunder,rifle,7.62x39mm,,national\n"
STARTER = len(read_text(starter_text()))
MARK = ["--manufacturer", "FN Herstal", "--country", "BE"]


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    assert run.ok("init", "--state", "BE", "--reference-starter", "--json").json()["reference_entries"] == STARTER
    return run


@pytest.fixture
def bare(monkeypatch, capsys, tmp_path, sqlite_url):
    """A node initialised without a reference table."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "bare", sqlite_url)
    assert run.ok("init", "--state", "BE", "--json").json()["reference_entries"] == 0
    return run


def test_import_search_and_show(cli, tmp_path):
    path = tmp_path / "national.csv"
    path.write_text(FILE)
    loaded = cli.ok("reference", "import", str(path), "--replace", "--json").json()
    assert loaded == {"file": "national.csv", "loaded": 2, "replaced": True, "entries": 2}
    found = cli.ok("reference", "search", "glock", "9mm")
    assert found.out.splitlines() == ["NAT-1      Glock 17  pistol  9mm  (AT)", "1 found"]
    assert cli.ok("reference", "search", "--calibre", "7.62x39", "--json").json()["entries"][0]["id"] == "NAT-2"
    assert cli.ok("reference", "show", "nat-2", "--json").json()["make"] == "Acme"
    assert "model    Thunder" in cli.ok("reference", "show", "NAT-2").out
    again = cli.ok("reference", "import", "--starter").out
    assert again.strip() == f"starter: {STARTER} entries loaded; the table holds {STARTER + 2}"


def test_a_bad_file_is_refused_naming_line_and_field_and_nothing_is_loaded(cli, tmp_path):
    path = tmp_path / "bad.csv"
    for content, says in (
        (HEADER + "NAT-3,Glock,19,pistol,9mm,AT,x\nNAT-4,Glock,26,pistol,,AT,x\n",
         "bad.csv line 3: calibre: is required"),
        (HEADER + "NAT-3,Glock,19,pistol,9mm,Austria,x\n", "bad.csv line 2: country: 'Austria' is not an ISO"),
        ("id,make,model\n", "bad.csv line 1: header: lacks column 'type'"),
        (HEADER + "NAT-3,Glock,19,pistol,9mm,AT,x\nnat-3,Glock,19,pistol,9mm,AT,x\n", "line 3: id: 'nat-3' is given"),
    ):
        path.write_text(content)
        refused = cli.refused("reference", "import", str(path), "--replace")
        assert says in refused.err and "nothing was loaded" in refused.err and refused.out == ""
        assert cli.ok("reference", "search", "--make", "glock", "--json").json()["total"] == 7  # the starter's only
        cli.refused("reference", "show", "NAT-3")


@pytest.mark.parametrize("argv, says", [
    (["reference", "import"], "file (FILE): give FILE or --starter, exactly one"),
    (["reference", "import", "x.csv", "--starter"], "give FILE or --starter, exactly one"),
    (["reference", "import", "missing.csv"], "missing.csv: cannot be read"),
    (["reference", "search"], "text (TEXT): give a text to look for"),
    (["reference", "search", "x", "--limit", "0"], "--limit"),
    (["reference", "show", "NAT-404"], "id (ID): no reference entry 'NAT-404'"),
])
def test_reference_commands_refuse_naming_the_field(bare, argv, says):
    assert says in bare.refused(*argv).err


def test_a_damaged_table_exits_1_naming_the_row(cli, tmp_path):
    from nodes.bootstrap import open_node
    from nodes.settings import Settings

    with open_node(Settings.load(environ={}, home=cli.home, db=cli.db), unlock=False) as node:
        with ReferenceTable(node.registry)._transaction("damaging", commit=True) as sql:
            sql.run(f"UPDATE {TABLE} SET make = ? WHERE ref_key = ?", ("", "ST-0001"))
    damaged = cli("reference", "show", "ST-0001")
    assert damaged.code == 1 and "'ST-0001' is damaged: make" in damaged.err


def test_records_are_matched_and_a_description_that_matches_nothing_is_recorded_and_flagged(cli, tmp_path):
    made = cli.ok("record", "manufacture", *MARK, "--serial", "G-1", "--type", "pistol", "--make", "FN",
                  "--model", "Five-seven", "--calibre", "5.7x28", "--year", "2020", "--holder", "FN", "--json")
    assert made.err == "" and made.json()["reference"]["id"] == "ST-0008"
    odd = cli.ok("record", "manufacture", *MARK, "--serial", "G-2", "--type", "pistol", "--make", "FN",
                 "--model", "Five-six", "--calibre", "5.7x28", "--year", "2020", "--holder", "FN", "--json")
    assert odd.json()["reference"]["status"] == "unmatched"
    assert "warning: description FN / Five-six / 5.7x28: no entry for make 'FN' model 'Five-six'" in odd.err
    history = cli.ok("history", odd.json()["weapon_id"]).out
    assert "table    matches no reference entry" in history
    assert "table    reference ST-0008" in cli.ok("history", made.json()["weapon_id"]).out
    seized = cli.ok("record", "seize", *MARK, "--serial", "G-3", "--make", "Glock", "--model", "17",
                    "--calibre", ".45 ACP", "--json")
    assert "calibre '.45 ACP' is not that of ST-0001" in seized.err and seized.json()["reference"]["id"] is None
    stolen = cli.ok("record", "report-stolen", *MARK, "--serial", "G-4", "--make", "Glock", "--model", "17",
                    "--calibre", "9mm Luger", "--json")
    assert stolen.err == "" and stolen.json()["reference"]["id"] == "ST-0001"
    register = tmp_path / "register.csv"
    register.write_text("manufacturer,country,serial,type,make,model,calibre,year,manufactured_on,first_holder\n"
                        "Glock,AT,R-1,pistol,Glock,17,9mm,2019,2019-05-01,Glock\n"
                        "Glock,AT,R-2,pistol,Glock,99,9mm,2019,2019-05-01,Glock\n"
                        "Glock,AT,R-3,pistol,Glock,98,9mm,MMXIX,2019-05-01,Glock\n")  # refused: not flagged
    imported = cli("import-csv", str(register), "--json")
    assert imported.code == 2 and imported.json()["imported"] == 2
    assert imported.json()["reference"] == {"unmatched": 1, "rows": [
        {"line": 3, "reason": "description Glock / 99 / 9mm: no entry for make 'Glock' model '99'"}]}
    assert "1 row of register.csv describe a weapon that matches no single reference entry" in imported.err


def test_without_a_table_nothing_is_matched_or_flagged(bare):
    made = bare.ok("record", "manufacture", *MARK, "--serial", "B-1", "--type", "pistol", "--make", "Nope",
                   "--calibre", "9mm", "--year", "2020", "--holder", "X", "--json")
    assert made.err == "" and "reference" not in made.json()
    assert "table " not in bare.ok("history", made.json()["weapon_id"]).out


def test_a_trace_request_carries_the_entry_to_its_addressee_over_the_broker(tmp_path, kafka_bootstrap, db_url,
                                                                             capsys):
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"], db={"FR": db_url})
    try:
        be, fr = cluster["BE"], cluster["FR"]
        code = armsledger(["reference", "import", "--starter"], cluster.environ(fr.settings))
        assert code == 0, capsys.readouterr().err
        marking = Marking.read("Glock", "AT", "TR-1")
        fr.registry.seize(marking=marking, place="Lille", circumstances="traffic stop", type="pistol",
                          make="Glock", model="17", calibre="9mm", occurred_on=now() - 86_400)
        capsys.readouterr()
        assert armsledger(["trace", "request", "--weapon", str(marking.weapon_id())[:8], "--to", "BE",
                           "--circumstances", "found in a car", "--legal-basis", "CPP art 60", "--intended-use",
                           "prosecution", "--json"], cluster.environ(fr.settings)) == 0
        requested = json.loads(capsys.readouterr().out)
        carried = {"id": "ST-0001", "make": "Glock", "model": "17", "type": "pistol", "calibre": "9x19mm"}
        assert requested["reference"] == carried
        trace_id = requested["trace_id"]
        cluster.settle()
        at_be = tracing.hops(be, trace_id)[0]
        assert at_be.role == "addressee" and at_be.to_dict()["reference"] == carried
        assert "table    reference entry ST-0001: Glock 17 pistol 9x19mm" in trace_cli._details(at_be)
        capsys.readouterr()
        assert armsledger(["trace", "show", str(trace_id)[:8], "--json"], cluster.environ(be.settings)) == 0
        assert json.loads(capsys.readouterr().out)["trace"]["reference"] == carried
    finally:
        cluster.close()
