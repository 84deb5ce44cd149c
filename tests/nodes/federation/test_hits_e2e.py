"""End to end over a real Kafka-protocol broker: BE reports a pistol stolen (it is on no register there),
FR seizes it and is warned at once, and after one sync on each side BE's ``alerts`` lists FR's hit notice.
A tampered or replayed hit notice is refused at ingest like any record.

BE runs on each backend through ``db_url``; every step is an ``armsledger`` command run in-process
against the cluster's broker and topics (federation_nodes.Cluster).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from domain.event_types import HIT_NOTICE_SENT
from ledger.envelope import Envelope
from nodes.alerts.hits import alerts
from nodes.cli.main import run as armsledger
from nodes.federation.ingest_reasons import BAD_SIGNATURE
from nodes.federation.wire import RecordMessage, decode_message, encode_message

from federation_nodes import Cluster, publish, raw_messages

PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-E2E-1"]


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"], db={"BE": db_url})
    yield cluster
    cluster.close()


def run(cluster, state, capsys, *argv):
    """``armsledger ARGV`` as ``state``'s node: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = armsledger(list(argv), cluster.environ(cluster[state].settings))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stolen_pistol_seized_across_the_border_raises_the_hit_on_the_reporting_node(cluster, capsys):
    code, out, err = run(cluster, "BE", capsys, "record", "report-stolen", *PISTOL, "--type", "pistol",
                         "--calibre", "5.7x28", "--place", "Liège", "--date", "2026-10-01", "--json")
    assert code == 0, err
    weapon = json.loads(out)["weapon_id"]
    cluster.settle()

    code, out, err = run(cluster, "FR", capsys, "record", "seize", *PISTOL, "--place", "Marseille",
                         "--date", "2026-11-08", "--circumstances", "car search", "--json")
    assert code == 0, err
    assert "WARNING: BE reported this weapon stolen" in err
    [hit] = json.loads(out)["hits"]
    assert hit["reporting_state"] == "BE" and hit["reported"] == "stolen"
    code, out, err = run(cluster, "FR", capsys, "record", "seize", "--weapon", weapon, "--place", "Lyon")
    assert code == 0 and out.strip() == weapon and err.count("WARNING: BE") == 1  # each seizure warns

    cluster.sync("FR")
    cluster.sync("BE")
    code, out, err = run(cluster, "BE", capsys, "alerts", "--json", "--purpose", "stolen pistol")
    assert code == 0, err
    listed = json.loads(out)["alerts"]
    assert [(a["recording_state"], a["place"], a["date"]) for a in listed] == [
        ("FR", "Lyon", listed[0]["date"]), ("FR", "Marseille", "2026-11-08")]
    assert listed[1]["weapon_id"] == weapon and listed[1]["our_report"]["place"] == "Liège"
    code, out, _ = run(cluster, "BE", capsys, "alerts")
    assert "2026-11-08  FR  seizure in Marseille of weapon" in out and "reported stolen" in out
    code, out, _ = run(cluster, "FR", capsys, "alerts")
    assert out.strip() == "no alerts"  # the notice went to the reporter only
    code, _, err = run(cluster, "BE", capsys, "alerts", "--limit", "0")
    assert code == 2 and "limit" in err
    for state in ("FR", "BE"):  # the notices in FR's log and in BE's inbox pass the audit of the whole store
        code, out, err = run(cluster, state, capsys, "verify")
        assert code == 0, (state, out, err)

    # Replayed and tampered notices on BE's inbox topic: the replay changes nothing, the tampered one is
    # quarantined with its reason and never listed.
    notices = []
    for _, key, value in raw_messages(cluster, "BE"):
        message = decode_message(value)
        if isinstance(message, RecordMessage) and Envelope.from_bytes(message.envelope).type == HIT_NOTICE_SENT:
            notices.append((key, message))
    assert len(notices) == 2
    key, message = notices[0]
    honest = Envelope.from_bytes(message.envelope)
    tampered = replace(honest, body={**honest.body, "place": "Paris"})
    publish(cluster, "BE", [(key, encode_message(message)),
                            (key, encode_message(replace(message, envelope=tampered.to_bytes())))])
    quarantined_before = cluster["BE"].inbox.quarantined()
    cluster.sync("BE")
    assert [a["place"] for a in alerts(cluster["BE"])] == ["Lyon", "Marseille"]
    [refused] = cluster["BE"].inbox.quarantined()[len(quarantined_before):]
    assert refused["reason"] == BAD_SIGNATURE and refused["origin"] == "FR", refused


def test_a_recovery_reaches_partners_so_a_later_seizure_there_raises_no_hit(cluster, capsys):
    returned = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-E2E-2"]
    named = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-E2E-3"]
    weapons = {}
    for name, marking in (("returned", returned), ("named", named)):
        code, out, err = run(cluster, "BE", capsys, "record", "report-stolen", *marking, "--type", "pistol",
                             "--place", "Liège", "--date", "2026-10-01", "--json")
        assert code == 0, err
        weapons[name] = json.loads(out)["weapon_id"]
    code, _, err = run(cluster, "BE", capsys, "record", "recover", "--weapon", weapons["returned"],
                       "--place", "Namur", "--date", "2026-10-20")
    assert code == 0 and "note:" not in err, err
    # A holder written as a name may be a private person's: that recovery stays national, and BE is told so.
    code, _, err = run(cluster, "BE", capsys, "record", "recover", "--weapon", weapons["named"],
                       "--place", "Namur", "--holder", "Jan Peeters", "--date", "2026-10-20")
    assert code == 0 and "note: the recovery names 'Jan Peeters', so it stays in this state" in err, err
    cluster.settle()

    code, out, err = run(cluster, "FR", capsys, "record", "seize", *returned, "--place", "Lille",
                         "--date", "2026-11-08", "--json")
    assert code == 0, err
    assert json.loads(out)["hits"] == [] and "WARNING" not in err  # BE's recovery withdrew its report at FR
    code, out, err = run(cluster, "FR", capsys, "record", "seize", *named, "--place", "Lille",
                         "--date", "2026-11-08", "--json")
    assert code == 0, err
    assert [hit["reporting_state"] for hit in json.loads(out)["hits"]] == ["BE"]
    for state in ("FR", "BE"):
        code, out, err = run(cluster, state, capsys, "verify")
        assert code == 0, (state, out, err)
