"""``domain.disclosure``: what a disclosure request must state, what an answer records, the commitment,
and who may read a released identity."""

from __future__ import annotations

import uuid

import pytest

from domain.authority import AuthorityKind
from domain.disclosure import (
    DisclosureAnswer,
    DisclosureRequest,
    check_disclosure_read,
    identity_commitment,
    new_salt,
)
from domain.errors import InvalidField, NotPermitted
from domain.person import Identity
from domain.roles import Role
from domain.schema import domain_schema

REF = "person:K4V7N2QXJ6MZ3B5TRW2H7YDC4E"
WEAPON = "3f2a91c0-0000-4000-8000-000000000001"
ANNA = Identity.of(name="Anna Verhoeven", date_of_birth="1975-04-12", address="Kerkstraat 3, Gent")


def _request(authorities, now, **changes):
    fields = dict(authority=authorities[AuthorityKind.POLICE], addressee="NL", person=REF, weapon_id=WEAPON,
                  purpose="seized in a raid, case 2024/118", legal_basis="Code of Criminal Procedure art 36",
                  answer_key=b"k" * 32, occurred_on=now)
    return DisclosureRequest.request(**{**fields, **changes})


def test_a_request_names_the_reference_weapon_purpose_basis_and_answer_key(authorities, now):
    request = _request(authorities, now, person=f"  {REF} ")
    (event,) = request.collect_events()
    assert event.TOPIC == "DisclosureRequest.Requested"
    assert (event.requesting_state, event.addressee, event.person, event.weapon_id) == ("BE", "NL", REF, WEAPON)
    assert event.answer_key == b"k" * 32
    body = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version", "timestamp",
                                                             "occurred_on", "authority", "originator_topic")}
    domain_schema().check(stream=str(request.id), type=event.TOPIC, body=body, node="BE")


REFUSED = [
    ("addressee", dict(addressee="BE")),
    ("addressee", dict(addressee="Narnia")),
    ("person", dict(person="Anna Verhoeven")),
    ("weapon", dict(weapon_id="3f2a91c0")),
    ("purpose", dict(purpose="  ")),
    ("legal_basis", dict(legal_basis="")),
    ("legal_basis", dict(legal_basis="x" * 501)),
    ("answer_key", dict(answer_key=b"k" * 31)),
]


@pytest.mark.parametrize(("field", "changes"), REFUSED, ids=[f"{f}-{i}" for i, (f, _) in enumerate(REFUSED)])
def test_a_request_missing_what_it_must_state_is_refused_naming_the_field(authorities, now, field, changes):
    with pytest.raises(InvalidField) as refused:
        _request(authorities, now, **changes)
    assert refused.value.field == field


def test_a_release_commits_to_the_identity_and_a_refusal_says_why(authorities, now):
    request_id = uuid.uuid4()
    salt = new_salt()
    released = DisclosureAnswer.release(request_id=request_id, authority=authorities[AuthorityKind.REGISTRY],
                                        requesting_state="NL", person=REF,
                                        commitment=identity_commitment(salt, ANNA), sealed_identity=b"box",
                                        occurred_on=now)
    assert released.id == request_id and released.released and released.answering_state == "BE"
    refused = DisclosureAnswer.refuse(request_id=request_id, authority=authorities[AuthorityKind.REGISTRY],
                                      requesting_state="NL", person=REF, reason="no such case", occurred_on=now)
    assert not refused.released and refused.reason == "no such case"
    with pytest.raises(InvalidField) as blank:
        DisclosureAnswer.refuse(request_id=request_id, authority=authorities[AuthorityKind.REGISTRY],
                                requesting_state="NL", person=REF, reason=" ", occurred_on=now)
    assert blank.value.field == "reason"


def test_the_commitment_binds_the_identity_and_hides_it_behind_the_salt():
    salt = new_salt()
    assert identity_commitment(salt, ANNA) == identity_commitment(salt, Identity(**ANNA.as_dict()))
    other = Identity.of(name="Anna Verhoeven", date_of_birth="1975-04-13", address="Kerkstraat 3, Gent")
    assert identity_commitment(salt, other) != identity_commitment(salt, ANNA)
    assert identity_commitment(new_salt(), ANNA) != identity_commitment(salt, ANNA)
    with pytest.raises(ValueError, match="16 bytes"):
        identity_commitment(b"short", ANNA)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_who_may_read_a_released_identity(role):
    if role in (Role.REGISTRY, Role.LICENSING, Role.POLICE, Role.TRACING):
        check_disclosure_read(role)
    else:
        with pytest.raises(NotPermitted) as refused:
            check_disclosure_read(role)
        assert refused.value.field == "role"
