"""Evidence across a real broker: a weapon exported by BE and received in NL has records from both nodes;
NL keeps the inclusion proof of BE's record at ingest (same transaction), exports a bundle holding both
states' records, checkpoints, certificates and keys, and the bundle verifies offline against both states'
published identities. A record received before proofs were kept is shown as such, never as proved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domain.licence import LicenceKind
from nodes.evidence.bundle import bundle_bytes, export_bundle
from nodes.evidence.bundle_check import verify_bundle
from nodes.evidence.proofs import NOT_KEPT
from nodes.federation.crossborder import confirm_receipt
from nodes.federation.inbox_proofs import proofs_schema, table_name
from nodes.federation.trust import export_identity

from federation_nodes import Cluster, issue, manufacture


@pytest.fixture
def traded(tmp_path, kafka_bootstrap, db_url):
    """(cluster, weapon): BE manufactured and exported the weapon to NL (NL's node on the backend under
    test), NL confirmed its receipt, and both synced."""
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        issue(nl, "NL-IA-9", LicenceKind.IMPORT_AUTHORIZATION, export_state="BE", import_state="NL",
              consignee="Wapenhandel BV")
        cluster.settle()
        issue(be, "BE-EL-9", LicenceKind.EXPORT_LICENCE, export_state="BE", import_state="NL",
              consignee="Wapenhandel BV")
        weapon = manufacture(be, "EVID-1")
        shipment = be.registry.export(weapon_ids=[weapon], licence="BE-EL-9", import_authorization="NL-IA-9",
                                      to_state="NL", consignee="Wapenhandel BV")
        cluster.settle()
        confirm_receipt(nl, shipment=str(shipment), received_by="Wapenhandel BV")
        cluster.settle()
        yield cluster, weapon


def _offline_verify(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    armsledger = Path(sys.executable).parent / "armsledger"
    return subprocess.run([str(armsledger), "evidence", "verify", *argv], cwd=folder,
                          env={"HOME": str(folder), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)


def test_a_bundle_with_records_of_two_nodes_verifies_offline(traded, tmp_path):
    cluster, weapon = traded
    be, nl = cluster["BE"], cluster["NL"]
    exported = be.registry.envelopes(weapon)[-1]
    kept = nl.inbox.kept_proofs(node="BE", stream=str(weapon))
    assert list(kept) == [exported.version]
    assert kept[exported.version].checkpoint_size in {c.size for c in nl.inbox.partner_checkpoints("BE")}

    bundle = export_bundle(nl, weapon)
    assert [(r["origin"], r["source"], r["type"]) for r in bundle["records"]] == [
        ("NL", "own", "Weapon.Imported"), ("NL", "own", "Weapon.ReceiptConfirmed"),
        ("BE", "partner", "Weapon.Exported")]
    assert all(r["proof"] is not None for r in bundle["records"])
    assert {c["origin"] for c in bundle["checkpoints"]} == {"BE", "NL"}
    assert {c["origin"] for c in bundle["certificates"]} == {"BE", "NL"}
    assert {k["state"] for k in bundle["node_keys"]} == {"BE", "NL"}
    assert [c["witness"] for cp in bundle["checkpoints"] if cp["origin"] == "NL" for c in cp["cosignatures"]] \
        == ["BE"]

    folder = tmp_path / "court"
    folder.mkdir()
    (folder / "evidence.json").write_bytes(bundle_bytes(bundle))
    (folder / "BE.pub").write_text(export_identity(be.identity))
    (folder / "NL.pub").write_text(export_identity(nl.identity))
    result = _offline_verify(folder, "evidence.json", "--trust", "BE.pub", "--trust", "NL.pub")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    record BE Weapon.Exported v2" in result.stdout
    assert "cosignature of BE: verifies" in result.stdout

    # BE's record changed by one byte of its signature: the report names it, and only it.
    changed = json.loads(bundle_bytes(bundle))
    signature = changed["records"][2]["signature"]
    changed["records"][2]["signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    report = verify_bundle(json.dumps(changed).encode())
    assert [f.subject for f in report.findings if not f.passed] == [
        f"record BE Weapon.Exported v2 (stream {weapon})"]


def test_a_record_received_before_proofs_were_kept_is_shown_unproved(traded):
    cluster, weapon = traded
    nl = cluster["NL"]
    inbox = nl.inbox
    with inbox.recorder.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"DELETE FROM {table_name(proofs_schema(inbox.recorder))}")
    assert inbox.kept_proofs(node="BE", stream=str(weapon)) == {}

    bundle = export_bundle(nl, weapon)
    partner = [r for r in bundle["records"] if r["origin"] == "BE"]
    assert [(r["proof"], r["note"]) for r in partner] == [(None, NOT_KEPT)]
    report = verify_bundle(bundle_bytes(bundle))
    assert report.valid
    # BE's record and the certificate of the key that signed it: both received, neither proof kept.
    assert sorted(u.split(" v")[0] for u in report.unproved) == ["certificate BE Authority.Certified",
                                                                  "record BE Weapon.Exported"]
    assert all(u.endswith(NOT_KEPT) for u in report.unproved)
