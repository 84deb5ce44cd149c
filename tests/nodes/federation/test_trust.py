"""Making nodes trust each other: what ``key export`` and ``trust add`` do, for a set of nodes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from domain.errors import InvalidField
from ledger.acceptance import NodeKey
from ledger.keys import generate_key, key_id, public_bytes
from nodes.bootstrap import init_node
from nodes.federation.key_following import follow
from nodes.federation.trust import (
    TrustStore,
    export_identity,
    parse_identity,
    trust_each_other,
    trust_partner,
)
from nodes.federation.trust_record import record_trust, recorded_partners, trust_problems
from nodes.registry.identity import authorities_stream
from nodes.settings import Settings


@pytest.fixture
def nodes(tmp_path):
    made = {state: init_node(Settings.load(environ={}, home=tmp_path / state, passphrase="pw"), state)
            for state in ("BE", "NL", "FR")}
    yield made
    for node in made.values():
        node.close()


def test_every_node_trusts_every_other_node_key_and_not_its_own(nodes):
    trust_each_other(nodes.values())
    trust_each_other(nodes.values())  # again: nothing changes, nothing is refused

    for state, node in nodes.items():
        partners = TrustStore(node.settings.home).partners()
        assert sorted(partners) == sorted(set(nodes) - {state})
        assert all(p.node_key_id == nodes[p.state].identity.node_key_id for p in partners.values())


def test_trust_in_one_direction_only(nodes):
    partner = trust_partner(nodes["BE"], nodes["NL"].identity)

    assert partner.node_public_key == nodes["NL"].identity.node_public_key
    assert set(TrustStore(nodes["BE"].settings.home).partners()) == {"NL"}
    assert TrustStore(nodes["NL"].settings.home).partners() == {}


def test_a_node_never_trusts_its_own_state(nodes):
    with pytest.raises(InvalidField, match="own state"):
        trust_partner(nodes["BE"], nodes["BE"].identity)


def test_a_followed_rotation_keeps_the_old_key_in_the_file_and_verify_holds_the_file_to_the_record(nodes):
    be, nl = nodes["BE"], nodes["NL"]
    before = trust_partner(nl, be.identity)
    new = public_bytes(generate_key())
    after = before.rotated(NodeKey(key_id(new), new), retired_from=1_700_000_000_000_000, last_size=7)
    announcement = be.registry.envelopes(authorities_stream("BE"))[-1]  # any record: only its hash is named
    follow(nl, after, announcement)

    store = TrustStore(nl.settings.home)
    assert store.get("BE") == after
    assert set(after.node_keys()) == {before.node_key_id, key_id(new)}
    assert after.node_keys()[before.node_key_id].last_size == 7
    assert recorded_partners(nl.registry, nl.identity)["BE"] == after
    assert trust_problems(nl.registry, nl.identity, store) == []

    store.write(replace(after, previous_keys=(replace(after.previous_keys[0], last_size=70),)))
    (altered,) = trust_problems(nl.registry, nl.identity, store)
    assert "keeps earlier keys" in altered.reason and "altered" in altered.reason
    store.write(before)  # the file from before the rotation: a crash between the record and the file
    (lagging,) = trust_problems(nl.registry, nl.identity, store)
    assert "the next ingest writes it" in lagging.reason


@pytest.mark.parametrize("entry", [
    "not a list",
    [{"node_key_id": "x", "node_public_key": "00" * 32, "last_size": 1, "retired_from": 1}],
    [{"node_key_id": None, "node_public_key": "zz", "last_size": 1, "retired_from": 1}],
])
def test_a_trust_file_whose_previous_keys_are_damaged_is_named_damaged(nodes, entry):
    be, nl = nodes["BE"], nodes["NL"]
    trust_partner(nl, be.identity)
    store = TrustStore(nl.settings.home)
    path = store.folder / "BE.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "previous_keys": entry}))
    partners, damaged = store.readable()
    assert partners == {} and "previous_keys" in damaged["BE"]


def test_earlier_keys_come_from_announcements_never_from_an_identity_file(nodes):
    be, nl = nodes["BE"], nodes["NL"]
    bogus = public_bytes(generate_key())
    document = {**json.loads(export_identity(be.identity)), "previous_keys": [
        {"node_key_id": key_id(bogus), "node_public_key": bogus.hex(), "last_size": 9, "retired_from": 1}]}
    given = parse_identity(json.dumps(document), expected_state="BE")
    assert [k.key_id for k in given.previous_keys] == [key_id(bogus)]  # the file format reads them

    record_trust(nl, given)
    assert TrustStore(nl.settings.home).get("BE").previous_keys == ()
    assert trust_problems(nl.registry, nl.identity, TrustStore(nl.settings.home)) == []


def test_a_store_kept_by_a_node_sees_partners_added_changed_and_removed(nodes):
    be, nl, fr = nodes["BE"], nodes["NL"], nodes["FR"]
    kept = TrustStore(be.settings.home)
    assert kept.partners() == {}
    trust_partner(be, nl.identity)
    assert set(kept.partners()) == {"NL"}
    kept.partners()["FR"] = kept.partners()["NL"]  # a caller's copy: the store's own is not changed
    assert set(kept.partners()) == {"NL"}
    trust_partner(be, fr.identity)
    assert set(kept.partners()) == {"NL", "FR"}
    earlier = public_bytes(generate_key())
    rotated = replace(kept.partners()["NL"], previous_keys=(NodeKey(key_id(earlier), earlier, 1, 5),))
    TrustStore(be.settings.home).write(rotated)  # another store: the file is replaced
    assert kept.partners()["NL"].previous_keys == rotated.previous_keys
    (kept.folder / "FR.json").write_text("{}")
    for _ in range(2):  # a damaged file is refused at every read, never kept
        with pytest.raises(InvalidField):
            kept.partners()
    TrustStore(be.settings.home).remove("FR")
    assert set(kept.partners()) == {"NL"}
