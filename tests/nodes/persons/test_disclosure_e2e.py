"""Disclosure over the real broker: FR holds only BE's holder reference (in a shared record), asks BE for the
identity; BE's registry releases it (or refuses); FR opens it. Both sides' read audits show the disclosure,
bad input is refused naming the field with nothing recorded, and once BE erases the person FR can no longer
read its copy; a reference seen only in a trace answer can be asked about too. BE and FR run on ``db_url``
(SQLite, then PostgreSQL: each on a database of its own)."""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import pytest

from deploy.throwaway_postgres import throwaway_database
from domain.disclosure import DisclosureAnswer, DisclosureRequest
from domain.event_types import DISCLOSURE_RELEASED, DISCLOSURE_REQUESTED
from domain.marking import Marking
from nodes.persons.vault import IdentityVault
from nodes.registry.verify import verify_store
from nodes.retention.erasure import run_retention
from nodes.retention.persons import person_register
from nodes.tracing import service as tracing

from federation_nodes import Cluster
from inprocess_cli import Cli
from retention_story import KEPT_NAME, OLD_NAME, SOON_NAME, holders_story


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url, request, monkeypatch):
    monkeypatch.setenv("ARMSLEDGER_PASSPHRASE", "pw")
    with contextlib.ExitStack() as stack:
        dbs = {"BE": db_url}
        if not db_url.endswith(".db"):
            dbs["FR"] = stack.enter_context(throwaway_database(request.getfixturevalue("pg_dsn"), "armsledger_test"))
        yield stack.enter_context(Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"], db=dbs))


def _weapon_naming(node, ref: str) -> str:
    (record,) = [e for _, e in node.inbox.received_notifications(1, 1000) if e.body.get("holder") == ref]
    return record.stream


def _reads(cli: Cli) -> list[dict]:
    return [r for r in cli.ok("audit", "reads", "--json").json()["reads"] if r["action"] == "disclosure"]


def _shared_holders(cluster, capsys):
    """BE's holders story with its manufacture records shared with FR; each node's CLI."""
    be, fr = cluster["BE"], cluster["FR"]
    (be.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": ["FR"]}}))
    holders = holders_story(be)
    cluster.settle()
    return be, fr, Cli(capsys, be.settings.home, be.settings.db), Cli(capsys, fr.settings.home, fr.settings.db), holders


def test_fr_asks_be_for_a_holder_be_releases_fr_reads_it_then_be_erases_it_and_fr_cannot(cluster, capsys):
    be, fr, be_cli, fr_cli, holders = _shared_holders(cluster, capsys)
    weapon = _weapon_naming(fr, holders.old)

    asked = fr_cli.ok("disclosure", "request", "--person", holders.old, "--weapon", weapon, "--json",
                      "--purpose", "pistol seized in Lille, case 2026/77", "--legal-basis", "CPP art 60-1").json()
    assert asked["event"] == DISCLOSURE_REQUESTED
    request = asked["request"]
    (listed,) = fr_cli.ok("disclosure", "list", "--json").json()["disclosures"]
    assert (listed["direction"], listed["status"], listed["addressee"], listed["person"]) == \
        ("out", "requested", "BE", holders.old)
    cluster.settle()

    (received,) = be_cli.ok("disclosure", "list", "--json").json()["disclosures"]
    assert (received["request"], received["direction"], received["requesting_state"]) == (request, "in", "FR")
    # The release is dated in the past: the record of a release names the reference, and its own retention
    # period (class other, 20 years) counts for the person like every record's (docs/personal-data.md).
    assert be_cli.ok("disclosure", "release", request[:8], "--date", "2005-01-01", "--purpose", "FR 2026/77",
                     "--json").json() == {
        "request": request, "event": DISCLOSURE_RELEASED, "to": "FR"}
    again = be_cli.refused("disclosure", "release", request)
    assert "answered already" in again.err and "request" in again.err
    (released,) = _reads(be_cli)
    assert (released["subject"], released["purpose"]) == (f"{request} {holders.old} released to FR", "FR 2026/77")
    cluster.settle()

    shown = fr_cli.ok("disclosure", "show", request, "--purpose", "case 2026/77", "--json").json()
    assert shown["identity"]["name"] == OLD_NAME and shown["identity"]["date_of_birth"] == "1940-02-03"
    assert shown["disclosure"]["status"] == "released" and shown["erased"] is False
    text = fr_cli.ok("disclosure", "show", request[:6]).out
    assert OLD_NAME in text and "matches the commitment" in text
    reads = _reads(fr_cli)
    assert len(reads) == 2 and {r["purpose"] for r in reads} == {"case 2026/77", ""}
    assert all(r["subject"] == f"{request} {holders.old} released by BE" for r in reads)
    # Nothing of the identity travels or is kept in clear: only the box and the commitment.
    assert OLD_NAME.encode() not in b"".join(e.to_bytes() for _, e in fr.inbox.received_notifications(1, 1000))

    with person_register(be) as register:
        run = run_retention(be, register, lambda command: (command(be.registry), be.settle()))
    assert holders.old in run.erased
    with IdentityVault.open(fr.settings) as vault:
        assert vault.answer_key(request) is not None
    cluster.settle()
    with IdentityVault.open(fr.settings) as vault:  # destroyed on the erasure's arrival, before anyone reads
        assert vault.answer_key(request) is None  # the box can never be opened again
    erased = fr_cli.ok("disclosure", "show", request, "--json").json()
    assert erased["identity"] is None and erased["erased"] is True
    assert "identity erased by its state" in fr_cli.ok("disclosure", "show", request).out
    assert verify_store(be).ok and verify_store(fr).ok


def test_a_refusal_travels_back_with_its_reason_and_bad_input_records_nothing(cluster, capsys):
    be, fr, be_cli, fr_cli, holders = _shared_holders(cluster, capsys)
    weapon = _weapon_naming(fr, holders.soon)
    stated = ("--purpose", "case 9", "--legal-basis", "CPP art 60-1")

    for argv, field in [
        (("--person", "person:AAAAAAAAAAAAAAAAAAAAAAAAAA", "--weapon", weapon, *stated), "--person"),
        (("--person", "Bartholomeus", "--weapon", weapon, *stated), "--person"),
        (("--person", holders.soon, "--weapon", _weapon_naming(fr, holders.old), *stated), "--weapon"),
        (("--person", holders.soon, "--weapon", "12345678", *stated), "--weapon"),
        (("--person", holders.soon, "--weapon", weapon, "--purpose", " ", "--legal-basis", "CPP"), "--purpose"),
        (("--person", holders.soon, "--weapon", weapon, "--purpose", "x", "--legal-basis", ""), "--legal-basis"),
    ]:
        refused = fr_cli.refused("disclosure", "request", *argv)
        assert field in refused.err, (argv, refused.err)
    assert fr_cli.ok("disclosure", "list", "--json").json() == {"disclosures": []}
    with IdentityVault.open(fr.settings) as vault, vault._transaction("counting", commit=False) as sql:
        assert sql.one("SELECT COUNT(*) AS n FROM disclosure_answer_keys")["n"] == 0

    request = fr_cli.ok("disclosure", "request", "--person", holders.soon, "--weapon", weapon, *stated).out.strip()
    cluster.settle()
    assert "--reason" in be_cli.refused("disclosure", "refuse", request, "--reason", " ").err
    assert "request (REQ)" in be_cli.refused("disclosure", "release", "zzzz").err
    assert "request (REQ)" in be_cli.refused("disclosure", "refuse", "ab", "--reason", "x").err
    assert be_cli.ok("disclosure", "list", "--json").json()["disclosures"][0]["status"] == "requested"
    be_cli.ok("disclosure", "refuse", request, "--reason", "no proceedings known for this case number")
    assert "answered already" in be_cli.refused("disclosure", "release", request).err
    # A request whose answer key is a low-order point (FR's own police sign it: no rule of the request refuses
    # 32 bytes) cannot be released: refused before anything is read or audited.
    odd = DisclosureRequest.request(authority=fr.registry.authority("police"), addressee="BE", person=holders.soon,
                                    weapon_id=weapon, purpose="case 9", legal_basis="CPP", answer_key=bytes(32),
                                    occurred_on=int(time.time()))
    fr.registry.save(odd)
    cluster.settle()
    assert "answer key" in be_cli.refused("disclosure", "release", str(odd.id)).err
    assert _reads(be_cli) == []  # a refusal reads no identity, nor does a release refused
    cluster.settle()

    shown = fr_cli.ok("disclosure", "show", request, "--json").json()
    assert shown["identity"] is None and shown["disclosure"]["status"] == "refused"
    assert shown["disclosure"]["reason"] == "no proceedings known for this case number"
    assert _reads(fr_cli) == []  # nothing released, nothing read
    assert "refused" in fr_cli.ok("disclosure", "list").out
    # BE cannot be asked to release through a request it sent itself: FR's own request is not BE's to answer.
    assert "request (REQ)" in fr_cli.refused("disclosure", "release", request).err
    [answer] = [e for _, e in fr.inbox.received_notifications(1, 1000) if e.stream == request]
    assert answer.type == "DisclosureAnswer.Refused" and answer.node == "BE"
    assert isinstance(be.registry.repository.get(uuid.UUID(request)), DisclosureAnswer)
    assert SOON_NAME.encode() not in answer.to_bytes()


def test_a_reference_seen_only_in_a_trace_answer_can_be_asked_about_that_weapon(cluster, capsys):
    be, fr = cluster["BE"], cluster["FR"]
    fr_cli = Cli(capsys, fr.settings.home, fr.settings.db)
    holders = holders_story(be)  # nothing shared: FR learns the reference from BE's answer to its trace only
    trace = tracing.submit(fr, to="BE", marking=Marking.read("FN Herstal", "BE", "RET-KEPT"),
                           circumstances="found in a car", legal_basis="ITI para 17", intended_use="case 5")
    cluster.settle()
    (answer,) = [e for e in fr.inbox.received(node="BE", stream=str(trace)) if e.type == "TraceAnswer.Responded"]
    assert holders.kept.encode() in answer.to_bytes()
    weapon = str(answer.body["weapon_id"])
    request = fr_cli.ok("disclosure", "request", "--person", holders.kept, "--weapon", weapon,
                        "--purpose", "case 5", "--legal-basis", "CPP art 60-1").out.strip()
    cluster.settle()
    Cli(capsys, be.settings.home, be.settings.db).ok("disclosure", "release", request)
    cluster.settle()
    assert fr_cli.ok("disclosure", "show", request, "--json").json()["identity"]["name"] == KEPT_NAME
