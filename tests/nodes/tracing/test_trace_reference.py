"""A trace request signed before requests carried a reference entry still reads back as an aggregate (with
none), so it can be forwarded and closed; a new one keeps the entry it was given."""

from __future__ import annotations

import uuid

from domain.trace import TraceRequest
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.registry.mapper import domain_event_from

KEY = generate_key()
OLD_BODY = {"requesting_state": "FR", "addressee": "BE", "weapon_id": str(uuid.uuid4()),
            "marking": {"manufacturer": "Glock", "country": "AT", "serial": "OLD-1"}, "type": "pistol",
            "calibre": "9mm", "circumstances": "found", "legal_basis": "CPP", "intended_use": "prosecution",
            "priority": "routine", "parent": "", "hop": 1, "officer": ""}


def request_of(body: dict) -> TraceRequest:
    envelope = seal(KEY, node="FR", stream=str(uuid.uuid4()), version=1, type="TraceRequest.Submitted",
                    occurred_on=1_700_000_000, recorded_at=1_700_000_000_000_000, authority=key_id(KEY),
                    prev=GENESIS_PREV, body=body)
    request = domain_event_from(envelope).mutate(None)
    assert isinstance(request, TraceRequest)
    return request


def test_an_older_request_reads_back_without_an_entry_and_a_new_one_with_its_entry():
    old = request_of(OLD_BODY)
    assert old.reference == {} and old.calibre == "9mm" and old.hop == 1
    carried = {"id": "ST-0001", "make": "Glock", "model": "17", "type": "pistol", "calibre": "9x19mm"}
    assert request_of({**OLD_BODY, "reference": carried}).reference == carried
