"""A relay pass runs with the cyclic garbage collector paused (its objects go by their reference
counts), and the collector runs again after it, also when the pass fails."""

from __future__ import annotations

import gc
import json

import pytest

from nodes.bootstrap import init_node
from nodes.errors import TransportError
from nodes.federation.relay import Relay
from nodes.federation.trust import trust_each_other
from nodes.settings import Settings

from federation_nodes import PASSPHRASE, manufacture_many
from memory_transport import MemoryTransport


class _Watched(MemoryTransport):
    """A memory transport that notes whether the collector ran at each publish, and can refuse them."""

    def __init__(self) -> None:
        super().__init__()
        self.collecting: list[bool] = []
        self.refuse = False

    def publish_many(self, batches, **kwargs):  # type: ignore[no-untyped-def]
        self.collecting.append(gc.isenabled())
        if self.refuse:
            raise TransportError("the broker is away")
        return super().publish_many(batches, **kwargs)


def test_a_relay_pass_publishes_with_the_collector_paused_and_it_runs_again_after(tmp_path):
    be = init_node(Settings.load(environ={}, home=tmp_path / "be", passphrase=PASSPHRASE), "BE")
    nl = init_node(Settings.load(environ={}, home=tmp_path / "nl", passphrase=PASSPHRASE), "NL")
    try:
        trust_each_other([be, nl])
        (tmp_path / "be" / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all"}}))
        manufacture_many(be, 5)
        transport = _Watched()
        relay = Relay(be, transport, be.inbox)
        assert gc.isenabled()
        assert relay.relay().records >= 5
        assert transport.collecting and not any(transport.collecting)
        assert gc.isenabled()
        assert len(transport.published("NL")) > 5

        manufacture_many(be, 1, prefix="T")
        transport.refuse, transport.collecting = True, []
        with pytest.raises(TransportError):
            relay.relay()
        assert transport.collecting == [False]
        assert gc.isenabled()
    finally:
        be.close()
        nl.close()
