"""``armsledger trace`` on the requesting node over a real Kafka-protocol broker: the priority in
``trace list``, ``trace show`` by the short id printed, with who held the weapon according to the
answer, and a refused id repeated as typed."""

from __future__ import annotations

import pytest

from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.cli.main import run as armsledger

from federation_nodes import Cluster, now

MARKING = Marking.read("FN Herstal", "BE", "CLI-E2E-1")


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap):
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"])
    yield cluster
    cluster.close()


def test_the_requester_lists_and_shows_an_urgent_trace_by_its_short_id(cluster, capsys):
    be, fr = cluster["BE"], cluster["FR"]
    environ = cluster.environ(fr.settings)

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = armsledger(list(argv), environ)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    be.registry.manufacture(marking=MARKING, type="pistol", make="FN", model="Five-seveN", calibre="5.7x28",
                            year=2020, holder="FN Herstal", occurred_on=now() - 400 * DAY)
    seized = fr.registry.seize(marking=MARKING, place="Lille", circumstances="traffic stop", type="pistol")
    code, out, err = cli("trace", "request", "--weapon", str(seized), "--to", "BE", "--priority", "urgent",
                         "--circumstances", "found in a car", "--legal-basis", "CPP art 60",
                         "--intended-use", "prosecution")
    assert code == 0, err
    trace_id = out.strip()
    cluster.settle()          # BE acknowledges and answers by itself; FR receives the answer

    code, listed, _ = cli("trace", "list")
    assert code == 0 and f"{trace_id}  FR -> BE  hop 1  URGENT" in listed
    code, shown, err = cli("trace", "show", trace_id[:8])
    assert code == 0, err
    assert f"trace    {trace_id}" in shown and "priority urgent" in shown
    assert "respond  by " in shown and "in time, recorded " in shown
    assert "answered records: " in shown
    assert "Manufactured     holder FN Herstal, place BE, from BE, verified (signed by BE)" in shown

    code, _, err = cli("trace", "show", "abc")
    assert code == 2 and "'abc'" in err and "trace" in err
