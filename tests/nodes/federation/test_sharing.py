"""The sharing policy (DESIGN.md "Default sharing policy", FP art 12(5)): who receives which record."""

from __future__ import annotations

import json
import uuid

import pytest

from ledger.envelope import GENESIS_PREV, Envelope
from nodes.errors import ConfigurationError
from nodes.federation.sharing import ALL, SharingContext, SharingFile, SharingRules, recipients, recipients_by_type

PARTNERS = frozenset({"NL", "DE", "FR", "US"})
STREAM = str(uuid.uuid4())


def record(record_type: str, version: int = 1, stream: str = STREAM, **body) -> Envelope:
    return Envelope(node="BE", stream=stream, version=version, type=record_type, occurred_on=1, recorded_at=1,
                    authority="k", prev=GENESIS_PREV, body=body, sig=b"")


def context(own: list[Envelope] = (), rules: SharingRules | None = None, partners=PARTNERS) -> SharingContext:
    return SharingContext(own_state="BE", partners=frozenset(partners),
                          own_records=lambda stream: [e for e in own if e.stream == stream],
                          rules=rules or SharingRules())


CASES = [
    (record("Authority.Certified", key_id="k", public_key=b"", kind="customs", name=""), PARTNERS),
    (record("Weapon.Exported", to_state="NL", transit_states=("DE",), from_state="BE"), {"NL", "DE"}),
    (record("Weapon.ReceiptConfirmed", from_state="FR", shipment="s", received_by=""), {"FR"}),
    (record("Shipment.Opened", import_state="US", transit_states=("FR",)), {"US", "FR"}),
    (record("Licence.Issued", kind="import_authorization", export_state="DE", import_state="BE"), {"DE"}),
    (record("Licence.Issued", kind="transit_no_objection", export_state="FR", import_state="NL"), {"FR"}),
    (record("Licence.Issued", kind="export_licence", export_state="BE", import_state="NL"), set()),
    (record("Licence.Issued", kind="transfer_licence", export_state="", import_state=""), set()),
    (record("TraceRequest.Submitted", addressee="NL", requesting_state="BE"), {"NL"}),
    (record("TraceAnswer.Acknowledged", requesting_state="DE", answering_state="BE"), {"DE"}),
    (record("Weapon.ReportedStolen", place="Gent", circumstances=""), PARTNERS),
    (record("Weapon.ReportedLost", place="Gent", circumstances=""), PARTNERS),
    (record("Weapon.Manufactured", marking={"country": "BE"}, holder="Jan Peeters"), set()),
    (record("Weapon.Transferred", from_holder="A", to_holder="Jan Peeters", licence="TL"), set()),
    (record("Weapon.Destroyed", method="", certificate=""), set()),
]


@pytest.mark.parametrize("envelope, expected", CASES)
def test_default_recipients(envelope, expected):
    assert recipients(envelope, context()) == frozenset(expected)


@pytest.mark.parametrize("envelope, expected", CASES)
def test_routing_by_type_alone_agrees_with_reading_the_record(envelope, expected):
    rules = SharingRules.parse({"share": {"Weapon.Destroyed": ["FR"]}})
    by_type = recipients_by_type(envelope.type, context(rules=rules))
    assert by_type is None or by_type == recipients(envelope, context(rules=rules))
    if envelope.type in ("Weapon.Exported", "Licence.Issued", "Weapon.Seized"):
        assert by_type is None


def test_only_trusted_partners_ever_receive_and_never_ourselves():
    export = record("Weapon.Exported", to_state="CN", transit_states=("BE", "NL"))
    assert recipients(export, context()) == {"NL"}
    assert recipients(record("Weapon.ReportedStolen"), context(partners=())) == frozenset()


def test_later_trace_steps_go_where_the_first_step_went():
    trace = str(uuid.uuid4())
    submitted = record("TraceRequest.Submitted", stream=trace, addressee="FR")
    closed = record("TraceRequest.Closed", 2, stream=trace, outcome="traced")
    assert recipients(closed, context([submitted, closed])) == {"FR"}
    acknowledged = record("TraceAnswer.Acknowledged", stream=trace, requesting_state="US", answering_state="BE")
    responded = record("TraceAnswer.Responded", 2, stream=trace, weapon_id="w", fragment=(), exported_to=())
    assert recipients(responded, context([acknowledged, responded])) == {"US"}


def test_a_revoked_authorization_goes_to_the_exporting_state_it_named():
    issued = record("Licence.Issued", kind="import_authorization", export_state="DE", import_state="BE")
    revoked = record("Licence.Revoked", 2, reason="fraud")
    assert recipients(revoked, context([issued, revoked])) == {"DE"}


def test_a_seizure_goes_to_the_state_of_manufacture_and_the_last_exporter():
    made = record("Weapon.Manufactured", marking={"manufacturer": "M", "country": "FR", "serial": "1"})
    first_import = record("Weapon.Imported", 2, marking={"country": "FR"}, from_state="DE")
    second_import = record("Weapon.Imported", 3, marking={"country": "FR"}, from_state="NL")
    seized = record("Weapon.Seized", 4, marking={}, state="BE", flags=())
    assert recipients(seized, context([made, first_import, second_import, seized])) == {"FR", "NL"}
    # A weapon first recorded by its seizure: only the marking tells where it was made.
    found = record("Weapon.Seized", stream=str(uuid.uuid4()), marking={"country": "US", "serial": "?"},
                   state="BE", flags=())
    assert recipients(found, context()) == {"US"}
    # Made here, never imported: nobody.
    ours = record("Weapon.Seized", stream=str(uuid.uuid4()), marking={"country": "BE"}, state="BE", flags=())
    assert recipients(ours, context()) == frozenset()


def test_sharing_json_adds_recipients(tmp_path):
    (tmp_path / "sharing.json").write_text(json.dumps(
        {"share": {"Weapon.Manufactured": "all", "Weapon.Destroyed": ["nl", "CN"], "*": ["FR"]}}))
    rules = SharingRules.load(tmp_path)
    assert rules.extra["Weapon.Manufactured"] == ALL
    assert recipients(record("Weapon.Manufactured", marking={}), context(rules=rules)) == PARTNERS
    # CN is no partner: named in the file, still never sent to.
    assert recipients(record("Weapon.Destroyed"), context(rules=rules)) == {"NL", "FR"}
    assert recipients(record("Weapon.Exported", to_state="DE", transit_states=()), context(rules=rules)) == {"DE", "FR"}


def test_a_hit_notice_goes_to_the_reporting_state_whatever_the_file_adds():
    rules = SharingRules.parse({"share": {"*": "all"}})
    notice = record("HitNotice.Sent", reporting_state="NL", recording_state="BE")
    assert recipients(notice, context(rules=rules)) == {"NL"}
    assert recipients_by_type("HitNotice.Sent", context(rules=rules)) is None  # read from the record
    assert recipients(record("HitNotice.Sent", reporting_state="CH"), context(rules=rules)) == set()  # no partner


@pytest.mark.parametrize("document, problem", [
    ({"share": {"Weapon.Melted": "all"}}, "'Weapon.Melted' is not a record type"),
    ({"share": {"Weapon.Destroyed": ["XX"]}}, "'XX' is not an ISO 3166-1"),
    ({"share": {"Weapon.Destroyed": "some"}}, "expected a list of states"),
    ({"withhold": {}}, "expected"),
    ({"share": {"HitNotice.Sent": ["FR"]}}, "goes only to the states the default policy names"),
])
def test_a_bad_sharing_file_is_refused_with_the_entry_named(tmp_path, document, problem):
    (tmp_path / "sharing.json").write_text(json.dumps(document))
    with pytest.raises(ConfigurationError, match=problem):
        SharingRules.load(tmp_path)
    assert SharingRules.load(tmp_path / "nowhere").extra == {}


def test_a_sharing_file_kept_by_a_node_is_read_again_only_when_it_changed(tmp_path):
    kept = SharingFile(tmp_path)
    assert kept.rules().extra == {}  # no file
    (tmp_path / "sharing.json").write_text(json.dumps({"share": {"Weapon.Destroyed": ["NL"]}}))
    first = kept.rules()
    assert first.extra == {"Weapon.Destroyed": frozenset({"NL"})}
    assert kept.rules() is first  # unchanged: not read again
    replacement = tmp_path / "sharing.json.new"
    replacement.write_text(json.dumps({"share": {"Weapon.Destroyed": ["NL", "FR"]}}))
    replacement.replace(tmp_path / "sharing.json")
    assert kept.rules().extra == {"Weapon.Destroyed": frozenset({"NL", "FR"})}
    (tmp_path / "sharing.json").write_text(json.dumps({"share": {"Weapon.Destroyed": "some"}}))
    for _ in range(2):  # a bad file is refused at every read, never kept
        with pytest.raises(ConfigurationError, match="expected a list of states"):
            kept.rules()
    (tmp_path / "sharing.json").unlink()
    assert kept.rules().extra == {}
