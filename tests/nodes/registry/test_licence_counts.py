"""Which shipment counts against which licence (``counts_against``): a table of shipments that must
and must not count, for each kind a shipment names."""

from __future__ import annotations

import time
import uuid

import pytest

from domain.authority import Authority, AuthorityKind
from domain.event_types import SHIPMENT_OPENED
from domain.licence import Licence, LicenceKind
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.registry.licence_use import counts_against

NOW = int(time.time()) - 60
KEY = generate_key()


def licence(kind: LicenceKind, issuer: str, number: str, **fields) -> Licence:
    authority = Authority(key_id=f"{issuer}-licensing", kind=AuthorityKind.LICENSING, state=issuer)
    return Licence.issue(authority=authority, number=number, kind=kind, holder="Dealer", valid_from=NOW - 99,
                         valid_until=NOW + 99, occurred_on=NOW - 99, export_state="BE", import_state="NL", **fields)


def opened(node: str = "BE", **body):
    fields = dict(export_licence="EL-1", import_authorization="IA-1", transit_no_objections=("DE-1",),
                  export_state=node, import_state="NL", transit_states=("DE",), consignee="", weapons=("w",))
    return seal(KEY, node=node, stream=str(uuid.uuid4()), version=1, type=SHIPMENT_OPENED, occurred_on=NOW,
                recorded_at=NOW * 1_000_000, authority=key_id(KEY), prev=GENESIS_PREV, body={**fields, **body})


EXPORT = licence(LicenceKind.EXPORT_LICENCE, "BE", "el-1")
IMPORT = licence(LicenceKind.IMPORT_AUTHORIZATION, "NL", "IA 1")
TRANSIT = licence(LicenceKind.TRANSIT_NO_OBJECTION, "DE", "DE-1", transit_states=("DE",))
HOLDING = licence(LicenceKind.TRANSFER_LICENCE, "BE", "EL-1")


@pytest.mark.parametrize(("held", "shipment", "counts"), [
    (EXPORT, opened(), True),                                    # the number as typed, normalised
    (EXPORT, opened(export_licence="EL-2"), False),
    (EXPORT, opened(node="FR"), False),                          # another state's licence of that number
    (IMPORT, opened(), True),
    (IMPORT, opened(import_state="LU"), False),                  # the number of another state's authorization
    (IMPORT, opened(import_authorization="IA-2"), False),
    (TRANSIT, opened(), True),
    (TRANSIT, opened(transit_states=("AT", "DE"), transit_no_objections=("DE-1", "AT-1")), False),  # out of order
    (TRANSIT, opened(transit_states=("AT", "DE"), transit_no_objections=("AT-1", "DE-1")), True),
    (TRANSIT, opened(transit_states=("DE",), transit_no_objections=()), False),  # paper: no number given
    (HOLDING, opened(), False),                                  # a licence to hold ships nothing
], ids=["export", "export-other-number", "export-other-state", "import", "import-other-state", "import-other-number",
        "transit", "transit-wrong-position", "transit-second", "transit-no-number", "holding"])
def test_counts_against(held, shipment, counts):
    assert counts_against(shipment, held) is counts
