"""Licences and authorizations (FP art 7, art 10(2)-(3)): issue, validity, coverage."""

from __future__ import annotations

import pytest

from domain.authority import AuthorityKind
from domain.errors import InvalidField, InvalidState, LicenceRefused, NotPermitted
from domain.licence import Licence, LicenceKind, licence_id
from domain.time import SECONDS_PER_DAY as DAY


def test_issue_records_every_field(make_licence, now):
    licence = make_licence(number="EL-7", transit_states=("de",), consignee="Dealer NL", end_user="Police NL",
                           quantity=3, weapons=("w1", "w2"))
    (event,) = licence.collect_events()
    assert event.TOPIC == "Licence.Issued"
    assert (licence.kind, licence.issuer_state, licence.export_state, licence.import_state) == (
        LicenceKind.EXPORT_LICENCE, "BE", "BE", "NL")
    assert licence.transit_states == ("DE",) and licence.weapons == ("w1", "w2") and licence.quantity == 3
    assert licence.id == licence_id("BE", LicenceKind.EXPORT_LICENCE, "EL-7")


def test_licence_id_is_derived_from_state_kind_and_normalised_number():
    assert licence_id("BE", "export_licence", "el-7/2024") == licence_id("BE", LicenceKind.EXPORT_LICENCE, "EL 7 2024")
    assert licence_id("BE", "export_licence", "EL-7") != licence_id("NL", "export_licence", "EL-7")
    assert licence_id("BE", "export_licence", "EL-7") != licence_id("BE", "transfer_licence", "EL-7")
    assert licence_id("BE", "export_licence", "EL-7") != licence_id("BE", "export_licence", "EL-8")


@pytest.mark.parametrize(
    ("override", "error", "field"),
    [
        ({"valid_until": 0}, InvalidField, "valid_until"),
        ({"quantity": -1}, InvalidField, "quantity"),
        ({"kind": "gun_licence"}, InvalidField, "kind"),
        ({"number": " "}, InvalidField, "number"),
        ({"holder": ""}, InvalidField, "holder"),
        ({"import_state": ""}, InvalidField, "import_state"),
        ({"export_state": "XX"}, InvalidField, "export_state"),
        ({"transit_states": ("DE", "ZZ")}, InvalidField, "transit_states"),
    ],
)
def test_issue_refused(override, error, field, make_licence):
    with pytest.raises(error) as info:
        make_licence(**override)
    assert info.value.field == field


def test_route_is_required_of_an_import_authorization_and_a_transit_no_objection(make_licence):
    for kind in (LicenceKind.IMPORT_AUTHORIZATION, LicenceKind.TRANSIT_NO_OBJECTION):
        with pytest.raises(InvalidField) as info:
            make_licence(kind, import_state="")
        assert info.value.field == "import_state"
    # A transfer licence has no route.
    assert make_licence(LicenceKind.TRANSFER_LICENCE).import_state == ""


def test_only_a_licensing_authority_issues_and_revokes(authorities, make_licence, now):
    with pytest.raises(NotPermitted) as info:
        Licence.issue(authority=authorities[AuthorityKind.CUSTOMS], number="X", kind="transfer_licence",
                      holder="Jan", valid_from=now, valid_until=now, occurred_on=now)
    assert info.value.field == "authority"
    licence = make_licence()
    with pytest.raises(NotPermitted) as info:
        licence.revoke(authority=authorities[AuthorityKind.POLICE], reason="x", occurred_on=now)
    assert info.value.field == "authority"


def test_validity_window_is_inclusive(make_licence, now):
    licence = make_licence(valid_from=now - DAY, valid_until=now)
    licence.check_valid_on(now - DAY)
    licence.check_valid_on(now)
    for moment in (now - DAY - 1, now + 1):
        with pytest.raises(LicenceRefused) as info:
            licence.check_valid_on(moment)
        assert info.value.field == "licence"


def test_revocation_ends_validity_from_its_date(make_licence, authorities, now):
    licence = make_licence()
    licence.revoke(authority=authorities[AuthorityKind.LICENSING], reason="end user changed", occurred_on=now - DAY)
    licence.check_valid_on(now - DAY - 1)  # what was done before the revocation stays lawful
    with pytest.raises(LicenceRefused) as info:
        licence.check_valid_on(now - DAY)
    assert info.value.field == "licence" and "revoked" in str(info.value)


def test_a_licence_is_revoked_once(make_licence, authorities, now):
    licence = make_licence()
    licence.revoke(authority=authorities[AuthorityKind.LICENSING], reason="r", occurred_on=now)
    with pytest.raises(InvalidState) as info:
        licence.revoke(authority=authorities[AuthorityKind.LICENSING], reason="r", occurred_on=now)
    assert info.value.field == "licence"


def test_revocation_needs_a_reason(make_licence, authorities, now):
    with pytest.raises(InvalidField) as info:
        make_licence().revoke(authority=authorities[AuthorityKind.LICENSING], reason=" ", occurred_on=now)
    assert info.value.field == "reason"


def test_export_coverage(make_licence, now):
    licence = make_licence(holder="FN Herstal")
    licence.check_covers_export("w1", "fn-herstal", "NL", now)  # holder compared normalised
    with pytest.raises(LicenceRefused) as info:
        licence.check_covers_export("w1", "FN Herstal", "DE", now)
    assert info.value.field == "to"
    listed = make_licence(weapons=("w1",))
    listed.check_covers_export("w1", "anyone", "NL", now)
    with pytest.raises(LicenceRefused) as info:
        listed.check_covers_export("w2", "FN Herstal", "NL", now)
    assert info.value.field == "licence"


def test_a_transfer_licence_is_not_an_export_licence_and_vice_versa(make_licence, now):
    with pytest.raises(LicenceRefused) as info:
        make_licence(LicenceKind.TRANSFER_LICENCE).check_covers_export("w1", "FN Herstal", "NL", now)
    assert info.value.field == "licence"
    with pytest.raises(LicenceRefused) as info:
        make_licence(holder="Jan").check_allows_holding("Jan", now)
    assert info.value.field == "licence"
