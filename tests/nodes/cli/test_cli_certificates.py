"""``record deactivate`` with its certificate, ``certificate export|verify|print`` and ``record reactivate``,
in-process on SQLite and PostgreSQL; the offline checks of a tampered file on SQLite alone (no database)."""

from __future__ import annotations

import json

import pytest

from inprocess_cli import Cli
from insider import events_table, set_topic

PISTOL = ("--manufacturer", "FN Herstal", "--country", "BE", "--serial", "CERT-1")
DEACTIVATION = ("--certificate", "DC-2026-7", "--standard", "EU 2018/337", "--inspecting-body",
                "Banc d'Epreuves de Liege", "--inspected-on", "2026-01-10", "--date", "2026-01-12")


@pytest.fixture
def node(env, capsys, tmp_path, db_url) -> Cli:
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    run.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--make", "FN", "--model", "Five-seveN",
           "--calibre", "5.7x28", "--year", "2020", "--holder", "Musée d'Armes", "--date", "2021-01-01")
    return run


def _records(cli: Cli, weapon: str) -> list[str]:
    return [e["type"] for e in cli.ok("history", weapon, "--json").json()["events"]]


def test_a_deactivation_issues_a_certificate_that_verifies_offline_and_prints(node, tmp_path):
    out = tmp_path / "DC-2026-7.json"
    weapon = node.ok("record", "deactivate", *PISTOL, *DEACTIVATION, "--method", "EU 2015/2403",
                     "--certificate-out", str(out)).out.strip()
    exported = tmp_path / "again.json"
    node.ok("certificate", "export", weapon[:8], "-o", str(exported))
    assert exported.read_bytes() == out.read_bytes()
    document = json.loads(out.read_text())
    assert document["certificate"]["standard"] == "EU 2018/337"
    assert document["certificate"]["inspected_on"] == "2026-01-10"
    assert document["certificate"]["marking"]["serial"] == "CERT-1"

    checked = node("certificate", "verify", str(out))  # the node's own key, from --home
    assert checked.code == 0 and "VALID: deactivation certificate DC-2026-7" in checked.out
    key = tmp_path / "BE.pub"
    key.write_text(node.ok("key", "export").out)
    report = node.ok("certificate", "verify", str(out), "--node-key", str(key), "--json").json()
    assert report["valid"] and [c["check"] for c in report["checks"]][-1] == "trusted key"

    page = tmp_path / "DC.html"
    node.ok("certificate", "print", str(out), "-o", str(page))
    html = page.read_text()
    assert "DC-2026-7" in html and "Banc d&#39;Epreuves de Liege" in html and document["node"]["fingerprint"] in html

    set_topic(node.db, events_table(node.db), weapon, 2, "Weapon.Destroyed")  # an insider edits the row
    damaged = node("certificate", "export", weapon)
    assert damaged.code == 1 and "does not verify" in damaged.err and "armsledger verify" in damaged.err


def test_refused_deactivations_and_reactivations_write_nothing_and_a_licence_restores_the_weapon(node, tmp_path):
    weapon = node.ok("search", "--serial", "CERT-1", "--json").json()["matches"][0]["weapon_id"]
    refused = node.refused("record", "deactivate", "--weapon", weapon, *DEACTIVATION[:-2], "--date", "2026-01-09")
    assert "--inspected-on" in refused.err and "after the deactivation" in refused.err
    assert "--standard" in node.refused("record", "deactivate", "--weapon", weapon, "--certificate", "X",
                                        "--inspecting-body", "B", "--inspected-on", "2026-01-01").err
    assert "--certificate-out" in node.refused("record", "deactivate", "--weapon", weapon, *DEACTIVATION,
                                               "--certificate-out", str(tmp_path / "none" / "c.json")).err
    assert "only a deactivated weapon" in node.refused("record", "reactivate", "--weapon", weapon, "--licence", "RL-1",
                                                       "--reason", "museum").err
    assert "has no deactivation" in node.refused("certificate", "export", weapon).err
    assert _records(node, weapon) == ["Weapon.Manufactured"]

    node.ok("record", "deactivate", "--weapon", weapon, *DEACTIVATION)
    node.ok("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence", "--holder", "Musée d'Armes",
            "--valid-from", "2026-01-01", "--valid-until", "2030-01-01")
    for licence, words in (("RL-1", "no reactivation_licence 'RL-1'"), ("TL-1", "no reactivation_licence 'TL-1'")):
        refused = node.refused("record", "reactivate", "--weapon", weapon[:6], "--licence", licence, "--reason", "x")
        assert "--licence" in refused.err and words in refused.err
    node.ok("licence", "issue", "--number", "RL-1", "--kind", "reactivation_licence", "--holder", "Musée d'Armes",
            "--valid-from", "2026-01-01", "--valid-until", "2030-01-01", "--weapon", weapon)
    assert "--by" in node.refused("record", "reactivate", "--weapon", weapon, "--licence", "RL-1", "--reason",
                                  "museum", "--by", "police").err
    assert _records(node, weapon) == ["Weapon.Manufactured", "Weapon.Deactivated"]

    node.ok("record", "reactivate", "--weapon", weapon, "--licence", "RL-1", "--reason", "restored for display")
    history = node.ok("history", weapon, "--json").json()
    assert history["status"] == "active" and history["flags"] == ["reactivated"]
    assert node.ok("search", "--serial", "CERT-1", "--json").json()["matches"][0]["flags"] == ["reactivated"]
    verdict = node.ok("diversion", weapon, "--json").json()
    assert verdict["reactivated"] and "reactivated in BE" in verdict["sentence"]
    assert "no longer holds" in node.refused("certificate", "export", weapon).err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_changed_byte_or_an_untrusted_key_fails_verification(node, env, capsys, tmp_path):
    good = tmp_path / "c.json"
    node.ok("record", "deactivate", *PISTOL, *DEACTIVATION, "--certificate-out", str(good))
    data = good.read_bytes()
    # Verification reads the file alone: a database that does not exist is never opened.
    reader = Cli(capsys, tmp_path / "reader", "postgresql://nobody@127.0.0.1:1/none")
    key = tmp_path / "BE.pub"
    key.write_text(node.ok("key", "export").out)
    assert reader("certificate", "verify", str(good), "--node-key", str(key)).code == 0
    untrusted = reader("certificate", "verify", str(good))
    assert untrusted.code == 1 and "FAIL  trusted key: no key of BE is trusted here" in untrusted.out

    document = data.decode()
    changes = {
        "content": document.replace("EU 2018/337", "EU 2018/338", 1),
        "signature": _flip_in(document, "record"),
        "authority certificate": _flip_in(document, "authority_certificate"),
        "node key": _with_node_key(document, "00"),
    }
    for check, text in changes.items():
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        result = reader("certificate", "verify", str(bad), "--node-key", str(key), "--json")
        assert result.code == 1
        failed = [c for c in result.json()["checks"] if not c["passed"]]
        assert failed[0]["check"] == check, (check, failed[0])
    bad.write_bytes(data.replace(b'": ', b'":  ', 1))
    assert reader("certificate", "verify", str(bad), "--node-key", str(key)).code == 1
    other = Cli(capsys, tmp_path / "other", str(tmp_path / "other.db"))
    other.ok("init", "--state", "BE")
    key.write_text(other.ok("key", "export").out)
    assert "is not the key you trust" in reader("certificate", "verify", str(good), "--node-key", str(key)).out
    assert "cannot read" in reader.refused("certificate", "verify", str(tmp_path / "missing.json")).err
    assert "fails its content check" in reader.refused("certificate", "print", str(bad), "-o",
                                                       str(tmp_path / "x.html")).err
    assert not (tmp_path / "x.html").exists()


def _flip_in(document: str, field: str) -> str:
    """``document`` with one base64 character of ``field`` changed (in the middle: a signed byte)."""
    value = json.loads(document)[field]
    middle = len(value) // 2
    changed = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1:]
    return document.replace(value, changed, 1)


def _with_node_key(document: str, first_byte: str) -> str:
    """``document`` laid out as exported, its node key's first byte changed."""
    parsed = json.loads(document)
    key = parsed["node"]["node_public_key"]
    parsed["node"]["node_public_key"] = first_byte + key[2:] if key[:2] != first_byte else "ff" + key[2:]
    return json.dumps(parsed, ensure_ascii=False, indent=2) + "\n"
