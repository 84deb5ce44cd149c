"""The offline log audit over in-memory logs: every kind of damage is named with its kind."""

from __future__ import annotations

import json
import multiprocessing
import random
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import pytest

import ledger.audit
import ledger.audit_records
from ledger.audit import AuditReport, ProblemKind, Resumed, SealedLeaf, audit_log
from ledger.audit_records import HeadTable, LeafLog, stream_key
from ledger.checkpoint import envelope_leaf, sign_checkpoint
from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id, public_bytes
from ledger.merkle import MerkleTree, merkle_root

NODE = generate_key()
LICENSING = generate_key()
POLICE = generate_key()
ROGUE = generate_key()
T = 1_700_000_000_000_000
REGISTER = "authorities|BE"


class TablePolicy:
    """A small permission table standing in for the domain's (the ledger knows no firearms law)."""

    TABLE = {"Weapon.Manufactured": {"licensing"}, "Weapon.Marked": {"licensing", "police"}}

    def refusal(self, record_type: str, stream: str, kind: str | None) -> str | None:
        if kind is None:
            return None if stream == REGISTER else f"{record_type} outside the register"
        return None if kind in self.TABLE.get(record_type, ()) else f"a {kind} authority may not record {record_type}"


@dataclass
class Log:
    """Builds a log the way a node does: certificates first, then records chained per stream."""

    envelopes: list[Envelope] = field(default_factory=list)
    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def add(self, key, stream: str, type_: str = "Weapon.Marked", body: dict | None = None, *,
            authority: str | None = None) -> Envelope:
        version, prev = self.heads.get(stream, (0, GENESIS_PREV))
        envelope = seal(key, node="BE", stream=stream, version=version + 1, type=type_, occurred_on=1,
                        recorded_at=T + len(self.envelopes), authority=authority or key_id(key), prev=prev,
                        body=body if body is not None else {"n": len(self.envelopes)})
        self.heads[stream] = (envelope.version, envelope.hash)
        self.envelopes.append(envelope)
        return envelope

    def certify(self, key, kind: str, *, signer=NODE) -> Envelope:
        public = public_bytes(key)
        return self.add(signer, REGISTER, "Authority.Certified",
                        {"key_id": key_id(public), "public_key": public, "kind": kind, "name": f"BE {kind}"})

    def records(self) -> list[tuple[int, bytes]]:
        return [(position, e.to_bytes()) for position, e in enumerate(self.envelopes, start=1)]

    def checkpoint(self, size: int | None = None, key=NODE):
        size = len(self.envelopes) if size is None else size
        root = merkle_root([envelope_leaf(e.hash) for e in self.envelopes[:size]])
        return sign_checkpoint(key, "BE", size, root, T)

    def sealed(self) -> list[SealedLeaf]:
        return [SealedLeaf(i, e.stream, e.version, e.hash) for i, e in enumerate(self.envelopes)]


def good_log() -> Log:
    log = Log()
    log.add(NODE, REGISTER, "Authority.RegisterOpened", {"state": "BE"})
    log.certify(LICENSING, "licensing")
    log.certify(POLICE, "police")
    for weapon in ("w1", "w2", "w3"):
        log.add(LICENSING, weapon, "Weapon.Manufactured")
    log.add(POLICE, "w1")
    log.add(POLICE, "w2")
    log.add(POLICE, "w1")
    log.add(LICENSING, "w3")
    return log


def audit(records, checkpoints, **options) -> AuditReport:
    return audit_log(records, checkpoints, public_bytes(NODE), policy=TablePolicy(), origin="BE", **options)


def kinds(report: AuditReport) -> set[ProblemKind]:
    return {p.kind for p in report.problems}


def named(report: AuditReport, kind: ProblemKind) -> set[tuple[str | None, int | None]]:
    return {(p.stream, p.version) for p in report.problems if p.kind is kind}


def resealed(envelope: Envelope, key, **changes) -> Envelope:
    fields = envelope.unsigned() | changes
    return seal(key, **fields)


def test_a_good_log_passes():
    log = good_log()
    report = audit(log.records(), [log.checkpoint(4), log.checkpoint()])
    assert report.ok, report.problems
    assert (report.events_checked, report.streams_checked, report.checkpoint_size) == (10, 4, 10)
    assert report.checkpoints_checked == 2
    assert report.unsealed == 0


def test_records_beyond_the_latest_checkpoint_are_unsealed_not_wrong():
    log = good_log()
    report = audit(log.records(), [log.checkpoint(7)])
    assert report.ok
    assert (report.checkpoint_size, report.unsealed) == (7, 3)


def test_a_log_without_checkpoints_is_all_unsealed():
    report = audit(good_log().records(), [])
    assert report.ok
    assert (report.checkpoint_size, report.unsealed) == (0, 10)


def test_an_altered_body_breaks_the_signature_and_the_root():
    log = good_log()
    checkpoint = log.checkpoint()
    target = log.envelopes[6]
    log.envelopes[6] = replace(target, body={"n": 999})  # same sig, other content
    report = audit(log.records(), [checkpoint])
    assert named(report, ProblemKind.SIGNATURE) == {("w1", 2)}
    assert ProblemKind.ROOT in kinds(report)
    assert not report.ok


def test_an_altered_signature_is_named_alone():
    log = good_log()
    target = log.envelopes[4]
    log.envelopes[4] = replace(target, sig=bytes([target.sig[0] ^ 1]) + target.sig[1:])
    report = audit(log.records(), [log.checkpoint()])
    assert [(p.kind, p.stream, p.version, p.position) for p in report.problems] == [
        (ProblemKind.SIGNATURE, "w2", 1, 5)]


def test_a_record_signed_by_another_key_than_the_one_it_names_fails_its_signature():
    log = good_log()
    log.envelopes[7] = resealed(log.envelopes[7], ROGUE)  # still names the police key
    report = audit(log.records(), [log.checkpoint()])
    assert named(report, ProblemKind.SIGNATURE) == {("w2", 2)}


def test_a_record_by_an_uncertified_authority_is_named():
    log = good_log()
    log.add(ROGUE, "w3")
    report = audit(log.records(), [log.checkpoint()])
    assert named(report, ProblemKind.CERTIFICATE) == {("w3", 3)}
    assert "no earlier Authority.Certified" in report.problems[0].reason


def test_a_certificate_must_precede_the_use_of_its_key():
    log = Log()
    log.add(NODE, REGISTER, "Authority.RegisterOpened", {"state": "BE"})
    log.certify(LICENSING, "licensing")
    log.add(LICENSING, "w1", "Weapon.Manufactured")
    log.add(POLICE, "w1")
    log.certify(POLICE, "police")
    log.add(POLICE, "w1")
    report = audit(log.records(), [log.checkpoint()])
    assert named(report, ProblemKind.CERTIFICATE) == {("w1", 2)}


def test_a_certificate_not_signed_by_the_node_key_certifies_nothing():
    log = Log()
    log.add(NODE, REGISTER, "Authority.RegisterOpened", {"state": "BE"})
    log.certify(LICENSING, "licensing")
    log.certify(ROGUE, "police", signer=LICENSING)
    log.add(ROGUE, "w1", "Weapon.Manufactured")
    report = audit(log.records(), [log.checkpoint()])
    assert named(report, ProblemKind.CERTIFICATE) == {(REGISTER, 3), ("w1", 1)}


def test_a_certificate_whose_key_id_is_not_its_keys_is_refused():
    log = Log()
    log.add(NODE, REGISTER, "Authority.RegisterOpened", {"state": "BE"})
    public = public_bytes(ROGUE)
    log.add(NODE, REGISTER, "Authority.Certified",
            {"key_id": key_id(LICENSING), "public_key": public, "kind": "licensing", "name": "x"})
    log.add(LICENSING, "w1", "Weapon.Manufactured")
    report = audit(log.records(), [])
    assert named(report, ProblemKind.CERTIFICATE) == {(REGISTER, 2), ("w1", 1)}


def test_the_node_key_signs_only_authority_records():
    log = good_log()
    log.add(NODE, "w3")
    report = audit(log.records(), [])
    assert named(report, ProblemKind.CERTIFICATE) == {("w3", 3)}
    assert "signs only Authority.*" in report.problems[0].reason


def test_a_record_the_signers_kind_may_not_make_is_named():
    log = good_log()
    log.add(POLICE, "w9", "Weapon.Manufactured")  # certified, well signed, but police may not manufacture
    report = audit(log.records(), [log.checkpoint()])
    assert [(p.kind, p.stream, p.version) for p in report.problems] == [(ProblemKind.PERMISSION, "w9", 1)]
    assert "police authority may not record Weapon.Manufactured" in report.problems[0].reason


def test_a_row_whose_topic_is_not_the_signed_type_is_misfiled():
    log = good_log()
    rows = [(position, data, e.stream, e.version, e.type) for (position, data), e in zip(log.records(), log.envelopes)]
    rows[4] = rows[4][:4] + ("Weapon.Destroyed",)
    report = audit(rows, [log.checkpoint()])
    assert [(p.kind, p.stream, p.version) for p in report.problems] == [(ProblemKind.MISFILED, "w2", 1)]
    assert "topic 'Weapon.Destroyed'" in report.problems[0].reason


def test_a_broken_prev_link_is_named():
    log = good_log()
    log.envelopes[9] = resealed(log.envelopes[9], LICENSING, prev=bytes(32))
    report = audit(log.records(), [])
    assert [(p.kind, p.stream, p.version) for p in report.problems] == [(ProblemKind.CHAIN, "w3", 2)]


def test_a_deleted_middle_record_breaks_the_chain_and_the_root():
    log = good_log()
    checkpoint, sealed = log.checkpoint(), log.sealed()
    del log.envelopes[6]  # w1 version 2
    report = audit(log.records(), [checkpoint])
    assert named(report, ProblemKind.CHAIN) == {("w1", 3)}
    assert "version 2 missing" in report.problems[0].reason
    assert ProblemKind.DELETED in kinds(report)  # 9 records where 10 were sealed
    named_by_index = audit(log.records(), [checkpoint], sealed=sealed)
    assert ("w1", 2) in named(named_by_index, ProblemKind.DELETED)


def test_reordered_versions_of_a_stream_are_named():
    log = good_log()
    log.envelopes[6], log.envelopes[8] = log.envelopes[8], log.envelopes[6]  # w1 v3 before v2
    report = audit(log.records(), [])
    assert named(report, ProblemKind.CHAIN) == {("w1", 3), ("w1", 2)}


def test_records_of_different_streams_swapped_in_the_log_change_the_root_and_are_named_as_moved():
    log = good_log()
    checkpoint, sealed = log.checkpoint(), log.sealed()
    log.envelopes[3], log.envelopes[4] = log.envelopes[4], log.envelopes[3]
    report = audit(log.records(), [checkpoint])
    assert kinds(report) == {ProblemKind.ROOT}
    with_index = audit(log.records(), [checkpoint], sealed=sealed)
    assert named(with_index, ProblemKind.MOVED) == {("w1", 1), ("w2", 1)}


def test_deleted_last_records_below_the_checkpoint_size_are_a_failure():
    log = good_log()
    checkpoint, sealed = log.checkpoint(), log.sealed()
    del log.envelopes[8:]  # w1 v3 and w3 v2: chains still look fine
    report = audit(log.records(), [checkpoint])
    assert kinds(report) == {ProblemKind.DELETED}
    assert "sealed records were deleted (2 missing)" in report.problems[0].reason
    with_index = audit(log.records(), [checkpoint], sealed=sealed)
    assert named(with_index, ProblemKind.DELETED) >= {("w1", 3), ("w3", 2)}


def test_a_checkpoint_with_a_wrong_root_is_reported():
    log = good_log()
    honest = log.checkpoint()
    wrong = sign_checkpoint(NODE, "BE", honest.size, bytes(32), T)
    report = audit(log.records(), [wrong])
    assert kinds(report) == {ProblemKind.ROOT}
    assert report.problems[0].stream is None


@pytest.mark.parametrize("spoil", [
    lambda c: replace(c, sig=bytes(64)),
    lambda c: replace(c, size=c.size - 1),
    lambda c: sign_checkpoint(ROGUE, "BE", c.size, c.root, T),
])
def test_a_badly_signed_checkpoint_is_reported_and_not_used(spoil):
    log = good_log()
    report = audit(log.records(), [log.checkpoint(5), spoil(log.checkpoint())])
    assert kinds(report) == {ProblemKind.CHECKPOINT}
    assert report.checkpoint_size == 5


def test_a_checkpoint_of_another_origin_is_reported():
    log = good_log()
    other = sign_checkpoint(NODE, "FR", 10, log.checkpoint().root, T)
    assert kinds(audit(log.records(), [other])) == {ProblemKind.CHECKPOINT}


def test_an_older_checkpoint_inconsistent_with_the_newer_is_reported():
    log = good_log()
    wrong_older = sign_checkpoint(NODE, "BE", 4, bytes(32), T)
    report = audit(log.records(), [wrong_older, log.checkpoint(7), log.checkpoint()])
    assert kinds(report) == {ProblemKind.CONSISTENCY}
    assert "size 4" in report.problems[0].reason


def test_a_change_between_two_checkpoints_is_located():
    log = good_log()
    checkpoints = [log.checkpoint(3), log.checkpoint(6), log.checkpoint()]
    log.envelopes[7] = replace(log.envelopes[7], body={"n": -1})
    report = audit(log.records(), checkpoints)
    consistency = [p for p in report.problems if p.kind is ProblemKind.CONSISTENCY]
    assert len(consistency) == 1
    assert "log indexes 6..9" in consistency[0].reason


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork():
    log = good_log()
    fork = sign_checkpoint(NODE, "BE", 10, bytes(32), T)
    report = audit(log.records(), [log.checkpoint(), fork])
    assert ProblemKind.CONSISTENCY in kinds(report)
    assert "forked" in " ".join(p.reason for p in report.problems)


def test_bytes_that_are_not_an_envelope_are_named_by_their_row():
    log = good_log()
    records = log.records()
    records[5] = (6, b"\x93garbage", "w3", 1)
    report = audit(records, [])
    assert [(p.kind, p.stream, p.version, p.position) for p in report.problems] == [
        (ProblemKind.ENCODING, "w3", 1, 6)]


def test_a_row_holding_another_rows_envelope_is_misfiled():
    log = good_log()
    rows = [(position, data, e.stream, e.version)
            for (position, data), e in zip(log.records(), log.envelopes)]
    rows[3], rows[4] = (4, rows[4][1], "w1", 1), (5, rows[3][1], "w2", 1)  # states swapped
    report = audit(rows, [log.checkpoint()])
    assert named(report, ProblemKind.MISFILED) == {("w1", 1), ("w2", 1)}


def test_an_altered_leaf_index_is_reported_but_not_trusted():
    log = good_log()
    checkpoint, sealed = log.checkpoint(), log.sealed()
    sealed[2] = sealed[2]._replace(envelope_hash=bytes(32))
    del log.envelopes[9]
    report = audit(log.records(), [checkpoint], sealed=sealed)
    assert ProblemKind.INDEX in kinds(report)
    assert all(p.stream is None for p in report.problems if p.kind is ProblemKind.DELETED)


def test_a_malformed_certificate_certifies_nothing():
    log = good_log()
    police_certificate = log.envelopes[2]
    body = dict(police_certificate.body) | {"public_key": b"short"}
    log.envelopes[2] = resealed(police_certificate, NODE, body=body)
    report = audit(log.records(), [])
    assert (REGISTER, 3) in named(report, ProblemKind.CERTIFICATE)
    assert ("w1", 1) not in named(report, ProblemKind.CERTIFICATE)  # licensing still certified
    assert ("w1", 2) in named(report, ProblemKind.CERTIFICATE)  # police key is not


def test_the_process_pool_finds_what_the_plain_loop_finds(monkeypatch):
    monkeypatch.setattr(ledger.audit_records, "CHUNK_SIZE", 3)
    monkeypatch.setattr(ledger.audit_records, "IN_FLIGHT", 1)
    log = good_log()
    checkpoint = log.checkpoint()
    log.add(ROGUE, "w2")
    target = log.envelopes[4]
    log.envelopes[4] = replace(target, sig=bytes(64))
    inline = audit(log.records(), [checkpoint])
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = audit(log.records(), [checkpoint], executor=pool)
    assert pooled == inline
    assert kinds(pooled) == {ProblemKind.SIGNATURE, ProblemKind.CERTIFICATE}


def test_a_worker_returns_each_signature_only_while_it_is_unchecked():
    log = good_log()
    rogue = log.add(ROGUE, "w2")
    chunk = [e.to_bytes() for e in log.envelopes]
    keys = {key_id(public_bytes(k)): public_bytes(k) for k in (NODE, LICENSING, POLICE)}
    summaries = ledger.audit_records.examine_chunk(chunk, keys)
    by_authority = {s.authority: s for s in summaries}
    assert by_authority[rogue.authority].sig_ok is None and by_authority[rogue.authority].sig == rogue.sig
    assert all(s.sig == b"" and s.sig_ok is True for s in summaries if s.authority != rogue.authority)
    # The values a chunk repeats are one object each, so the pickled results refer to them once.
    manufactured = [s for s in summaries if s.type == "Weapon.Manufactured"]
    assert len(manufactured) == 3 and len({id(s.type) for s in manufactured}) == 1
    assert len({id(s.prev) for s in manufactured}) == 1 and manufactured[0].prev == GENESIS_PREV
    fields = [(s.stream, s.version, s.type, s.authority, s.prev, s.hash) for s in summaries]
    assert fields == [(e.stream, e.version, e.type, e.authority, e.prev, e.hash) for e in log.envelopes]


@pytest.mark.parametrize("damaged", [None, 7])
def test_a_row_that_holds_no_bytes_does_not_hide_a_certificate_of_its_chunk_from_the_workers(damaged):
    # The chunk is searched for certificates as one byte string first; a row of another type cannot be joined.
    log = good_log()
    records = log.records()
    records.insert(3, (len(records) + 1, damaged))
    keys = ledger.audit_records.RecordWalk(public_bytes(NODE), TablePolicy()).candidate_keys
    examined = list(ledger.audit_records.examined(iter(ledger.audit._as_records(records)), keys, None))
    assert set(keys) == {key_id(public_bytes(k)) for k in (NODE, LICENSING, POLICE)}
    assert [s.sig_ok for _, s in examined if isinstance(s, ledger.audit_records.Summary)] == [True] * len(log.envelopes)


def test_the_report_is_plain_json():
    log = good_log()
    log.envelopes[4] = replace(log.envelopes[4], sig=bytes(64))
    document = json.loads(json.dumps(audit(log.records(), [log.checkpoint()]).to_dict()))
    assert document["ok"] is False
    assert document["problems"] == [{"stream": "w2", "version": 1, "position": 5, "kind": "signature",
                                     "reason": document["problems"][0]["reason"], "partner": None}]
    assert "does not verify" in document["problems"][0]["reason"]


def test_canonical_envelope_bytes_survive_a_round_trip_through_the_audit_helpers():
    # Guards the test builder itself: what it stores is what a node stores.
    for envelope in good_log().envelopes:
        data = envelope.to_bytes()
        assert canonical_encode(canonical_decode(data)) == data
        assert Envelope.from_bytes(data) == envelope


@pytest.mark.parametrize("public_key", [None, "text", b"short", 7])
def test_a_certificate_with_a_malformed_key_is_reported_not_raised(public_key):
    log = good_log()
    body = dict(log.envelopes[2].body) | {"public_key": public_key}
    log.envelopes[2] = resealed(log.envelopes[2], NODE, body=body)
    report = audit(log.records(), [])
    assert (REGISTER, 3) in named(report, ProblemKind.CERTIFICATE)


# An audit resumed after a checkpoint verified before (``verify --since``): it reads only the records after
# it, the register before it and the last record before it of each stream continued after it.


def resumed(log: Log, size: int, *, heads=None, asked: list | None = None) -> Resumed:
    """The resumption point after the first ``size`` records of ``log``, read from them as a node would;
    ``asked`` is told the streams of each read of heads."""
    before = log.envelopes[:size]
    asked = [] if asked is None else asked

    def last_before(streams):
        asked.append(list(streams))
        found = {}
        for envelope in before:
            if envelope.stream in streams:
                found[envelope.stream] = (envelope.version, envelope.to_bytes())
        return found | (heads or {})

    tree = MerkleTree(envelope_leaf(e.hash) for e in before)
    register = [(n, e.to_bytes()) for n, e in enumerate(before, start=1) if e.stream == REGISTER]
    return Resumed(log.checkpoint(size), tree.frontier(size), size, register, last_before)


def test_an_audit_resumed_from_a_checkpoint_agrees_with_the_full_audit_reading_only_what_is_new():
    log = good_log()
    checkpoints = [log.checkpoint(4), log.checkpoint(7), log.checkpoint()]
    full = audit(log.records(), checkpoints, sealed=log.sealed())
    asked: list[list[str]] = []
    report = audit(log.records()[4:], checkpoints, sealed=[leaf for leaf in log.sealed() if leaf.index >= 4],
                   since=resumed(log, 4, asked=asked))
    assert full.ok and report.ok, report.problems
    assert (report.events_checked, report.checkpoint_size, report.checkpoints_checked) == (10, 10, 3)
    assert report.frontier == full.frontier and report.covered_position == full.covered_position == 10
    assert MerkleTree.resume(10, report.frontier).root() == log.checkpoint().root
    assert asked == [["w1", "w2", "w3"]]  # one read, of the streams continued after the checkpoint


def test_the_tree_grown_in_runs_of_leaves_has_the_roots_of_the_log(monkeypatch):
    monkeypatch.setattr(ledger.audit_records, "TREE_RUN", 3)  # runs end inside and at checkpoints' sizes
    log = good_log()
    checkpoints = [log.checkpoint(3), log.checkpoint(4), log.checkpoint(7), log.checkpoint()]
    full = audit(log.records(), checkpoints, sealed=log.sealed())
    report = audit(log.records()[4:], checkpoints, sealed=[leaf for leaf in log.sealed() if leaf.index >= 4],
                   since=resumed(log, 4))
    assert full.ok and report.ok, (full.problems, report.problems)
    whole = MerkleTree(envelope_leaf(e.hash) for e in log.envelopes)
    assert full.frontier == report.frontier == tuple(whole.frontier())
    log.envelopes[5] = resealed(log.envelopes[5], LICENSING, occurred_on=T + 1)  # a record altered inside a run
    assert ProblemKind.ROOT in kinds(audit(log.records(), checkpoints))


def test_a_resumed_audit_with_nothing_new_keeps_the_mark():
    log = good_log()
    report = audit([], [log.checkpoint()], since=resumed(log, 10))
    assert report.ok and (report.events_checked, report.checkpoint_size, report.covered_position) == (10, 10, 10)


@pytest.mark.parametrize("damage, expected", [
    ("frontier of another log", ProblemKind.WITNESS),
    ("head before the mark altered", ProblemKind.CHAIN),
    ("register before the mark altered", ProblemKind.ALTERED),
    ("record after the mark altered", ProblemKind.SIGNATURE),
    ("record after the mark deleted", ProblemKind.DELETED),
    ("leaf index after the mark altered", ProblemKind.INDEX),
])
def test_a_resumed_audit_catches(damage, expected):
    log = good_log()
    checkpoints = [log.checkpoint(4), log.checkpoint()]
    since = resumed(log, 4)
    records, sealed = log.records()[4:], [leaf for leaf in log.sealed() if leaf.index >= 4]
    if damage == "frontier of another log":
        other = MerkleTree(envelope_leaf(bytes([n]) * 32) for n in range(4))
        since = since._replace(frontier=other.frontier(4))
    elif damage == "head before the mark altered":  # w1's version 1, which version 2 after the mark follows
        since = resumed(log, 4, heads={"w1": (1, replace(log.envelopes[3], body={"n": 999}).to_bytes())})
    elif damage == "register before the mark altered":
        forged = replace(log.envelopes[1], body={**log.envelopes[1].body, "name": "forged"})
        since = since._replace(register=[(1, log.envelopes[0].to_bytes()), (2, forged.to_bytes()),
                                         (3, log.envelopes[2].to_bytes())])
    elif damage == "record after the mark altered":
        records[2] = (records[2][0], replace(log.envelopes[6], body={"n": 999}).to_bytes())
    elif damage == "record after the mark deleted":
        del records[2]
    else:
        sealed[1] = sealed[1]._replace(envelope_hash=bytes(32))
    report = audit(records, checkpoints, sealed=sealed, since=since)
    assert expected in kinds(report), report.problems


def test_the_leaf_index_read_afresh_by_a_callable_names_the_records_as_a_list_does():
    log = good_log()
    checkpoint = log.checkpoint()
    records = log.records()
    records[5] = (records[5][0], replace(log.envelopes[5], body={"n": 999}).to_bytes())
    reads = []

    def read_index():
        reads.append(1)
        return iter(log.sealed())

    as_list = audit(records, [checkpoint], sealed=log.sealed())
    read = audit(records, [checkpoint], sealed=read_index)
    assert read.problems == as_list.problems and ProblemKind.ALTERED in kinds(read)
    assert len(reads) == 2  # the second read only because the log disagrees with its checkpoint
    assert audit(log.records(), [checkpoint], sealed=read_index).ok and len(reads) == 3


def test_the_walk_packs_uuid_streams_and_keeps_any_other_stream_as_it_is():
    leaves = LeafLog(5)
    stream = "0f8fad5b-d9cb-469f-a165-70867728950e"
    for key, version in ((stream_key(stream), 3), (stream_key("w1"), 2 ** 64 - 1), (stream_key(None), None),
                         (stream_key(stream.upper()), -5)):
        leaves.append(key, version, 41, bytes(range(32)))
    assert (len(leaves), leaves.size) == (4, 9)
    assert [leaves.key(index) for index in range(5, 9)] == [(stream, 3), ("w1", 2 ** 64 - 1), (None, None),
                                                            (stream.upper(), -5)]
    assert leaves.position(8) == 41 and leaves.envelope_hash(6) == bytes(range(32))


def test_the_head_table_answers_as_a_dict_does():
    rng = random.Random(7)
    leaves, table, reference = LeafLog(3), None, {}
    table = HeadTable(leaves)
    streams = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3000)] + ["w1", "w2"]
    for _ in range(12_000):
        stream = rng.choice(streams)
        key = stream_key(stream)
        leaves.append(key, 1, leaves.size + 1, bytes(32))
        # A head before the start is taken only for a stream without one (``RecordWalk.adopt_heads``).
        value = rng.choice([leaves.size - 1, -leaves.size, *([(5, bytes(32))] if key not in reference else [])])
        table[key] = value
        reference[key] = value
    assert len(table) == len(reference) > 2000
    assert all(table.get(key) == value for key, value in reference.items())
    assert table.get(stream_key(str(uuid.UUID(int=1)))) is None and "w3" not in table
    held = next(key for key, value in reference.items() if isinstance(key, bytes) and isinstance(value, int))
    with pytest.raises(ValueError, match="not replaced"):
        table[held] = (5, bytes(32))


def _hash_pages(sealed: list[SealedLeaf], size: int = 3):
    """``sealed`` as the sealer's hash pages of ``size`` leaves (``Sealer.sealed_hash_pages``)."""
    return [(page[0].index, page[-1].index, [leaf.envelope_hash for leaf in page])
            for page in (sealed[i:i + size] for i in range(0, len(sealed), size))]


def _shifted(sealed: list[SealedLeaf]) -> list[SealedLeaf]:
    # Leaf 2's hash cut by a byte that leaf 3's starts with: their hashes joined are still the log's.
    cut = [*sealed]
    cut[2] = sealed[2]._replace(envelope_hash=sealed[2].envelope_hash[:31])
    cut[3] = sealed[3]._replace(envelope_hash=sealed[2].envelope_hash[31:] + sealed[3].envelope_hash)
    return cut


@pytest.mark.parametrize("damage, sound", [
    (lambda sealed: sealed, True),
    (lambda sealed: [*sealed[:2], sealed[2]._replace(envelope_hash=bytes(32)), *sealed[3:]], False),
    (_shifted, False),
    (lambda sealed: [*sealed[:4], *(leaf._replace(index=leaf.index + 1) for leaf in sealed[4:])], False),  # a gap
    (lambda sealed: sealed[:-1], False),
    (lambda sealed: [*sealed, SealedLeaf(len(sealed), "w9", 1, bytes(32))], True),  # a leaf beyond the checkpoint
], ids=["clean", "altered", "hashes-shifted", "gap", "last-missing", "one-more"])
@pytest.mark.parametrize("log_damaged", [False, True], ids=["log-clean", "log-altered"])
def test_the_leaf_index_read_as_hash_pages_finds_what_the_leaf_rows_find(damage, sound, log_damaged):
    log = good_log()
    checkpoint = log.checkpoint()
    sealed = damage(log.sealed())
    records = log.records()
    if log_damaged:
        records[5] = (records[5][0], replace(log.envelopes[5], body={"n": 999}).to_bytes())
    reads = []

    def read_index():
        reads.append(1)
        return iter(sealed)

    by_rows = audit(records, [checkpoint], sealed=sealed)
    by_pages = audit(records, [checkpoint], sealed=read_index, sealed_hashes=lambda: iter(_hash_pages(sealed)))
    assert by_pages.problems == by_rows.problems
    assert by_rows.ok == (sound and not log_damaged)
    # The rows are read only when the pages differ from the log: an index sound up to the checkpoint never.
    assert (len(reads) == 0) == (sound and not log_damaged)
