"""``records_mentioning``: a holder's records among the node's own and those received from a partner that shares
its domestic transfers, on both backends; a transfer naming a holder by name does not travel."""

from __future__ import annotations

import json

import pytest

from domain.errors import InvalidField
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.person import Identity, new_person_reference
from domain.time import parse_time
from nodes.persons.holders import reference_for
from nodes.persons.mentions import records_mentioning
from nodes.persons.vault import IdentityVault

from memory_federation import MemoryFederation

T0 = parse_time("2024-01-10")


def _made_and_licensed(node, serial: str, holder: str, licence: str):
    weapon = node.registry.manufacture(marking=Marking.read("Sako", "NL", serial), type="rifle", make="Sako",
                                       model="85", calibre=".308", year=2023, holder="Sako NL", occurred_on=T0)
    node.registry.issue_licence(number=licence, kind=LicenceKind.TRANSFER_LICENCE, holder=holder, valid_from=T0,
                                valid_until=T0 + 400 * 86400, occurred_on=T0)
    return weapon


def test_own_and_received_records_mentioning_a_holder(tmp_path, db_url):
    federation = MemoryFederation(tmp_path, lambda state: db_url if state == "BE" else str(tmp_path / "nl.db"),
                                  ["BE", "NL"])
    try:
        be, nl = federation["BE"], federation["NL"]
        (nl.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Transferred": ["BE"]}}))
        with IdentityVault.open(nl.settings) as vault:
            ref, _ = reference_for(vault, Identity.of(name="Pieter de Vries", date_of_birth="1979-03-08"))
            other, _ = reference_for(vault, Identity.of(name="Eva Smit", date_of_birth="1988-11-23"))
        rifle = _made_and_licensed(nl, "S-1", ref, "NL-TL-1")
        # from the maker (a name) to the person: stays in NL; from person to person: names no one, travels
        nl.registry.transfer(weapon_id=rifle, to_holder=ref, licence="NL-TL-1", occurred_on=T0 + 86400)
        nl.registry.issue_licence(number="NL-TL-3", kind=LicenceKind.TRANSFER_LICENCE, holder=other, valid_from=T0,
                                  valid_until=T0 + 400 * 86400, occurred_on=T0)
        nl.registry.transfer(weapon_id=rifle, to_holder=other, licence="NL-TL-3", occurred_on=T0 + 2 * 86400)
        delivered = federation.deliver("NL", "BE", react=False)
        assert [(e.body["from_holder"], e.body["to_holder"]) for e in delivered if e.type == "Weapon.Transferred"] \
            == [(ref, other)]

        at_nl = records_mentioning(nl, ref)
        assert [(m.envelope.type, m.own, m.fields) for m in at_nl] == [
            ("Licence.Issued", True, ("holder",)), ("Weapon.Transferred", True, ("to_holder",)),
            ("Weapon.Transferred", True, ("from_holder",))]
        at_be = records_mentioning(be, ref)
        assert [(m.envelope.type, m.own, m.envelope.node) for m in at_be] == [("Weapon.Transferred", False, "NL")]
        assert at_be[0].as_dict()["hash"] == at_nl[2].envelope.hash.hex()
        assert records_mentioning(be, new_person_reference()) == []
        with pytest.raises(InvalidField):
            records_mentioning(be, "Pieter de Vries")
    finally:
        federation.close()
