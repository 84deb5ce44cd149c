"""A weapon named by the start of its id: ``weapon_by_prefix`` on each backend, and ``audit reads --weapon``."""

from __future__ import annotations

import itertools
import os

import pytest

from domain.errors import InvalidField
from domain.marking import Marking
from nodes.bootstrap import open_node
from nodes.registry.weapon_ids import id_start, weapon_by_prefix
from nodes.registry.weapon_search import weapon_ids_starting
from nodes.settings import Settings

from inprocess_cli import Cli, node_environment

CSV_HEADER = "manufacturer,country,serial,type,make,model,calibre,year,manufactured_on,first_holder\n"


def twins() -> tuple[str, str, str, str]:
    """Two serials of FN Herstal (BE) whose weapon ids share their first 4 hex digits, and those ids."""
    seen: dict[str, tuple[str, str]] = {}
    for i in itertools.count():
        serial = f"T-{i}"
        weapon_id = str(Marking.read("FN Herstal", "BE", serial).weapon_id())
        if weapon_id[:4] in seen:
            first_serial, first_id = seen[weapon_id[:4]]
            return first_serial, first_id, serial, weapon_id
        seen[weapon_id[:4]] = (serial, weapon_id)
    raise AssertionError("unreachable")


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    """``armsledger`` on a BE node holding the two weapons of ``twins()``, each read once, on each backend."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    first_serial, first_id, second_serial, second_id = twins()
    register = tmp_path / "twins.csv"
    register.write_text(CSV_HEADER + "".join(f"FN Herstal,BE,{serial},pistol,FN,57,5.7,2019,2019-05-01,FN\n"
                                             for serial in (first_serial, second_serial)))
    assert "2 weapons recorded" in run.ok("import-csv", str(register)).out
    run.ok("history", first_id)
    run.ok("history", second_id)
    return run


def subjects(cli: Cli, weapon: str) -> list[str]:
    return [entry["subject"] for entry in cli.ok("audit", "reads", "--weapon", weapon, "--json").json()["reads"]]


def test_audit_reads_takes_the_start_of_a_weapon_id_with_or_without_dashes(cli):
    _, first_id, _, second_id = twins()
    assert subjects(cli, first_id[:8]) == [first_id]
    assert subjects(cli, second_id[:8].upper()) == [second_id]
    assert subjects(cli, first_id.replace("-", "")[:12]) == [first_id]  # past the first dash, typed without it
    assert subjects(cli, first_id) == [first_id]


def test_audit_reads_refuses_a_start_shared_by_two_weapons_repeating_what_was_typed(cli):
    _, first_id, _, second_id = twins()
    typed = first_id[:4].upper()
    refused = cli.refused("audit", "reads", "--weapon", typed)
    assert f"{typed!r} is the start of 2 weapon ids" in refused.err and "--weapon" in refused.err
    assert first_id in refused.err and second_id in refused.err and refused.out == ""


def test_a_serial_is_still_a_serial_and_an_unknown_text_finds_no_read(cli):
    first_serial, first_id, _, _ = twins()
    assert subjects(cli, first_serial) == [first_id]
    assert cli.ok("audit", "reads", "--weapon", "ffff0000").out.strip() == "no reads recorded"


def test_weapon_by_prefix_picks_the_one_meant_or_names_the_field(cli):
    _, first_id, _, second_id = twins()
    settings = Settings.load(os.environ, home=cli.home, db=cli.db)
    with open_node(settings, unlock=False) as node:
        node.views.catch_up(node.registry)
        assert weapon_ids_starting(node, id_start(first_id[:4])) == sorted([first_id, second_id])
        assert str(weapon_by_prefix(node, f"  {first_id[:9]} ")) == first_id
        with pytest.raises(InvalidField) as none:
            weapon_by_prefix(node, "0000-0000", field_name="subject")
        assert none.value.field == "subject" and "'0000-0000'" in str(none.value)
        with pytest.raises(InvalidField) as malformed:
            weapon_by_prefix(node, "P-1%")
        assert malformed.value.field == "weapon" and "'P-1%'" in str(malformed.value)


def test_every_command_naming_a_weapon_takes_the_start_of_its_id(cli):
    _, first_id, _, second_id = twins()
    verdict = cli.ok("diversion", first_id[:9], "--json").out
    assert first_id in verdict
    shared = cli.refused("diversion", first_id[:4])
    assert f"'{first_id[:4]}'" in shared.err and "2 weapon ids" in shared.err
    unknown = cli.refused("trace", "request", "--to", "NL", "--weapon", "ffff0000", "--legal-basis", "MLA",
                          "--intended-use", "investigation", "--circumstances", "seized")
    assert "'ffff0000'" in unknown.err
    receipt = cli.refused("record", "receipt", "--weapon", "ffff0000")
    assert "'ffff0000'" in receipt.err


def test_transfer_and_export_take_the_start_of_a_weapon_id(cli):
    _, first_id, _, _ = twins()
    refused = cli.refused("record", "transfer", "--weapon", "ffff0000", "--to", "Dealer B", "--licence", "TL-1")
    assert "'ffff0000'" in refused.err
    # a unique start names the weapon: the transfer then fails on its licence, not on the id
    unlicensed = cli.refused("record", "transfer", "--weapon", first_id[:9], "--to", "Dealer B", "--licence", "TL-9")
    assert "TL-9" in unlicensed.err and first_id[:9] not in unlicensed.err
