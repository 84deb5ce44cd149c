"""``person add|show`` and private holders in ``record manufacture|import|transfer|recover``, on both backends:
records name references, subject access lists them and is audited, refusals name the option and write
nothing, and no table holds a private person's name in clear."""

from __future__ import annotations

import json

from stored_text import stored_values

from domain.person import is_person_reference, new_person_reference
from nodes.persons.kek import load_or_create_kek
from nodes.persons.vault import IdentityVault
from nodes.settings import Settings

from inprocess_cli import PASSPHRASE, Cli

ANNA = ["--name", "Anna Verhoeven", "--born", "1975-04-12", "--address", "Kerkstraat 3, Gent",
        "--id-document", "BE-ID 591-1234567-89"]
CLEAR = (b"Anna Verhoeven", b"Kerkstraat", b"591-1234567", b"1975-04-12")


def _manufacture(cli: Cli, serial: str, *holder: str) -> str:
    return cli.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", serial,
                  "--type", "pistol", "--model", "Five-seveN", "--calibre", "5.7", "--year", "2020",
                  *(holder or ("--holder", "FN Herstal")), "--date", "2020-03-02").out.strip()


def _transfer_licence(cli: Cli, number: str, holder: str) -> None:
    cli.ok("licence", "issue", "--number", number, "--kind", "transfer_licence", "--holder", holder,
           "--valid-from", "2020-01-01", "--valid-until", "2099-12-31", "--date", "2020-01-01")


def test_a_private_holder_by_reference_from_transfer_to_subject_access(be):
    ref = be.ok("person", "add", *ANNA).out.strip()
    assert is_person_reference(ref)
    assert be.ok("person", "add", "--name", "ANNA  verhoeven", "--born", "1975-04-12", "--json").json() == {
        "person": ref, "new": False}
    _transfer_licence(be, "TL-9", ref)
    weapon = _manufacture(be, "FN57-0001")
    transferred = be.ok("record", "transfer", "--weapon", weapon[:8], "--licence", "TL-9", *ANNA[:4], "--json",
                        "--date", "2021-05-01").json()
    assert transferred["to"] == ref
    history = be.ok("history", weapon, "--json").out
    assert ref in history and "Verhoeven" not in history
    shown = be.ok("person", "show", ref, "--purpose", "request of the holder", "--json").json()
    assert shown["identity"]["name"] == "Anna Verhoeven" and shown["identity"]["id_document"] == ANNA[7]
    assert [(r["type"], r["fields"], r["own"]) for r in shown["records"]] == [
        ("Licence.Issued", ["holder"], True), ("Weapon.Transferred", ["to_holder"], True)]
    text = be.ok("person", "show", ref).out
    assert "Kerkstraat 3, Gent" in text and "Weapon.Transferred" in text
    reads = be.ok("audit", "reads", "--json").json()["reads"]
    assert [(r["action"], r["subject"]) for r in reads[:2]] == [("person", ref), ("person", ref)]
    assert reads[1]["purpose"] == "request of the holder"
    # a weapon made for a private collector, and imported by one: the holder is the reference again
    made = _manufacture(be, "FN57-0002", *ANNA[:4])
    assert ref in be.ok("history", made, "--json").out
    for table, value in stored_values(be.db):
        assert not any(clear in value for clear in CLEAR), table
    assert be.ok("verify").code == 0
    # erased (as retention does): the records stay and verify, the identity is gone for every command
    with IdentityVault(be.db, load_or_create_kek(Settings.load({}, home=str(be.home), passphrase=PASSPHRASE))) as v:
        v.erase(ref)
    erased = be.ok("person", "show", ref, "--json").json()
    assert erased["identity"] is None and erased["erased"] and len(erased["records"]) == 3
    assert "identity erased" in be.ok("person", "show", ref).out
    assert "erased" in be.refused("record", "transfer", "--weapon", made, "--licence", "TL-9", "--to", ref).err
    assert be.ok("verify").code == 0


def test_refusals_name_the_option_and_write_nothing(be):
    weapon = _manufacture(be, "FN57-0001")
    _transfer_licence(be, "TL-1", "Jan Peeters")
    before = be.ok("history", weapon, "--json").out
    refused = be.refused("record", "transfer", "--weapon", weapon, "--licence", "TL-1", "--to", "Jan Peeters",
                         *ANNA[:4])
    assert "--to" in refused.err and "not both" in refused.err
    assert "--born" in be.refused("record", "transfer", "--weapon", weapon, "--licence", "TL-1", "--name", "Bo",
                                  "--born", "1975-02-30").err
    assert "--to" in be.refused("record", "transfer", "--weapon", weapon, "--licence", "TL-1").err
    unknown = be.refused("record", "transfer", "--weapon", weapon, "--licence", "TL-1",
                         "--to", new_person_reference()).err
    assert "person" in unknown and "no holder" in unknown
    assert "--to" in be.refused("record", "transfer", "--weapon", weapon, "--licence", "TL-1",
                                "--to", "person:nope").err
    # the licence belongs to Jan Peeters, not to the new person: refused, and the new identity is not kept
    licence = be.refused("record", "transfer", "--weapon", weapon, "--licence", "TL-1", *ANNA)
    assert "licence" in licence.err
    assert be.ok("history", weapon, "--json").json() == json.loads(before)
    assert be.ok("person", "add", *ANNA, "--json").json()["new"] is True  # the refused one was not kept
    assert "person" in be.refused("person", "show", new_person_reference()).err
    assert "not a holder reference" in be.refused("person", "show", "Anna").err
    assert "--born" in be.refused("person", "add", "--name", "Anna", "--born", "12.04.1975").err
    assert all(r["action"] != "person" for r in be.ok("audit", "reads", "--json").json()["reads"])


def test_init_creates_the_kek_and_person_commands_need_the_passphrase(be, monkeypatch):
    assert (be.home / "keys" / "kek").stat().st_mode & 0o077 == 0
    monkeypatch.delenv("ARMSLEDGER_PASSPHRASE")
    assert "ARMSLEDGER_PASSPHRASE" in be.refused("person", "add", *ANNA).err
