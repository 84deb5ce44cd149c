"""A component found abroad, over a real broker: FR police find a Belgian frame in a weapon they seized; the
record of the find goes to BE (the frame's state of manufacture) and no other record of FR's does; BE's
ingest accepts it (schema, permission, chain) and BE's ``component show`` follows the frame into FR's
weapon. BE runs on each backend."""

from __future__ import annotations

import pytest

from domain.event_types import COMPONENT_SEIZED
from domain.marking import Marking
from nodes.registry import components
from nodes.registry.component_reading import component_life

from federation_nodes import Cluster, manufacture, now


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "FR", "NL"], db={"BE": db_url}) as cluster:
        yield cluster


def test_a_belgian_frame_found_in_france_reaches_belgium_only(cluster):
    be, fr, nl = cluster["BE"], cluster["FR"], cluster["NL"]
    weapon = manufacture(be, "E2E-1")
    frame = components.read_part("frame=Acme Arms/BE/FR-1")
    [frame_id] = components.assemble(be.registry, by="licensing", weapon_id=weapon, parts=[frame],
                                     occurred_on=now()).component_ids
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Liège", circumstances="burglary")
    seized = fr.registry.seize(marking=Marking.read("Unknown", "US", "X-9"), place="Lille", circumstances="raid",
                               occurred_on=now())
    found = components.assemble(fr.registry, by="police", weapon_id=seized, parts=[frame], occurred_on=now())
    assert found.flags == ()  # FR holds no record of the frame: nothing to flag there
    cluster.settle("BE", "FR", "NL")
    assert be.inbox.quarantined() == []
    received = be.inbox.received(node="FR", stream=frame_id)
    assert [e.type for e in received] == [COMPONENT_SEIZED]
    assert nl.inbox.received(node="FR", stream=frame_id) == []
    life = component_life(be, frame_id)
    assert [(w["weapon_id"], w["how"]) for w in life["weapons"]] == [(str(weapon), "installed"),
                                                                    (str(seized), "found when seized")]
