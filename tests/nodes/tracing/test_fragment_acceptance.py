"""Trace fragments are judged by the one acceptance rule: what ``verify`` and ingest refuse, a requester refuses."""

from __future__ import annotations

import time

from domain.marking import Marking
from nodes.bootstrap import init_node, open_node
from nodes.settings import Settings
from nodes.tracing.fragment import build_fragment, verify_fragment

from insider import swap_signing_keys


def weapon(node, serial: str) -> str:
    now = int(time.time())
    found = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                      model="57", calibre="5.7", year=2020, holder="FN Herstal", occurred_on=now - 60)
    node.registry.record("report_stolen", by="police", weapon_id=found, place="Gent", circumstances="",
                         occurred_on=now - 30)
    return str(found)


def test_a_record_signed_by_a_kind_that_may_not_make_it_is_refused(tmp_path):
    """Licensing and police key ids swapped in the open node: the police key signs the manufacture."""
    settings = Settings.load(environ={}, home=tmp_path / "be", db=str(tmp_path / "be.db"), passphrase="pw")
    init_node(settings, "BE").close()
    with open_node(settings) as node:
        swap_signing_keys(node, "licensing", "police")
        stream = weapon(node, "F-1")
        result = verify_fragment(build_fragment(node, stream).items, origin="BE", node_key=node.identity.node_public)
    # Both of the weapon's records are refused, each for the kind of the key that signed it.
    assert [e for e in result.records if e.stream == stream] == []
    assert any("Weapon.Manufactured" in p and "police authority may not record Weapon.Manufactured" in p
               for p in result.problems)
    assert any("Weapon.ReportedStolen" in p and "licensing authority may not record Weapon.ReportedStolen" in p
               for p in result.problems)

