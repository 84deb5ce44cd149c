"""C2SP signed notes: format, parse and verify them; verifier keys; checkpoint bodies; cosignature/v1.

The formats are those of c2sp.org/signed-note, c2sp.org/tlog-checkpoint and
c2sp.org/tlog-cosignature (Ed25519 only); docs/checkpoints.md shows them with
examples. Pure: no I/O, no clock (cosignature times are supplied by the caller).
Every failure is a ``NoteError`` naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from ledger.errors import NoteError, SignatureError
from ledger.keys import Ed25519PrivateKey, Ed25519PublicKey, public_bytes, public_key_from_bytes, verify_signature

ALG_ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (signed-note, "Signature types")."""
ALG_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 witness cosignatures (tlog-cosignature)."""

MAX_SIGNATURES = 100
"""More signature lines than this and a note is refused (the spec asks verifiers to set a limit >= 16)."""
MAX_NOTE_BYTES = 1 << 16
"""A longer note is refused before it is parsed."""

_DASH = "\u2014 "  # em dash and space open every signature line (signed-note, "Format")
_COSIGNATURE_HEADER = "cosignature/v1\n"
_ED25519_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8
_MAX_TIMESTAMP = 2**63 - 1  # tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


@dataclass(frozen=True)
class Verifier:
    """A key that may sign notes: its ``name``, 4-byte ``key_hash``, signature type ``alg`` and public key."""

    name: str
    key_hash: bytes
    alg: int
    public_key: Ed25519PublicKey

    def vkey(self) -> str:
        """The verifier key text ``<name>+<hex key hash>+<base64(alg || public key)>``."""
        return f"{self.name}+{self.key_hash.hex()}+{_b64(bytes([self.alg]) + public_bytes(self.public_key))}"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's ``name``, its 4-byte ``key_hash`` and the signature bytes after it."""

    name: str
    key_hash: bytes
    sig: bytes

    def line(self) -> str:
        """``— <name> <base64(key hash || signature)>`` and a newline."""
        return f"{_DASH}{self.name} {_b64(self.key_hash + self.sig)}\n"


@dataclass(frozen=True)
class Note:
    """A parsed note: its ``text`` (with its final newline) and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def format(self) -> str:
        """The note as text: ``text``, a blank line, the signature lines."""
        return format_note(self.text, self.signatures)


@dataclass(frozen=True)
class OpenedNote:
    """A note with at least one verified signature: ``verified`` by the given keys, ``unverified`` by others."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def key_hash(name: str, alg: int, public_key: Ed25519PublicKey) -> bytes:
    """SHA-256(name || 0x0A || alg || 32-byte public key)[:4] (signed-note, "Signatures").

    Requires a valid key name (``check_key_name``); raises ``NoteError`` otherwise.
    """
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_bytes(public_key)).digest()[:4]


def verifier(name: str, public_key: Ed25519PublicKey, alg: int = ALG_ED25519) -> Verifier:
    """The verifier of ``public_key`` under ``name`` for signature type ``alg`` (0x01 or 0x04)."""
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError(f"signature type 0x{alg:02x} is not supported (only Ed25519 0x01 and cosignature/v1 0x04)")
    return Verifier(name, key_hash(name, alg, public_key), alg, public_key)


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse ``<name>+<hex key hash>+<base64(alg || key)>``; ``NoteError`` naming the part that is wrong.

    The key hash must be the one computed from the name, type and key: a mismatch means a
    mistyped or altered key.
    """
    parts = vkey.split("+", 2)  # the base64 key may itself hold '+'
    if len(parts) != 3:
        raise NoteError(f"verifier key {vkey!r}: expected <name>+<key hash>+<key>, found {len(parts)} part(s)")
    name, hash_hex, key_b64 = parts
    check_key_name(name)
    if not _HEX8.fullmatch(hash_hex):
        raise NoteError(f"verifier key of {name}: key hash {hash_hex!r} is not 8 hex digits")
    raw = _unb64(key_b64, f"verifier key of {name}: key")
    if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError(f"verifier key of {name}: key must be 0x01 or 0x04 and 32 Ed25519 bytes, "
                        f"got {len(raw)} bytes starting 0x{raw[:1].hex() or '--'}")
    result = verifier(name, public_key_from_bytes(raw[1:]), raw[0])
    if result.key_hash.hex() != hash_hex.lower():
        raise NoteError(f"verifier key of {name}: key hash does not match the key",
                        expected=result.key_hash, calculated=bytes.fromhex(hash_hex))
    return result


def check_key_name(name: str) -> str:
    """``name`` if it can name a key: non-empty, no Unicode space, no '+', no control character."""
    if not isinstance(name, str) or not name:
        raise NoteError("key name must not be empty")
    if any(c.isspace() or c == "+" or ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise NoteError(f"key name {name!r} must not contain spaces, '+' or control characters")
    return name


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> NoteSignature:
    """The Ed25519 (0x01) signature of ``key`` named ``name`` over ``text``. Requires ``check_text(text)``."""
    check_text(text)
    return NoteSignature(name, key_hash(name, ALG_ED25519, key.public_key()), key.sign(text.encode()))


def format_note(text: str, signatures: tuple[NoteSignature, ...] | list[NoteSignature]) -> str:
    """``text``, a blank line and one line per signature. Requires a valid text and >= 1 signature."""
    check_text(text)
    if not signatures:
        raise NoteError("a signed note needs at least one signature")
    for s in signatures:
        check_key_name(s.name)
    return text + "\n" + "".join(s.line() for s in signatures)


def check_text(text: str) -> str:
    """``text`` if it can be a note's text: non-empty, ends in a newline, no control character but newline."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_characters(text, "note text")
    return text


def parse_note(data: str | bytes) -> Note:
    """Split a signed note into text and signature lines; checks the form, not the signatures.

    Refused (``NoteError``): more than ``MAX_NOTE_BYTES``, invalid UTF-8, control
    characters other than newline, no blank line, no signature line, a signature
    line that is malformed or lacks its final newline, text after the signatures,
    more than ``MAX_SIGNATURES`` signature lines.
    """
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"note is {len(raw)} bytes, more than the {MAX_NOTE_BYTES} accepted")
    try:
        note = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NoteError(f"note is not valid UTF-8 (byte {e.start})") from None
    _check_characters(note, "note")
    # The text is separated from the signatures by the last empty line (signed-note, "Format").
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = note[:split + 1], note[split + 2:]
    if not block:
        raise NoteError("note has no signature lines")
    if not block.endswith("\n"):
        raise NoteError("note's last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signature lines, more than the {MAX_SIGNATURES} accepted")
    return Note(text, tuple(_parse_signature_line(line, n) for n, line in enumerate(lines, 1)))


def open_note(data: str | bytes, verifiers: list[Verifier] | tuple[Verifier, ...]) -> OpenedNote:
    """Parse ``data`` and verify it with ``verifiers``; return it with the signatures that verified.

    Signatures whose (name, key hash) match no verifier are ignored (listed as
    unverified). A matching signature that does not verify, or no verified
    signature at all, raises ``NoteError``. A 0x04 verifier checks a cosignature/v1
    over the text. A signature repeated line for line counts once.
    """
    note = parse_note(data)
    known = {(v.name, v.key_hash): v for v in verifiers}
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for s in dict.fromkeys(note.signatures):
        v = known.get((s.name, s.key_hash))
        if v is None:
            unverified.append(s)
            continue
        if v.alg == ALG_COSIGNATURE_V1:
            verify_cosignature(v.public_key, note.text, s.sig)
        else:
            _verify_ed25519(v.public_key, s.sig, note.text.encode(), f"signature of {s.name}")
        verified.append(s)
    if not verified:
        names = ", ".join(sorted({s.name for s in note.signatures}))
        raise NoteError(f"note has no signature by a known key (signed by: {names})")
    return OpenedNote(note.text, tuple(verified), tuple(unverified))


# --- tlog-checkpoint ------------------------------------------------------------------------------


def checkpoint_body(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    """The note text of a checkpoint: origin, decimal size, base64 root, extension lines (tlog-checkpoint).

    Requires a non-empty ``origin`` without '+' or spaces, ``size >= 0``, a 32-byte
    ``root`` and non-empty extension lines; raises ``NoteError`` otherwise.
    """
    check_key_name(origin)  # the origin also names the log's key (tlog-checkpoint, "Signatures")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise NoteError(f"checkpoint size must be an integer >= 0, got {size!r}")
    if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
        raise NoteError(f"checkpoint root hash must be 32 bytes, got {root!r:.80}")
    for line in extensions:
        if not line or "\n" in line:
            raise NoteError(f"checkpoint extension line {line!r} must be one non-empty line")
    return check_text("\n".join((origin, str(size), _b64(bytes(root)), *extensions)) + "\n")


def parse_checkpoint_body(text: str) -> tuple[str, int, bytes, tuple[str, ...]]:
    """(origin, size, root, extension lines) of a checkpoint's note text; ``NoteError`` naming the line."""
    check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(f"checkpoint has {len(lines)} line(s), at least 3 are needed (origin, size, root hash)")
    origin, size, root, *extensions = lines
    if not origin:
        raise NoteError("checkpoint line 1 (origin) must not be empty")
    if not _DECIMAL.fullmatch(size):
        raise NoteError(f"checkpoint line 2 (tree size) {size!r} is not a decimal without leading zeroes")
    root_bytes = _unb64(root, "checkpoint line 3 (root hash)")
    if len(root_bytes) != 32:
        raise NoteError(f"checkpoint line 3 (root hash) is {len(root_bytes)} bytes, not 32")
    if any(not line for line in extensions):
        raise NoteError("checkpoint extension lines must not be empty")
    return origin, int(size), root_bytes, tuple(extensions)


# --- tlog-cosignature (Ed25519, cosignature/v1) ---------------------------------------------------


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: "cosignature/v1\\n", "time <timestamp>\\n", then the checkpoint text."""
    check_text(body)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp must be an integer in [0, 2^63-1], got {timestamp!r}")
    return f"{_COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def cosign(key: Ed25519PrivateKey, body: str, timestamp: int) -> bytes:
    """The ``timestamped_signature`` of ``key`` over checkpoint text ``body`` at ``timestamp`` (POSIX seconds):
    8-byte big-endian timestamp || 64-byte Ed25519 signature."""
    message = cosignature_message(body, timestamp)  # checks the timestamp first
    return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + key.sign(message)


def cosignature_timestamp(signature: bytes) -> int:
    """The timestamp (POSIX seconds) of a ``timestamped_signature``; ``NoteError`` if it is not one."""
    if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
        raise NoteError(f"a cosignature/v1 is {_TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE} bytes, "
                        f"got {len(signature)}")
    timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} exceeds 2^63-1")
    return timestamp


def verify_cosignature(public_key: Ed25519PublicKey, body: str, signature: bytes) -> int:
    """Return the cosignature's timestamp, or raise ``NoteError``: ``signature`` must be a
    ``timestamped_signature`` of ``public_key`` over checkpoint text ``body``."""
    timestamp = cosignature_timestamp(signature)
    _verify_ed25519(public_key, signature[_TIMESTAMP_SIZE:], cosignature_message(body, timestamp),
                    f"cosignature dated {timestamp}")
    return timestamp


# --- internals ------------------------------------------------------------------------------------


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    where = f"signature line {number}"
    if not line.startswith(_DASH):
        raise NoteError(f"{where} does not start with an em dash and a space: {line[:40]!r}")
    name, space, b64 = line[len(_DASH):].partition(" ")
    if not space:
        raise NoteError(f"{where} has no space between key name and signature")
    try:
        check_key_name(name)
    except NoteError as e:
        raise NoteError(f"{where}: {e}") from None
    raw = _unb64(b64, f"{where} ({name})")
    if len(raw) < 5:
        raise NoteError(f"{where} ({name}): signature of {len(raw)} bytes is too short for a key hash and "
                        "a signature")
    return NoteSignature(name, raw[:4], raw[4:])


def _check_characters(text: str, what: str) -> None:
    for i, c in enumerate(text):
        if ord(c) < 0x20 and c != "\n":
            raise NoteError(f"{what} holds control character 0x{ord(c):02x} at character {i}")


def _verify_ed25519(public_key: Ed25519PublicKey, sig: bytes, message: bytes, what: str) -> Literal[True]:
    if len(sig) != _ED25519_SIGNATURE_SIZE:
        raise NoteError(f"{what}: an Ed25519 signature is 64 bytes, got {len(sig)}")
    try:
        verify_signature(public_key, sig, message)
    except SignatureError as e:
        raise NoteError(f"{what} does not verify: {e}") from None
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): one spelling per value, so no two texts carry one signature."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not standard base64") from None
    if _b64(raw) != text:
        raise NoteError(f"{what} is not in canonical base64")
    return raw
