"""The hostile corpus: every case with the outcome the project demands of it.

Five tables, each run by ``tests/corpus/test_hostile_corpus.py``:

``PARTNER_RECORDS``  fields of a record correctly signed by a trusted partner and proven
                     against its checkpoint: (id, field overrides, expected). Expected
                     ``QUARANTINED``: not accepted, listed by the quarantine, the same sync
                     and every later one go on and accept the next valid record.
``WIRE``             raw messages on the inbox topic: (id, key, value, expected); ``OVERSIZED``
                     is quarantined keeping only a few bytes of it.
``STORED``           SQL damage to each stored table of a node holding its own and partner
                     records: (id, table, statement, command, expected exit code).
``FILES``            damage to node.json and the key files: (id, damage, command, allowed exit codes);
                     a refused command writes nothing.
``CLI_LIMITS``       option values at and past each limit: (id, argv, exit code, field named).

No case may end in exit 4 (a traceback) or in a stopped ingest.
"""

from __future__ import annotations

import uuid
from typing import Any

from ledger.encoding import canonical_encode

ACCEPTED = "accepted"
QUARANTINED = "quarantined"
OVERSIZED = "oversized"
MIB = 1024 * 1024


def trace_body(**overrides: Any) -> dict[str, Any]:
    """The body of a valid ``TraceRequest.Submitted`` from BE to NL, with ``overrides``."""
    body: dict[str, Any] = {
        "requesting_state": "BE", "addressee": "NL", "weapon_id": str(uuid.uuid4()),
        "marking": {"manufacturer": "ACME", "country": "BE", "serial": "T1"}, "type": "pistol",
        "calibre": "9mm", "circumstances": "found", "legal_basis": "ITI 17", "intended_use": "criminal case",
        "priority": "routine", "parent": "", "hop": 1,
    }
    body.update(overrides)
    return body


def trace(**body: Any) -> dict[str, Any]:
    return {"type": "TraceRequest.Submitted", "body": trace_body(**body)}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def export(**body: Any) -> dict[str, Any]:
    """A ``Weapon.Exported`` from BE to NL signed by BE's customs, with ``body`` overrides."""
    fields: dict[str, Any] = {
        "licence": "EL-1", "import_authorization": "IA-NL-1", "from_state": "BE", "to_state": "NL",
        "transit_states": (), "consignee": "Dealer NL", "shipment": str(uuid.uuid4()),
        "marking": {"manufacturer": "ACME", "country": "BE", "serial": "E1"}, "type": "pistol", "make": "Acme",
        "model": "A1", "calibre": "9mm", "year": 2020, "authorization_evidence": "", "transit_evidence": (),
    }
    fields.update(body)
    return {"by": "customs", "type": "Weapon.Exported", "body": fields}


# (id, overrides of the envelope's fields, expected)
PARTNER_RECORDS: list[tuple[str, dict[str, Any], str]] = [
    ("valid stolen report (control)", {}, ACCEPTED),
    ("valid trace request (control)", trace(), ACCEPTED),
    # header fields
    ("node of wrong type", {"node": 7}, QUARANTINED),
    ("node empty", {"node": ""}, QUARANTINED),
    ("node of another state", {"node": "NL"}, QUARANTINED),
    ("node of 10000 characters", {"node": "B" * 10_000}, QUARANTINED),
    ("stream not a UUID", {"stream": "not-a-uuid"}, QUARANTINED),
    ("stream empty", {"stream": ""}, QUARANTINED),
    ("stream of wrong type", {"stream": 12}, QUARANTINED),
    ("stream of 100000 characters", {"stream": "7" * 100_000}, QUARANTINED),
    ("version 0", {"version": 0}, QUARANTINED),
    ("version negative", {"version": -1}, QUARANTINED),
    ("version 2^53+1", {"version": 2**53 + 1}, QUARANTINED),
    ("version 2^63-1", {"version": 2**63 - 1}, QUARANTINED),
    ("version 2^63+5", {"version": 2**63 + 5}, QUARANTINED),
    ("version 2^64-1", {"version": 2**64 - 1}, QUARANTINED),
    ("version of wrong type", {"version": "1"}, QUARANTINED),
    ("version boolean", {"version": True}, QUARANTINED),
    ("type unknown", {"type": "Mystery.Happened"}, QUARANTINED),
    ("type empty", {"type": ""}, QUARANTINED),
    ("type of wrong type", {"type": 5}, QUARANTINED),
    ("occurred_on 2^63+5", {"occurred_on": 2**63 + 5}, QUARANTINED),
    ("occurred_on of wrong type", {"occurred_on": "2024-01-01"}, QUARANTINED),
    ("recorded_at negative", {"recorded_at": -1}, QUARANTINED),
    ("recorded_at 2^64-1", {"recorded_at": 2**64 - 1}, QUARANTINED),
    ("recorded_at of wrong type", {"recorded_at": "now"}, QUARANTINED),
    ("authority unknown key", {"authority": "0" * 32}, QUARANTINED),
    ("authority of wrong type", {"authority": 1}, QUARANTINED),
    ("prev of 31 bytes", {"prev": bytes(31)}, QUARANTINED),
    ("prev of wrong type", {"prev": "0" * 64}, QUARANTINED),
    ("prev not genesis at version 1", {"prev": b"\x01" * 32}, QUARANTINED),
    ("body a list", {"body": ["Gent", "burglary"]}, QUARANTINED),
    ("body a string", {"body": "Gent"}, QUARANTINED),
    ("body empty", {"body": {}}, QUARANTINED),
    ("body field of wrong type", {"body": {"place": 5, "circumstances": "burglary"}}, QUARANTINED),
    ("body field None", {"body": {"place": None, "circumstances": "burglary"}}, QUARANTINED),
    ("body field of 200000 characters", {"body": {"place": "G" * 200_000, "circumstances": ""}}, QUARANTINED),
    ("body with an unknown field", {"body": {"place": "Gent", "circumstances": "", "extra": 1}}, QUARANTINED),
    ("body nested 100 deep", {"body": {"place": "Gent", "circumstances": nested(100)}}, QUARANTINED),
    # an export to NL (customs)
    ("valid export (control)", export(), ACCEPTED),
    ("export year 2^63+5", export(year=2**63 + 5), QUARANTINED),
    ("export year of wrong type", export(year="2020"), QUARANTINED),
    ("export transit states a string", export(transit_states="DE"), QUARANTINED),
    ("export to_state of wrong type", export(to_state=7), QUARANTINED),
    ("export signed by police", {**export(), "by": "police"}, QUARANTINED),
    ("export shipment not a UUID", export(shipment="not-a-uuid"), QUARANTINED),
    ("export marking without serial", export(marking={"manufacturer": "ACME", "country": "BE"}), QUARANTINED),
    # a trace request, whose reactions run on the receiver
    ("trace request on a stream not a UUID", {**trace(), "stream": "not-a-uuid"}, QUARANTINED),
    ("trace request hop negative", trace(hop=-1), QUARANTINED),
    ("trace request hop 2^63+5", trace(hop=2**63 + 5), QUARANTINED),
    ("trace request hop of wrong type", trace(hop="1"), QUARANTINED),
    ("trace request marking a string", trace(marking="ACME|BE|T1"), QUARANTINED),
    ("trace request addressee of wrong type", trace(addressee=5), QUARANTINED),
    ("trace request weapon_id not a UUID", trace(weapon_id="not-a-uuid"), QUARANTINED),
    ("trace request marking country unknown", trace(marking={"manufacturer": "A", "country": "QQ",
                                                             "serial": "1"}), QUARANTINED),
    ("trace request priority unknown", trace(priority="whenever"), QUARANTINED),
    ("trace request requesting state not the sender", trace(requesting_state="FR"), QUARANTINED),
    ("trace request parent not a UUID", trace(parent="garbage", hop=2), QUARANTINED),
    ("trace request missing a field", {"type": "TraceRequest.Submitted",
                                       "body": {k: v for k, v in trace_body().items() if k != "legal_basis"}},
     QUARANTINED),
]


def _message(**fields: Any) -> bytes:
    return canonical_encode(fields)


# (id, fields of a checkpoint signed by the partner's node key, previous size sent, expected):
# every one is refused (quarantined or an alarm); the partner's later records are still accepted.
CHECKPOINTS: list[tuple[str, dict[str, Any], int | None, str]] = [
    ("checkpoint size 2^63+5", {"size": 2**63 + 5}, None, QUARANTINED),
    ("checkpoint size 2^64-1", {"size": 2**64 - 1}, None, QUARANTINED),
    ("checkpoint size 2^53+1", {"size": 2**53 + 1}, None, QUARANTINED),
    ("checkpoint size negative", {"size": -1}, None, QUARANTINED),
    ("checkpoint root of 31 bytes", {"root": bytes(31)}, None, QUARANTINED),
    ("checkpoint origin empty", {"origin": ""}, None, QUARANTINED),
    ("checkpoint origin of another state", {"origin": "NL"}, None, QUARANTINED),
    ("checkpoint signer of wrong type", {"signer": 5}, None, QUARANTINED),
]


# (id, Kafka key, value, expected)
WIRE: list[tuple[str, bytes, bytes, str]] = [
    ("empty message", b"BE", b"", QUARANTINED),
    ("not msgpack", b"BE", b"\xc1\xc1", QUARANTINED),
    ("msgpack integer", b"BE", canonical_encode(5), QUARANTINED),
    ("msgpack list", b"BE", canonical_encode(["record", "BE"]), QUARANTINED),
    ("map without kind", b"BE", _message(v=1, origin="BE"), QUARANTINED),
    ("unknown kind", b"BE", _message(v=1, kind="bogus", origin="BE"), QUARANTINED),
    ("kind of wrong type", b"BE", _message(v=1, kind=7, origin="BE"), QUARANTINED),
    ("unknown wire version", b"BE", _message(v=2, kind="record", origin="BE"), QUARANTINED),
    ("record missing fields", b"BE", _message(v=1, kind="record", origin="BE"), QUARANTINED),
    ("record with a bad proof element", b"BE", _message(v=1, kind="record", origin="BE", envelope=b"x",
                                                         checkpoint_size=1, index=0, proof=[b"short"]), QUARANTINED),
    ("record index 2^64-1", b"BE", _message(v=1, kind="record", origin="BE", envelope=b"x",
                                             checkpoint_size=2**64 - 1, index=2**64 - 1, proof=[]), QUARANTINED),
    ("checkpoint of garbage", b"BE", _message(v=1, kind="checkpoint", origin="BE", checkpoint=b"\x00" * 40,
                                               previous_size=0, consistency=[]), QUARANTINED),
    ("cosignature of garbage", b"BE", _message(v=1, kind="cosignature", origin="BE", checkpoint=b"x",
                                                witness_key="k", sig=b"s"), QUARANTINED),
    ("gossip of garbage", b"BE", _message(v=1, kind="gossip", origin="BE", checkpoint=b"\x00" * 40), QUARANTINED),
    ("witness request with a short nonce", b"BE", _message(v=1, kind="witness-request", origin="BE",
                                                             nonce=b"n"), QUARANTINED),
    ("witness reply of garbage", b"BE", _message(v=1, kind="witness-reply", origin="BE", nonce=b"n" * 16,
                                                  checkpoint=b"x", witness_key="k", sig=b"s"), QUARANTINED),
    ("message of 2 MiB of zeros", b"BE", bytes(2 * MIB), OVERSIZED),
    ("message of 1 MiB + 1 of msgpack", b"BE", canonical_encode(b"\x07" * MIB), OVERSIZED),
]


# (id, table, SQL with {events} {inbox} {w} {w_hex} {pos} placeholders, command, expected exit code)
# ``w`` is a weapon of the node with three records (manufactured, marked, reported lost);
# ``pos`` is the position of its second record.
VERIFY, HISTORY, REPORT = ("verify",), ("history", "{w}"), ("record", "report-stolen", "--weapon", "{w}")
STORED: list[tuple[str, str, str, tuple[str, ...], int]] = [
    ("record state NULL", "stored_events", "UPDATE {events} SET state = NULL WHERE rowid = {pos}", VERIFY, 1),
    ("record state NULL, history", "stored_events", "UPDATE {events} SET state = NULL WHERE rowid = {pos}",
     HISTORY, 1),
    ("record state garbage", "stored_events", "UPDATE {events} SET state = X'C1C1' WHERE rowid = {pos}", VERIFY, 1),
    ("record state garbage, history", "stored_events", "UPDATE {events} SET state = X'C1C1' WHERE rowid = {pos}",
     HISTORY, 1),
    ("record originator id not a UUID", "stored_events",
     "UPDATE {events} SET originator_id = 'not-a-uuid' WHERE rowid = {pos}", VERIFY, 1),
    ("record topic altered", "stored_events", "UPDATE {events} SET topic = 'Weapon.Destroyed' WHERE rowid = {pos}",
     VERIFY, 1),
    ("record version 2^62", "stored_events", "UPDATE {events} SET originator_version = 4611686018427387904 "
     "WHERE rowid = {pos}", VERIFY, 1),
    ("middle record deleted", "stored_events", "DELETE FROM {events} WHERE rowid = {pos}", VERIFY, 1),
    ("middle record deleted, history", "stored_events", "DELETE FROM {events} WHERE rowid = {pos}", HISTORY, 1),
    ("middle record deleted, next record", "stored_events", "DELETE FROM {events} WHERE rowid = {pos}", REPORT, 1),
    ("checkpoint bytes garbage", "armsledger_checkpoints", "UPDATE armsledger_checkpoints SET bytes = X'00'",
     VERIFY, 1),
    ("checkpoint size column changed", "armsledger_checkpoints", "UPDATE armsledger_checkpoints SET size = size + 1",
     VERIFY, 1),
    ("leaf hash altered", "armsledger_leaves", "UPDATE armsledger_leaves SET envelope_hash = X'"
     + "00" * 32 + "' WHERE position = {pos}", VERIFY, 1),
    ("leaf deleted", "armsledger_leaves", "DELETE FROM armsledger_leaves WHERE position = {pos}", VERIFY, 1),
    ("view weapon status altered", "view_weapons", "UPDATE view_weapons SET status = 'destroyed'", VERIFY, 1),
    ("view event envelope garbage", "view_events", "UPDATE view_events SET envelope = X'C1'", VERIFY, 1),
    ("view shipment inserted", "view_shipments", "INSERT INTO view_shipments (shipment_id, exported_on) "
     "VALUES ('forged', 1)", VERIFY, 1),
    ("view shipment weapon inserted", "view_shipment_weapons", "INSERT INTO view_shipment_weapons "
     "(shipment_id, weapon_id) VALUES ('forged', '{w}')", VERIFY, 1),
    ("views tracking past the log", "views_tracking", "UPDATE views_tracking SET notification_id = 1000000 "
     "WHERE application_name = 'armsledger'", VERIFY, 1),
    ("received record state garbage", "inbox_events", "UPDATE {inbox} SET state = X'C1' WHERE rowid = "
     "(SELECT MAX(rowid) FROM {inbox} WHERE topic NOT LIKE 'armsledger.%')", VERIFY, 1),
    ("received record state NULL", "inbox_events", "UPDATE {inbox} SET state = NULL WHERE rowid = "
     "(SELECT MAX(rowid) FROM {inbox} WHERE topic NOT LIKE 'armsledger.%')", VERIFY, 1),
    ("received record originator id not a UUID", "inbox_events", "UPDATE {inbox} SET originator_id = 'x' "
     "WHERE rowid = (SELECT MAX(rowid) FROM {inbox} WHERE topic NOT LIKE 'armsledger.%')",
     VERIFY, 1),
]

# (id, damage (see test_hostile_corpus.damage_file), command, allowed exit codes)
REFUSED_OR_DAMAGED = (1, 2)
FILES: list[tuple[str, str, tuple[str, ...], tuple[int, ...]]] = [
    ("node.json not JSON, verify", "node.json:garbage", VERIFY, REFUSED_OR_DAMAGED),
    ("node.json not JSON, record", "node.json:garbage", REPORT, REFUSED_OR_DAMAGED),
    ("node.json empty", "node.json:empty", REPORT, REFUSED_OR_DAMAGED),
    ("node.json a list", "node.json:list", REPORT, REFUSED_OR_DAMAGED),
    ("node.json without authorities", "node.json:-authorities", REPORT, REFUSED_OR_DAMAGED),
    ("node.json without authorities, verify", "node.json:-authorities", VERIFY, REFUSED_OR_DAMAGED),
    ("node.json authority id bad hex", "node.json:authorities.police=zz", REPORT, REFUSED_OR_DAMAGED),
    ("node.json public key bad hex", "node.json:node_public_key=zz", VERIFY, REFUSED_OR_DAMAGED),
    ("node.json node key replaced", "node.json:node_public_key=other", REPORT, REFUSED_OR_DAMAGED),
    ("node.json node key id replaced", "node.json:node_key_id=other", REPORT, REFUSED_OR_DAMAGED),
    ("node.json state changed", "node.json:state=FR", REPORT, REFUSED_OR_DAMAGED),
    ("node.json state not a state", "node.json:state=ZZZ", REPORT, REFUSED_OR_DAMAGED),
    ("node.json a directory", "node.json:directory", REPORT, REFUSED_OR_DAMAGED),
    ("police key file garbage", "keys/police.key:garbage", REPORT, REFUSED_OR_DAMAGED),
    ("police key file empty", "keys/police.key:empty", REPORT, REFUSED_OR_DAMAGED),
    ("police key file deleted", "keys/police.key:delete", REPORT, REFUSED_OR_DAMAGED),
    ("police key file replaced by another key", "keys/police.key:copy=licensing", REPORT, REFUSED_OR_DAMAGED),
    ("node key file deleted", "keys/node.key:delete", REPORT, REFUSED_OR_DAMAGED),
    ("node key file replaced by another key", "keys/node.key:copy=police", REPORT, REFUSED_OR_DAMAGED),
]

# (id, argv after --home/--db ({w}: a weapon of the node), exit code, text the message must hold)
BIG = "100000000000000000000"
LICENCE = ("licence", "issue", "--number", "L-9", "--kind", "transfer_licence", "--holder", "Dealer",
           "--valid-from", "2024-01-01", "--valid-until", "2024-12-31")
MANUFACTURE = ("record", "manufacture", "--manufacturer", "Acme", "--country", "BE", "--type", "pistol",
               "--calibre", "9mm", "--holder", "Acme")
# Global option naming a broker that is not there: options are checked before it is called.
NO_BROKER = ("--kafka", "127.0.0.1:9")
CLI_LIMITS: list[tuple[str, tuple[str, ...], int, str]] = [
    ("licence quantity 10^23", (*LICENCE, "--quantity", "99999999999999999999999"), 2, "quantity"),
    ("licence quantity 2^53+1", (*LICENCE, "--quantity", str(2**53 + 1)), 2, "quantity"),
    ("licence quantity negative", (*LICENCE, "--quantity", "-1"), 2, "quantity"),
    ("licence quantity not a number", (*LICENCE, "--quantity", "many"), 2, "quantity"),
    ("licence quantity 1", (*LICENCE, "--quantity", "1"), 0, ""),
    ("licence valid until year 10000", (*LICENCE[:-1], "10000-01-01"), 2, "valid"),
    ("shipments overdue days 10^20", ("shipments", "--overdue-days", BIG), 2, "overdue"),
    ("shipments overdue days negative", ("shipments", "--overdue-days", "-1"), 2, "overdue"),
    ("shipments overdue days 0", ("shipments", "--overdue-days", "0"), 0, ""),
    ("manufacture year 10^20", (*MANUFACTURE, "--serial", "Y1", "--year", BIG), 2, "year"),
    ("manufacture year negative", (*MANUFACTURE, "--serial", "Y2", "--year", "-5"), 2, "year"),
    ("manufacture year 2020", (*MANUFACTURE, "--serial", "Y3", "--year", "2020"), 0, ""),
    ("manufacture serial empty", (*MANUFACTURE, "--serial", "", "--year", "2020"), 2, "serial"),
    ("manufacture date year 10^20", (*MANUFACTURE, "--serial", "Y4", "--year", "2020", "--date",
                                     BIG + "-01-01"), 2, "date"),
    ("manufacture date garbage", (*MANUFACTURE, "--serial", "Y5", "--year", "2020", "--date", "yesterday-ish"),
     2, "date"),
    ("manufacture country unknown", ("record", "manufacture", "--manufacturer", "Acme", "--country", "QQ",
                                     "--serial", "Y6", "--type", "pistol", "--calibre", "9mm", "--holder", "Acme",
                                     "--year", "2020"), 2, "country"),
    ("history of a non-UUID", ("history", "not-a-uuid"), 2, "weapon"),
    ("history of an unknown weapon", ("history", str(uuid.UUID(int=1))), 2, "weapon"),
    ("search empty pattern", ("search", "--serial", ""), 2, "serial"),
    ("report lost of a non-UUID", ("record", "report-lost", "--weapon", "x"), 2, "weapon"),
    ("manufacture serial of 64 characters", (*MANUFACTURE, "--serial", "S" * 64, "--year", "2020"), 0, ""),
    ("manufacture serial of 65 characters", (*MANUFACTURE, "--serial", "S" * 65, "--year", "2020"), 2, "serial"),
    ("manufacture year 1", (*MANUFACTURE, "--serial", "Y7", "--year", "1"), 2, "year"),
    ("seize place of 200 characters", ("record", "seize", "--weapon", "{w}", "--place", "P" * 200), 0, ""),
    ("seize place of 201 characters", ("record", "seize", "--weapon", "{w}", "--place", "P" * 201), 2, "place"),
    ("seize place of 100000 characters", ("record", "seize", "--weapon", "{w}", "--place", "P" * 100_000), 2,
     "place"),
    ("seize dated 1900 (before the epoch)", ("record", "seize", "--weapon", "{w}", "--date", "1900-01-01"), 0, ""),
    ("seize dated in the future", ("record", "seize", "--weapon", "{w}", "--date", "2999-01-01"), 2, "date"),
    ("transfer under a licence never issued", ("record", "transfer", "--weapon", "{w}", "--to", "X", "--licence",
                                               "NOPE"), 2, "licence"),
    ("licence ending before it starts", (*LICENCE[:-3], "2025-01-01", "--valid-until", "2024-01-01"), 2,
     "valid-until"),
    ("licence kind unknown", ("licence", "issue", "--number", "L-8", "--kind", "bogus", "--holder", "H",
                              "--valid-from", "2024-01-01", "--valid-until", "2024-12-31"), 2, "kind"),
    ("mark empty", ("record", "mark", "--weapon", "{w}", "--mark", "", "--reason", "r"), 2, "mark"),
    ("history by a marking of an unknown country", ("history", "--manufacturer", "Acme", "--country", "QQ",
                                                    "--serial", "C-1"), 2, "country"),
    ("trace request to an unknown country", ("trace", "request", "--weapon", "{w}", "--circumstances", "c",
                                             "--legal-basis", "l", "--intended-use", "u", "--to", "QQ"), 2, "--to"),
    ("trace request to an untrusted state", ("trace", "request", "--weapon", "{w}", "--circumstances", "c",
                                             "--legal-basis", "l", "--intended-use", "u", "--to", "FR"), 2, "--to"),
    ("trace delay of a non-UUID", ("trace", "delay", "--ground", "x", "--explanation", "e", "--until",
                                   "2030-01-01", "not-a-uuid"), 2, "trace"),
    ("sync timeout negative", (*NO_BROKER, "sync", "--timeout", "-1"), 2, "timeout"),
]

# (id, --home value ({file}: a plain file), exit code); the message names the path given
HOMES: list[tuple[str, str, int]] = [
    ("home is a file", "{file}", 2),
    ("home is /proc/self", "/proc/self", 2),
    ("home under /sys", "/sys/x", 2),
    ("home under a file", "{file}/sub", 2),
]


# --- operator cases: numeric options that are no finite number in range, a write over a NULL row ---
# Same shapes as CLI_LIMITS and STORED; kept apart so the partner-record section merges cleanly.

OPERATOR_CLI: list[tuple[str, tuple[str, ...], int, str]] = [
    *((f"sync timeout {value}", (*NO_BROKER, "sync", "--timeout", value), 2, "--timeout")
      for value in ("nan", "inf", "-inf", "1e309", "0", "86401")),
    ("sync timeout 1e-9", (*NO_BROKER, "sync", "--timeout", "1e-9"), 2, "--timeout"),
    ("licence quantity nan", (*LICENCE, "--quantity", "nan"), 2, "--quantity"),
    ("licence quantity 1.5", (*LICENCE, "--quantity", "1.5"), 2, "--quantity"),
    ("shipments overdue days inf", ("shipments", "--overdue-days", "inf"), 2, "--overdue-days"),
    ("quarantine limit nan", ("quarantine", "--limit", "nan"), 2, "--limit"),
    ("quarantine limit 10^20", ("quarantine", "--limit", BIG), 2, "--limit"),
    ("quarantine after 2^63", ("quarantine", "--after", str(2**63)), 2, "--after"),
    ("quarantine after 1e309", ("quarantine", "--after", "1e309"), 2, "--after"),
    ("broker port 0", ("broker", "run", "--port", "0"), 2, "--port"),
    ("broker port 65536", ("broker", "run", "--port", "65536"), 2, "--port"),
    ("manufacture year nan", (*MANUFACTURE, "--serial", "Y8", "--year", "nan"), 2, "--year"),
]

OPERATOR_STORED: list[tuple[str, str, str, tuple[str, ...], int]] = [
    ("record state NULL, next record", "stored_events", "UPDATE {events} SET state = NULL WHERE rowid = {pos}",
     REPORT, 1),
    ("record state NULL, mark", "stored_events", "UPDATE {events} SET state = NULL WHERE rowid = {pos}",
     ("record", "mark", "--weapon", "{w}", "--mark", "M9", "--reason", "r"), 1),
]
