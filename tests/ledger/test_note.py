"""C2SP signed notes, verifier keys, checkpoint texts and cosignature/v1: third-party vectors, probes that
must fail, a naive reference of the key hash and signed message written from the specs, and properties."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, strategies as st

from ledger.errors import NoteError
from ledger.keys import generate_key, public_bytes
from ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    NoteSignature,
    checkpoint_body,
    cosign,
    cosignature_timestamp,
    format_note,
    key_hash,
    open_note,
    parse_checkpoint_body,
    parse_note,
    parse_verifier_key,
    sign_note,
    verifier,
    verify_cosignature,
)

KEY = generate_key()
OTHER = generate_key()
TEXT = "example.org/log\n7\n" + base64.b64encode(bytes(range(32))).decode() + "\n"


def _vector_key(vectors: dict, name: str):
    return parse_verifier_key(vectors["keys"][name]["verifier_key"])


def _signer_from_go(signer_key: str) -> tuple[str, Ed25519PrivateKey]:
    """Go's note private key text ``PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)`` (test-only reader)."""
    _, _, name, _, b64 = signer_key.split("+", 4)
    raw = base64.b64decode(b64)
    assert raw[0] == ALG_ED25519 and len(raw) == 33
    return name, Ed25519PrivateKey.from_private_bytes(raw[1:])


def _naive_key_hash(name: str, alg: int, public: bytes) -> bytes:
    # signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([alg]) + public).digest()[:4]


# --- third-party vectors ---------------------------------------------------------------------------


def test_verifier_keys_of_the_vectors_parse_and_print_back(signed_note_vectors):
    for name, key in signed_note_vectors["keys"].items():
        parsed = parse_verifier_key(key["verifier_key"])
        assert parsed.name == name and parsed.alg == ALG_ED25519
        assert parsed.key_hash.hex() == key["key_hash"]
        assert parsed.key_hash == _naive_key_hash(name, ALG_ED25519, public_bytes(parsed.public_key))
        assert parsed.vkey() == key["verifier_key"]


def test_signing_the_vector_text_gives_the_vector_note(signed_note_vectors):
    case = signed_note_vectors["sign"]
    name, key = _signer_from_go(signed_note_vectors["keys"][case["signer"]]["signer_key"])
    assert format_note(case["text"], [sign_note(case["text"], name, key)]) == case["want_note"]
    assert verifier(name, key.public_key()).vkey() == signed_note_vectors["keys"][name]["verifier_key"]


def test_every_open_vector(signed_note_vectors):
    for case in signed_note_vectors["open"]:
        keys = [_vector_key(signed_note_vectors, n) for n in case["verifiers"]]
        if case["expect_valid"]:
            opened = open_note(case["note"], keys)
            assert [s.name for s in opened.verified] == case["verified"]
            assert [s.name for s in opened.unverified] == case["unverified"]
            assert case["note"].startswith(opened.text)
        else:
            with pytest.raises(NoteError):
                open_note(case["note"], keys)


@pytest.mark.parametrize("index", range(5))
def test_bad_verifier_keys_of_the_vectors_are_refused(signed_note_vectors, index):
    with pytest.raises(NoteError, match="verifier key"):
        parse_verifier_key(signed_note_vectors["bad_verifier_keys"][index])


def test_the_cosignature_vector_timestamp(signed_note_vectors):
    case = signed_note_vectors["cosignature_v1_timestamp"]
    raw = base64.b64decode(case["signature_base64"])
    assert cosignature_timestamp(raw[4:]) == case["want_timestamp"]


# --- probes that must fail ------------------------------------------------------------------------


def _signed(text: str = TEXT) -> str:
    return format_note(text, [sign_note(text, "example.org/log", KEY)])


KNOWN = [verifier("example.org/log", KEY.public_key())]


@pytest.mark.parametrize("change, message", [
    (lambda n: n.replace("\n7\n", "\n8\n"), "does not verify"),
    (lambda n: n.replace("— example.org/log", "— example.org/log2"), "no signature by a known key"),
    (lambda n: n.replace("— example.org/log ", "— example.org/log  "), "not standard base64"),
    (lambda n: n + "\n", "no signature lines"),
    (lambda n: n[:-1], "does not end with a newline"),
    (lambda n: n.replace("\n\n", "\n"), "no blank line"),
    (lambda n: n + "trailing text\n", "does not start with an em dash"),
    (lambda n: "\t" + n, "control character 0x09"),
    (lambda n: n.replace("— ", "- "), "no blank line|em dash"),
    (lambda n: n.replace("— example.org/log", "— example org/log"), "no signature by a known key|base64"),
])
def test_tampered_notes_are_refused(change, message):
    assert open_note(_signed(), KNOWN).verified
    with pytest.raises(NoteError, match=message):
        open_note(change(_signed()), KNOWN)


def test_a_signature_under_the_right_name_with_another_key_hash_is_ignored_then_refused():
    note = parse_note(_signed())
    [line] = note.signatures
    wrong = NoteSignature(line.name, bytes(4), line.sig)
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(format_note(note.text, [wrong]), KNOWN)


def test_a_known_key_with_a_bad_signature_refuses_the_whole_note():
    good = sign_note(TEXT, "example.org/log", KEY)
    other = sign_note(TEXT, "example.org/witness", OTHER)
    bad = NoteSignature(other.name, other.key_hash, bytes(64))
    note = format_note(TEXT, [good, bad])
    with pytest.raises(NoteError, match="example.org/witness does not verify"):
        open_note(note, [*KNOWN, verifier("example.org/witness", OTHER.public_key())])


def test_over_long_notes_and_too_many_signatures_are_refused():
    line = sign_note(TEXT, "example.org/log", KEY)
    with pytest.raises(NoteError, match="signature lines, more than"):
        parse_note(format_note(TEXT, [line] * (MAX_SIGNATURES + 1)))
    assert len(parse_note(format_note(TEXT, [line] * MAX_SIGNATURES)).signatures) == MAX_SIGNATURES
    with pytest.raises(NoteError, match="bytes, more than"):
        parse_note("x" * MAX_NOTE_BYTES + "\n\n" + line.line())


def test_invalid_utf8_and_bad_key_names_are_refused():
    with pytest.raises(NoteError, match="UTF-8"):
        parse_note(b"\xff\n\n" + sign_note(TEXT, "n", KEY).line().encode())
    for name in ("", "a b", "a+b", "a\u00a0b"):
        with pytest.raises(NoteError, match="key name"):
            key_hash(name, ALG_ED25519, KEY.public_key())


# --- tlog-checkpoint and cosignature/v1 -----------------------------------------------------------


def test_checkpoint_body_round_trips_and_refuses_what_the_spec_forbids():
    root = hashlib.sha256(b"r").digest()
    body = checkpoint_body("example.org/log", 12, root, ("ext one",))
    assert body == f"example.org/log\n12\n{base64.b64encode(root).decode()}\next one\n"
    assert parse_checkpoint_body(body) == ("example.org/log", 12, root, ("ext one",))
    assert parse_checkpoint_body(checkpoint_body("o", 0, root))[1] == 0
    for text, message in [
        ("o\n012\n" + base64.b64encode(root).decode() + "\n", "leading zeroes"),
        ("o\n-1\n" + base64.b64encode(root).decode() + "\n", "tree size"),
        ("o\n1\n" + base64.b64encode(root[:31]).decode() + "\n", "not 32"),
        ("o\n1\n" + base64.b64encode(root).decode() + "\n\n", "extension lines must not be empty"),
        ("o\n1\n", "at least 3"),
    ]:
        with pytest.raises(NoteError, match=message):
            parse_checkpoint_body(text)
    with pytest.raises(NoteError, match="one non-empty line"):
        checkpoint_body("o", 1, root, ("",))


def test_cosignature_v1_signs_the_message_the_spec_defines():
    timestamp = 1_679_315_147
    sig = cosign(KEY, TEXT, timestamp)
    assert len(sig) == 72 and sig[:8] == timestamp.to_bytes(8, "big")
    # tlog-cosignature, "Ed25519 signed message": header line, time line, then the checkpoint text.
    KEY.public_key().verify(sig[8:], b"cosignature/v1\ntime 1679315147\n" + TEXT.encode())
    assert verify_cosignature(KEY.public_key(), TEXT, sig) == timestamp
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignature(KEY.public_key(), TEXT, (timestamp + 1).to_bytes(8, "big") + sig[8:])
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignature(OTHER.public_key(), TEXT, sig)
    with pytest.raises(NoteError, match="72 bytes"):
        verify_cosignature(KEY.public_key(), TEXT, sig[8:])
    for bad in (-1, 2**63, True):
        with pytest.raises(NoteError, match="timestamp must be an integer"):
            cosign(KEY, TEXT, bad)
    with pytest.raises(NoteError, match="exceeds 2\\^63-1"):
        cosignature_timestamp((2**63).to_bytes(8, "big") + bytes(64))


def test_a_cosignature_line_opens_with_a_0x04_verifier_only():
    witness = verifier("example.org/witness", OTHER.public_key(), ALG_COSIGNATURE_V1)
    assert witness.key_hash == _naive_key_hash("example.org/witness", 0x04, public_bytes(OTHER.public_key()))
    line = NoteSignature(witness.name, witness.key_hash, cosign(OTHER, TEXT, 5))
    note = format_note(TEXT, [sign_note(TEXT, "example.org/log", KEY), line])
    opened = open_note(note, [witness])
    assert opened.verified == (line,) and [s.name for s in opened.unverified] == ["example.org/log"]
    assert parse_verifier_key(witness.vkey()) == witness
    # The same key as a plain Ed25519 verifier has another key hash: the cosignature is not its.
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(format_note(TEXT, [line]), [verifier("example.org/witness", OTHER.public_key())])


_TEXT_LINES = st.lists(st.text(st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)), min_size=0,
                               max_size=30), min_size=1, max_size=5)


def test_verifier_keys_whose_base64_holds_a_plus_round_trip():
    keys = [generate_key() for _ in range(40)]
    with_plus = [k for k in keys if "+" in verifier("n", k.public_key()).vkey().split("+", 2)[2]]
    assert with_plus  # 40 random keys: one at least has a '+' in its base64 (all but certain)
    for k in with_plus:
        assert parse_verifier_key(verifier("n", k.public_key()).vkey()).public_key == k.public_key()


@given(lines=_TEXT_LINES, name=st.from_regex(r"[a-z0-9./_-]{1,20}", fullmatch=True))
def test_any_text_signed_opens_with_its_key_and_with_no_other(lines, name):
    text = "\n".join(lines) + "\n"
    note = format_note(text, [sign_note(text, name, KEY)])
    assert open_note(note, [verifier(name, KEY.public_key())]).text == text
    with pytest.raises(NoteError):
        open_note(note, [verifier(name, OTHER.public_key())])
