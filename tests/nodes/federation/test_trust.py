"""Making nodes trust each other: what ``key export`` and ``trust add`` do, for a set of nodes."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from nodes.bootstrap import init_node
from nodes.federation.trust import TrustStore, trust_each_other, trust_partner
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
