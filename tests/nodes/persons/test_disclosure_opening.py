"""``nodes.persons.disclosure.opened_identity``: a signed release is shown only if it opens with the request's key
and holds the identity its signed commitment names. A release sealed to another request or key, with its box
or commitment altered, or holding another identity than the committed one, is refused (``VerificationError``)."""

from __future__ import annotations

import uuid

import msgpack
import pytest

from domain.disclosure import identity_commitment, new_salt
from domain.person import Identity
from ledger.envelope import Envelope
from ledger.errors import VerificationError
from ledger.sealed_box import new_box_key, public_key_of, seal
from nodes.persons.disclosure import opened_identity

REF = "person:K4V7N2QXJ6MZ3B5TRW2H7YDC4E"
ANNA = Identity.of(name="Anna Verhoeven", date_of_birth="1975-04-12", address="Kerkstraat 3, Gent")
EVE = Identity.of(name="Eve Someone", date_of_birth="1980-01-01")
KEY = new_box_key()
REQUEST = str(uuid.uuid4())


def _envelope(type_: str, body: dict, stream: str = REQUEST) -> Envelope:
    return Envelope(node="BE", stream=stream, version=1, type=type_, occurred_on=0, recorded_at=0, authority="k",
                    prev=b"\0" * 32, body=body)


def _request(stream: str = REQUEST) -> Envelope:
    return _envelope("DisclosureRequest.Requested", {"person": REF, "answer_key": public_key_of(KEY)}, stream)


def _release(*, sealed_for: Identity = ANNA, committed: Identity = ANNA, request: str = REQUEST, key: bytes = KEY,
             ref: str = REF) -> Envelope:
    salt = new_salt()
    box = seal(public_key_of(key), msgpack.packb({"identity": sealed_for.as_dict(), "salt": salt}),
               f"armsledger disclosure|{request}|{ref}".encode())
    return _envelope("DisclosureAnswer.Released", {"person": REF, "commitment": identity_commitment(salt, committed),
                                                    "sealed_identity": box})


def test_a_release_opens_with_the_requests_key_and_matches_its_commitment():
    assert opened_identity(_request(), _release(), KEY) == ANNA


def _altered_box(release: Envelope) -> Envelope:
    box = release.body["sealed_identity"]
    return _envelope(release.type, {**release.body, "sealed_identity": box[:-1] + bytes([box[-1] ^ 1])})


REFUSED = [
    ("another identity than committed", lambda: _release(sealed_for=EVE), "another identity"),
    ("commitment altered", lambda: _envelope("DisclosureAnswer.Released",
                                             {**_release().body, "commitment": "0" * 64}), "another identity"),
    ("box altered", lambda: _altered_box(_release()), "does not open"),
    ("sealed for another request", lambda: _release(request=str(uuid.uuid4())), "does not open"),
    ("sealed for another reference", lambda: _release(ref="person:AAAAAAAAAAAAAAAAAAAAAAAAAA"), "does not open"),
    ("sealed to another key", lambda: _release(key=new_box_key()), "does not open"),
    ("no box", lambda: _envelope("DisclosureAnswer.Released", {"person": REF, "commitment": "0" * 64}),
     "does not open"),
]


@pytest.mark.parametrize(("case", "release", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_release_that_does_not_hold_what_was_committed_is_refused(case, release, message):
    with pytest.raises(VerificationError, match=message):
        opened_identity(_request(), release(), KEY)


def test_a_box_holding_no_identity_is_refused():
    salt = new_salt()
    box = seal(public_key_of(KEY), msgpack.packb({"salt": salt}), f"armsledger disclosure|{REQUEST}|{REF}".encode())
    release = _envelope("DisclosureAnswer.Released", {"person": REF, "commitment": "0" * 64, "sealed_identity": box})
    with pytest.raises(VerificationError, match="does not open"):
        opened_identity(_request(), release, KEY)
