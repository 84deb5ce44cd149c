"""One register row to domain values, without a database: nodes.migration.row_rules and signer_pool."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.authority import Authority, AuthorityKind
from domain.marking import Marking
from ledger.envelope import Envelope, verify_chain, verify_envelope
from nodes.migration.report import RowError
from nodes.migration.row_rules import RowRefused, weapon_of
from nodes.migration.signer_pool import RowSigner, SignedRow, signed_batches

REGISTRY = Authority(key_id="registry-key", kind=AuthorityKind.REGISTRY, state="BE")
LICENSING = Authority(key_id="licensing-key", kind=AuthorityKind.LICENSING, state="BE")
AUTHORITIES = {AuthorityKind.REGISTRY: REGISTRY, AuthorityKind.LICENSING: LICENSING}


def a_row(serial: str, **changes: str) -> dict[str, str]:
    row = {"manufacturer": "FN Herstal", "country": "BE", "serial": serial, "type": "pistol", "make": "FN",
           "model": "GP35", "calibre": "9x19mm", "year": "1965", "manufactured_on": "1965-04-12",
           "first_holder": "FN Herstal"}
    return {**row, **changes}


TRANSFER = {"current_holder": "Police de Liège", "transferred_on": "1971-09-30", "transfer_licence": "LG/1971/0042"}


def test_a_row_with_a_current_holder_is_a_manufacture_and_a_migrated_transfer_by_the_registry():
    weapon = weapon_of(a_row("12-34567", **TRANSFER), state="BE", authorities=AUTHORITIES)

    events = weapon.collect_events()
    assert [type(e).TOPIC for e in events] == ["Weapon.Manufactured", "Weapon.Transferred"]
    assert {e.authority for e in events} == {"registry-key"}
    assert weapon.id == Marking.read("FN Herstal", "BE", "1234567").weapon_id()
    assert weapon.holder == "Police de Liège"


def test_a_row_without_transfer_columns_is_a_manufacture_only_signed_by_the_kind_in_by():
    weapon = weapon_of(a_row("X-1", by=" Licensing "), state="BE", authorities=AUTHORITIES)

    events = weapon.collect_events()
    assert [(type(e).TOPIC, e.authority) for e in events] == [("Weapon.Manufactured", "licensing-key")]


@pytest.mark.parametrize("changes, column", [
    ({"first_holder": ""}, "first_holder"),           # the domain's "holder"
    ({"manufactured_on": "1964-12-31"}, "manufactured_on"),
    ({"by": "police"}, "by"),                         # may not record a manufacture
    ({**TRANSFER, "transfer_licence": " "}, "transfer_licence"),
    ({**TRANSFER, "current_holder": "Police\x07"}, "current_holder"),  # the domain's "to"
    ({**TRANSFER, "by": "licensing"}, "by"),          # only the registry migrates paper transfers
])
def test_a_refusal_names_the_csv_column_not_the_domain_field(changes, column):
    with pytest.raises(RowRefused) as refused:
        weapon_of(a_row("R-1", **changes), state="BE", authorities=AUTHORITIES)
    assert refused.value.field == column and refused.value.reason


def test_signed_batches_keep_file_order_and_seal_verifiable_chains_in_and_out_of_worker_processes():
    keys = {a.key_id: Ed25519PrivateKey.generate() for a in AUTHORITIES.values()}
    signer = RowSigner("BE", dict(AUTHORITIES), {k: key.private_bytes_raw() for k, key in keys.items()})
    rows = [(2 + i, a_row(f"S-{i}", **(TRANSFER if i % 2 else {}))) for i in range(5)]
    rows.insert(2, (99, RowError(99, None, "has 3 values where the header has 10 columns")))

    by_workers = [row for batch in signed_batches(rows, signer, batch_size=2, workers=1) for row in batch]
    here = [row for batch in signed_batches(rows, signer, batch_size=2, workers=0) for row in batch]

    for signed in (by_workers, here):
        assert [r.line for r in signed] == [2, 3, 99, 4, 5, 6]
        for row in signed:
            if isinstance(row, SignedRow):
                envelopes = [Envelope.from_bytes(state) for _version, _type, state in row.records]
                assert verify_chain(envelopes)
                assert all(verify_envelope(e, keys[e.authority].public_key()) for e in envelopes)
                assert [(v, t) for v, t, _ in row.records] == [(e.version, e.type) for e in envelopes]
    assert [(r.line, getattr(r, "weapon_id", None)) for r in by_workers] == \
        [(r.line, getattr(r, "weapon_id", None)) for r in here]
