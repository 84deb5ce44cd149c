"""``armsledger checkpoint show [--note]`` and ``key export --note``: the node's checkpoint as a C2SP signed
note with the witness cosignatures it holds, checked by the ledger's note verifier and by a tiny parser
written here from the specs (signed-note, tlog-checkpoint, tlog-cosignature), on each backend."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoint import LEGACY_CHECKPOINT_FORMAT, Checkpoint
from ledger.cosignature import cosign_checkpoint
from ledger.keys import generate_key, sign
from ledger.note import open_note, parse_verifier_key
from nodes.bootstrap import open_node
from nodes.federation.inbox_records import Cosignature, InboxBatch
from nodes.settings import Settings

from inprocess_cli import Cli

MANUFACTURE = ["record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-0001",
               "--type", "pistol", "--make", "FN", "--model", "Five-seveN", "--calibre", "5.7x28mm", "--year", "2020",
               "--holder", "FN Herstal", "--date", "2020-03-02"]
WITNESS_TIME = 1_764_676_800

# signed-note, "Format": text ending in a newline, a blank line, lines "— <name> <base64>\n".
_SIGNATURE_LINE = re.compile(r"\u2014 ([^\s+]+) ([A-Za-z0-9+/]+={0,2})")


def _spec_parse(note: str) -> tuple[list[str], list[tuple[str, bytes]]]:
    """(body lines, [(key name, base64-decoded signature)]), written from the spec, independent of ledger.note."""
    text, _, signatures = note.rpartition("\n\n")
    assert note.endswith("\n") and signatures.endswith("\n")
    lines = []
    for line in signatures[:-1].split("\n"):
        match = _SIGNATURE_LINE.fullmatch(line)
        assert match, line
        lines.append((match[1], base64.b64decode(match[2], validate=True)))
    return text.split("\n"), lines


def _spec_vkey(vkey: str) -> tuple[str, bytes, int, Ed25519PublicKey]:
    name, hash_hex, key = vkey.split("+", 2)  # names hold no '+'; base64 may
    raw = base64.b64decode(key, validate=True)
    # key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == hash_hex
    return name, bytes.fromhex(hash_hex), raw[0], Ed25519PublicKey.from_public_bytes(raw[1:])


def _nodes(env, capsys, tmp_path, db_url) -> tuple[Cli, Cli]:
    be = Cli(capsys, tmp_path / "be", db_url)
    nl = Cli(capsys, tmp_path / "nl", str(tmp_path / "nl.db"))
    be.ok("init", "--state", "BE")
    nl.ok("init", "--state", "NL")
    (tmp_path / "nl.json").write_text(nl.ok("key", "export").out)
    be.ok("trust", "add", "--state", "NL", str(tmp_path / "nl.json"))
    be.ok(*MANUFACTURE)
    return be, nl


def _store_cosignatures(cli: Cli, *cosignatures: Cosignature) -> None:
    with open_node(Settings.load(environ={}, home=cli.home, db=cli.db), unlock=False) as node:
        node.inbox.record(InboxBatch(cosignatures=list(cosignatures)))


def _node_key(cli: Cli):
    with open_node(Settings.load(environ={"ARMSLEDGER_PASSPHRASE": "correct horse"}, home=cli.home,
                                 db=cli.db), unlock=True) as node:
        return node.identity.private_keys[node.identity.node_key_id], node.identity.node_key_id


def test_the_checkpoint_note_verifies_with_the_exported_keys_and_has_the_spec_layout(env, capsys, tmp_path, db_url):
    be, nl = _nodes(env, capsys, tmp_path, db_url)
    shown = be.ok("checkpoint", "show", "--json").json()
    assert shown["format"] == "armsledger-checkpoint/2" and shown["cosignatures"] == []
    nl_key, nl_key_id = _node_key(nl)
    with open_node(Settings.load(environ={}, home=be.home, db=be.db), unlock=False) as node:
        checkpoint = node.sealer.latest_checkpoint()
    assert checkpoint is not None and (checkpoint.size, checkpoint.root.hex()) == (shown["size"], shown["root"])
    cosig = cosign_checkpoint(nl_key, checkpoint, WITNESS_TIME)
    _store_cosignatures(be, Cosignature("NL", nl_key_id, checkpoint.to_bytes(), cosig, 1))

    note = be.ok("checkpoint", "show", "--note").out
    log_vkey = be.ok("key", "export", "--note").out.strip()
    witness_vkey = nl.ok("key", "export", "--note", "--witness").out.strip()

    # The spec's layout, byte for byte: origin, size, base64 root, extension line; blank line; two lines.
    body, signatures = _spec_parse(note)
    assert body == ["armsledger/BE", str(checkpoint.size), base64.b64encode(checkpoint.root).decode(),
                    f"armsledger/timestamp-us {checkpoint.timestamp}"]
    log_name, log_hash, log_alg, log_key = _spec_vkey(log_vkey)
    witness_name, witness_hash, witness_alg, witness_key = _spec_vkey(witness_vkey)
    assert (log_name, log_alg, witness_name, witness_alg) == ("armsledger/BE", 0x01, "armsledger/NL", 0x04)
    assert [name for name, _ in signatures] == [log_name, witness_name]
    (_, log_sig), (_, witness_sig) = signatures
    text = "\n".join(body).encode() + b"\n"
    assert log_sig[:4] == log_hash and witness_sig[:4] == witness_hash
    log_key.verify(log_sig[4:], text)
    assert int.from_bytes(witness_sig[4:12], "big") == WITNESS_TIME
    witness_key.verify(witness_sig[12:], b"cosignature/v1\ntime %d\n" % WITNESS_TIME + text)

    # The ledger's note verifier agrees, with the keys as exported.
    opened = open_note(note, [parse_verifier_key(log_vkey), parse_verifier_key(witness_vkey)])
    assert [s.name for s in opened.verified] == ["armsledger/BE", "armsledger/NL"]
    listed = be.ok("checkpoint", "show", "--json").json()["cosignatures"]
    assert listed == [{"witness": "NL", "time": WITNESS_TIME, "form": "cosignature/v1"}]


def test_older_and_damaged_cosignatures_and_bad_options(env, capsys, tmp_path, db_url):
    be, nl = _nodes(env, capsys, tmp_path, db_url)
    nl_key, nl_key_id = _node_key(nl)
    with open_node(Settings.load(environ={}, home=be.home, db=be.db), unlock=False) as node:
        checkpoint = node.sealer.latest_checkpoint()
    assert checkpoint is not None
    data = checkpoint.to_bytes()
    older = sign(nl_key, hashlib.sha256(data).digest())
    _store_cosignatures(be, Cosignature("NL", nl_key_id, data, older, 1))
    shown = be.ok("checkpoint", "show", "--size", str(checkpoint.size), "--json").json()
    assert shown["cosignatures"] == [{"witness": "NL", "time": None, "form": "older"}]
    assert "— armsledger/NL" not in be.ok("checkpoint", "show", "--note").out  # the older form has no line

    # A witness this node does not trust: named, not shown, not a failure.
    _store_cosignatures(be, Cosignature("DE", "0" * 32, data, cosign_checkpoint(generate_key(), checkpoint, 9), 3))
    untrusted = be.ok("checkpoint", "show", "--note")
    assert "DE's cosignature by key " + "0" * 32 + " is not shown" in untrusted.err
    assert "armsledger/DE" not in untrusted.out

    # One cosignature is kept per witness and checkpoint: the damaged one is of the next checkpoint.
    be.ok(*[a if a != "FN57-0001" else "FN57-0002" for a in MANUFACTURE])
    with open_node(Settings.load(environ={}, home=be.home, db=be.db), unlock=False) as node:
        newest = node.sealer.latest_checkpoint()
    assert newest is not None and newest.size > checkpoint.size
    damaged = cosign_checkpoint(nl_key, replace(newest, size=newest.size + 1), WITNESS_TIME)
    _store_cosignatures(be, Cosignature("NL", nl_key_id, newest.to_bytes(), damaged, 2))
    result = be("checkpoint", "show", "--note")
    assert result.code == 1 and "NL's stored cosignature does not verify" in result.err
    assert open_note(result.out, [parse_verifier_key(be.ok("key", "export", "--note").out.strip())]).verified

    assert "no checkpoint at size 99" in be.refused("checkpoint", "show", "--size", "99").err
    assert "--size" in be.refused("checkpoint", "show", "--size", "0").err
    assert "--witness goes with --note" in be.refused("key", "export", "--witness").err


def test_a_store_holding_a_checkpoint_of_format_1_still_verifies_and_shows_it_but_not_as_a_note(
        env, capsys, tmp_path, sqlite_url):
    be = Cli(capsys, tmp_path / "be", sqlite_url)
    be.ok("init", "--state", "BE")
    be.ok(*MANUFACTURE)
    key, _ = _node_key(be)
    # Rewrite the stored checkpoints as a node of the previous release signed them (format /1).
    with sqlite3.connect(sqlite_url) as db:
        [table] = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                   if n.endswith("checkpoints") and "read" not in n]
        rows = db.execute(f"SELECT size, bytes FROM {table}").fetchall()
        for size, data in rows:
            unsigned = replace(Checkpoint.from_bytes(data), sig=b"", format=LEGACY_CHECKPOINT_FORMAT)
            legacy = replace(unsigned, sig=sign(key, unsigned.signed_bytes()))
            db.execute(f"UPDATE {table} SET sig = ?, bytes = ? WHERE size = ?",
                       (legacy.sig, legacy.to_bytes(), size))
    size = max(size for size, _ in rows)
    be.ok("verify")
    assert be.ok("checkpoint", "show", "--json").json()["format"] == LEGACY_CHECKPOINT_FORMAT
    assert "signed before checkpoints were signed notes" in be.refused("checkpoint", "show", "--note").err
    # The next seal signs format /2, which shows as a note; the /1 one stays as it was.
    be.ok(*[a if a != "FN57-0001" else "FN57-0002" for a in MANUFACTURE])
    newest = be.ok("checkpoint", "show", "--json").json()
    assert newest["format"] == "armsledger-checkpoint/2" and newest["size"] > size
    assert open_note(be.ok("checkpoint", "show", "--note").out,
                     [parse_verifier_key(be.ok("key", "export", "--note").out.strip())]).verified
    assert be.ok("checkpoint", "show", "--size", str(size), "--json").json()["format"] == LEGACY_CHECKPOINT_FORMAT
    be.ok("verify")
