"""``history`` and ``search`` at the shell: the weapon by ID, --weapon, its start or its marking;
refusals exit 2 naming the field and repeating what was typed; the status line of an export
not confirmed; a cut search says so; plurals."""

from __future__ import annotations

PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "HSC-0001"]


def _make(cli, serial: str) -> str:
    return cli.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", serial,
                  "--type", "pistol", "--make", "FN", "--model", "Five-seveN", "--calibre", "5.7x28mm",
                  "--year", "2020", "--holder", "Dealer SA", "--date", "2020-03-02", "--json").json()["weapon_id"]


def test_the_weapon_is_named_by_id_by_weapon_option_by_its_start_or_by_marking(cli):
    weapon = _make(cli, "HSC-0001")
    documents = [cli.ok("history", *how, "--json").json()
                 for how in ([weapon], ["--weapon", weapon], [weapon[:8]], ["--weapon", weapon[:6].upper()], PISTOL)]
    assert all(d == documents[0] for d in documents) and documents[0]["weapon_id"] == weapon
    assert documents[0]["events"][0]["source"] == "own"
    assert cli.ok("history", weapon, "--own", "--json").json()["own_only"] is True


def test_a_weapon_named_twice_or_not_at_all_is_refused_naming_the_weapon(cli):
    weapon = _make(cli, "HSC-0001")
    twice = cli.refused("history", weapon, "--weapon", weapon)
    also_marking = cli.refused("history", "--weapon", weapon, *PISTOL)
    nothing = cli.refused("history")
    assert all("weapon" in r.err and "not both" in r.err for r in (twice, also_marking))
    assert "give the weapon id" in nothing.err


def test_no_record_repeats_the_marking_or_the_id_typed(cli):
    unknown = cli.refused("history", "--manufacturer", "Glock", "--country", "AT", "--serial", "NOPE 1")
    assert "no record of weapon Glock / AT / NOPE 1" in unknown.err
    assert "no weapon has an id starting with 'abcd1234'" in cli.refused("history", "abcd1234").err
    assert "'xyz' is not an id or the start of one" in cli.refused("history", "--weapon", "xyz").err


def test_an_export_not_confirmed_reads_in_transit_not_held_in_the_importing_state(cli):
    weapon = _make(cli, "HSC-0001")
    cli.ok("licence", "issue", "--number", "EL-1", "--kind", "export_licence", "--holder", "Dealer SA",
           "--valid-from", "2023-01-01", "--valid-until", "2023-12-31", "--export-state", "BE", "--import-state", "IT",
           "--date", "2022-12-01")
    cli.ok("record", "export", "--weapon", weapon, "--licence", "EL-1", "--import-authorization", "IT-1",
           "--to", "IT", "--consignee", "Armeria Srl", "--date", "2023-03-10")
    text = cli.ok("history", weapon).out
    assert "status   exported, in transit to IT (consignee Armeria Srl), receipt not confirmed" in text
    assert "held by" not in text and "records  2 records held: 2 ours, 0 from partners" in text
    document = cli.ok("history", weapon, "--json").json()
    assert document["in_transit_to"] == "IT" and "to_state" not in document["events"][-1]


def test_search_says_how_many_were_found_and_when_the_result_is_cut(cli):
    for serial in ("HSC-0001", "HSC-0002", "HSC-0003"):
        _make(cli, serial)
    assert cli.ok("search", "--serial", "HSC-0002").out.rstrip().endswith("1 weapon found")
    cut = cli.ok("search", "--serial", "HSC*", "--limit", "2").out
    assert "3 weapons found; showing 1-2 of 3; --offset/--limit to page" in cut and "HSC-0003" not in cut
    rest = cli.ok("search", "--serial", "HSC*", "--offset", "2", "--limit", "2", "--json").json()
    assert [m["marking"]["serial"] for m in rest["matches"]] == ["HSC-0003"]
    assert (rest["total"], rest["offset"], rest["limit"], rest["cut"]) == (3, 2, 2, True)
    assert cli.ok("search", "--make", "fn", "--json").json()["total"] == 3


def test_search_refuses_a_bad_page_or_no_criterion_naming_the_option(cli):
    assert "--limit" in cli.refused("search", "--serial", "HSC*", "--limit", "0").err
    assert "--limit" in cli.refused("search", "--serial", "HSC*", "--limit", "1001").err
    assert "--offset" in cli.refused("search", "--serial", "HSC*", "--offset", "-1").err
    assert "serial" in cli.refused("search").err
    assert "serial" in cli.refused("search", "--serial", "-/-").err
    assert cli.ok("audit", "reads", "--json").json()["reads"] == []  # a refused search is no read
