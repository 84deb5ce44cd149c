"""Trace fragments are judged by the one acceptance rule: what ``verify`` and ingest refuse, a requester refuses."""

from __future__ import annotations

import time

from domain.marking import Marking
from ledger.acceptance import NODE_KEY_CHANGE_TYPE, NodeKey
from ledger.keys import key_id, public_key_from_bytes
from nodes.bootstrap import init_node, open_node
from nodes.registry.identity import authorities_stream
from nodes.registry.key_changes import rotate_node
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



def test_a_fragment_of_a_node_that_rotated_its_key_verifies_with_its_keys_by_range(tmp_path):
    """Certificates signed by the old node key, the announcement, a checkpoint of the new key: a requester
    that keeps the old key for what it served (``Partner.previous_keys``) accepts them all."""
    settings = Settings.load(environ={}, home=tmp_path / "be", db=str(tmp_path / "be.db"), passphrase="pw")
    init_node(settings, "BE").close()
    with open_node(settings) as node:
        before = weapon(node, "F-2")
        rotate_node(node)
    with open_node(settings) as node:
        after = weapon(node, "F-3")
        old, new = node.identity.earlier_node_keys[0], node.identity.node_public_key
        announcement = next(e for e in node.registry.envelopes(authorities_stream("BE"))
                            if e.type == NODE_KEY_CHANGE_TYPE)
        last_size = max(c.size for c in node.sealer.checkpoints() if c.signer == key_id(old))
        kept = NodeKey(key_id(old), old, announcement.recorded_at, last_size)
        for stream in (before, after):
            items = build_fragment(node, stream).items
            result = verify_fragment(items, origin="BE", node_key=public_key_from_bytes(new), earlier_keys=(kept,))
            assert result.problems == ()
            assert {e.stream for e in result.records} >= {stream, str(authorities_stream("BE"))}
            assert NODE_KEY_CHANGE_TYPE in {e.type for e in result.records}
        # The new key alone does not vouch for what the old one signed; the old key alone not for the new one's.
        alone = verify_fragment(items, origin="BE", node_key=public_key_from_bytes(new))
        assert any("not by the node key" in p or "which the node key has not certified" in p for p in alone.problems)
        stale = verify_fragment(items, origin="BE", node_key=public_key_from_bytes(old))
        assert any("not signed by BE's node key" in p for p in stale.problems)
