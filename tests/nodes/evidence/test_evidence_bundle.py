"""``armsledger evidence export|verify``: a bundle verifies on a machine without the node (a subprocess with
an empty HOME and no node settings) and fails once any one byte of a signed part of it changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nodes.evidence.bundle_check import verify_bundle

from inprocess_cli import Cli

# Fields of the bundle whose hex is signed or hashed into what is signed: changing one byte of any must fail it.
_RECORD_PARTS = ("envelope", "signed_bytes", "envelope_hash", "signature", "leaf_hash")
_CHECKPOINT_PARTS = ("bytes", "signed_bytes", "signature", "root", "signer_public_key")


@pytest.fixture
def exported(cli, tmp_path):
    """(weapon id, bundle path) of a weapon manufactured, stolen and recovered, exported with its report."""
    weapon = cli.ok("record", "manufacture", "--manufacturer", "FN", "--country", "BE", "--serial", "EV-1",
                    "--type", "pistol", "--calibre", "9mm", "--year", "2020", "--holder", "FN Herstal",
                    "--json").json()["weapon_id"]
    cli.ok("record", "report-stolen", "--weapon", weapon, "--place", "Liège", "--circumstances", "burglary")
    cli.ok("record", "recover", "--weapon", weapon, "--place", "Namur")
    path = tmp_path / "evidence.json"
    cli.ok("evidence", "export", weapon, "-o", str(path), "--html", str(tmp_path / "evidence.html"),
           "--purpose", "court case 12/34")
    return weapon, path


def _offline(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``armsledger`` in a fresh process that knows no node: empty HOME, no ARMSLEDGER_* variables."""
    armsledger = Path(sys.executable).parent / "armsledger"
    return subprocess.run([str(armsledger), *argv], cwd=cwd, env={"HOME": str(cwd), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_an_exported_bundle_verifies_with_no_node_present(cli, exported, tmp_path):
    weapon, path = exported
    bundle = json.loads(path.read_text())
    assert [r["type"] for r in bundle["records"]] == ["Weapon.Manufactured", "Weapon.ReportedStolen",
                                                      "Weapon.Recovered"]
    assert all(r["proof"] is not None for r in bundle["records"] + bundle["certificates"])
    assert bundle["verdict"]["weapon_id"] == weapon
    report = (tmp_path / "evidence.html").read_text()
    assert weapon in report and bundle["node_keys"][0]["fingerprint"] in report and "Weapon.Recovered" in report

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    (empty / "evidence.json").write_bytes(path.read_bytes())
    claimed = _offline("evidence", "verify", "evidence.json", cwd=empty)
    assert claimed.returncode == 0, claimed.stderr
    assert "VALID: the 3 records" in claimed.stdout and "no --trust given" in claimed.stdout

    (empty / "be.pub").write_text(cli.ok("key", "export").out)
    trusted = _offline("evidence", "verify", "evidence.json", "--trust", "be.pub", "--json", cwd=empty)
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["keys"] == {"BE": "trusted (--trust)"}


def test_the_export_is_recorded_in_the_read_audit(cli, exported):
    weapon, _ = exported
    reads = cli.ok("audit", "reads", "--weapon", weapon, "--json").json()["reads"]
    assert [(r["action"], r["subject"], r["purpose"]) for r in reads] == [("history", weapon, "court case 12/34")]


def _signed_parts(bundle: dict) -> list[tuple[str, list]]:
    """(name, path to the value) of every hex part that is signed or hashed into what is signed."""
    parts = []
    for section in ("records", "certificates"):
        for i, record in enumerate(bundle[section]):
            parts += [(f"{section}[{i}].{name}", [section, i, name]) for name in _RECORD_PARTS]
            parts += [(f"{section}[{i}].audit_path[{j}]", [section, i, "proof", "audit_path", j])
                      for j in range(len(record["proof"]["audit_path"]))]
    for i, _ in enumerate(bundle["checkpoints"]):
        parts += [(f"checkpoints[{i}].{name}", ["checkpoints", i, name]) for name in _CHECKPOINT_PARTS]
    parts += [(f"node_keys[{i}].node_public_key", ["node_keys", i, "node_public_key"])
              for i in range(len(bundle["node_keys"]))]
    return parts


def _changed(bundle: dict, path: list, position: int) -> bytes:
    """The bundle with the byte at ``position`` of the hex value at ``path`` changed (one hex digit)."""
    changed = json.loads(json.dumps(bundle))
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    value = holder[path[-1]]
    digit = position * 2 % len(value)
    holder[path[-1]] = value[:digit] + ("0" if value[digit] != "0" else "1") + value[digit + 1:]
    return json.dumps(changed).encode()


def test_changing_any_one_byte_of_a_signed_part_fails_the_bundle(exported):
    _, path = exported
    data = path.read_bytes()
    bundle = json.loads(data)
    assert verify_bundle(data).valid
    parts = _signed_parts(bundle)
    assert len(parts) > 30
    for name, where in parts:
        length = len(bundle_value(bundle, where)) // 2
        for position in sorted({0, length // 2, length - 1}):
            report = verify_bundle(_changed(bundle, where, position))
            assert not report.valid, f"{name} byte {position} changed, yet the bundle verifies"


def bundle_value(bundle: dict, path: list) -> str:
    value = bundle
    for step in path:
        value = value[step]
    return str(value)


def test_a_changed_record_fails_with_a_report_naming_it(exported, tmp_path):
    _, path = exported
    bundle = json.loads(path.read_text())
    broken = tmp_path / "broken.json"
    broken.write_bytes(_changed(bundle, ["records", 1, "signature"], 10))
    result = _offline("evidence", "verify", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL  record BE Weapon.ReportedStolen v2" in result.stdout and "NOT VALID" in result.stdout
    assert "FAIL  record BE Weapon.Manufactured" not in result.stdout


def test_a_readable_field_that_does_not_follow_from_the_signed_bytes_fails(exported):
    _, path = exported
    bundle = json.loads(path.read_text())
    bundle["records"][0]["body"]["serial"] = "OTHER"
    bundle["records"][0]["occurred_on_utc"] = "1999-01-01T00:00:00Z"
    report = verify_bundle(json.dumps(bundle).encode())
    assert [f.detail for f in report.findings if not f.passed] == [
        "body, occurred_on_utc do not follow from its signed bytes"]


def test_a_key_other_than_the_one_trusted_fails(cli, exported, tmp_path, monkeypatch, capsys):
    _, path = exported
    other = Cli(capsys, tmp_path / "other", str(tmp_path / "other.db"))
    other.ok("init", "--state", "BE")
    (tmp_path / "other.pub").write_text(other.ok("key", "export").out)
    result = _offline("evidence", "verify", str(path), "--trust", str(tmp_path / "other.pub"), cwd=tmp_path)
    assert result.returncode == 1
    assert "not the key you trust for BE" in result.stdout


@pytest.mark.parametrize("content, reason", [
    (b"not json at all", "not a JSON document"),
    (b'{"armsledger_identity": 1}', "no 'armsledger_evidence'"),
    (b'{"armsledger_evidence": 1, "weapon_id": "x"}', "'node_keys' is missing"),
])
def test_a_file_that_is_not_a_bundle_is_refused_naming_what(tmp_path, content, reason):
    (tmp_path / "file.json").write_bytes(content)
    result = _offline("evidence", "verify", "file.json", cwd=tmp_path)
    assert result.returncode == 2 and reason in result.stderr and "FILE" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_refusals(cli, tmp_path):
    assert "weapon" in cli.refused("evidence", "export", "-o", str(tmp_path / "x.json")).err
    assert "--output" in cli.refused("evidence", "export", "0000", "-o", str(tmp_path / "no" / "x.json")).err
    assert not (tmp_path / "no").exists()
    missing = _offline("evidence", "verify", "nowhere.json", cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
