"""``armsledger trace`` over a real Kafka-protocol broker: on the requesting node, the priority in
``trace list`` and ``trace show`` by the short id printed, with who held the weapon according to the
answer, and a refused id repeated as typed; on the addressee, ``trace acknowledge`` by hand."""

from __future__ import annotations

import pytest

from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.cli.main import run as armsledger
from nodes.tracing import service as tracing

from federation_nodes import Cluster, now

MARKING = Marking.read("FN Herstal", "BE", "CLI-E2E-1")


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap):
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"])
    yield cluster
    cluster.close()


def cli_of(cluster: Cluster, state: str, capsys):
    """``armsledger`` run in-process as the node of ``state``: (exit code, stdout, stderr), never a traceback."""
    environ = cluster.environ(cluster[state].settings)

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = armsledger(list(argv), environ)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return cli


def test_the_requester_lists_and_shows_an_urgent_trace_by_its_short_id(cluster, capsys):
    be, fr = cluster["BE"], cluster["FR"]
    cli = cli_of(cluster, "FR", capsys)
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


def test_an_officer_acknowledges_a_request_received_but_not_yet_acted_upon(cluster, capsys):
    be, fr = cluster["BE"], cluster["FR"]
    seized = fr.registry.seize(marking=MARKING, place="Lille", circumstances="traffic stop", type="pistol")
    trace_id = str(tracing.submit(fr, to="BE", weapon_id=seized, circumstances="found", legal_basis="CPP",
                                  intended_use="prosecution", priority="urgent"))
    cluster.sync("FR")
    ingest = cluster.federation("BE").ingest          # receive only: no reaction acknowledges it
    for _ in range(10):
        if be.inbox.received_about(trace_id, ["FR"]):
            break
        ingest.step(5.0)
    assert be.inbox.received_about(trace_id, ["FR"]), "BE never received the request"
    cli = cli_of(cluster, "BE", capsys)

    assert "SUBMITTED" in cli("trace", "list")[1]
    code, out, err = cli("trace", "acknowledge", trace_id[:8])
    assert (code, out.strip()) == (0, f"{trace_id}: TraceAnswer.Acknowledged"), err
    code, _, err = cli("trace", "acknowledge", trace_id)
    assert code == 2 and "acknowledged already" in err
    assert [e.type for e in be.registry.envelopes(trace_id)] == ["TraceAnswer.Acknowledged"]
    code, listed, _ = cli("trace", "list")
    assert f"{trace_id}  FR -> BE  hop 1  URGENT  ACKNOWLEDGED" in listed
