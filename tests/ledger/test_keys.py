"""Ed25519 keys: RFC 8032 vectors, key ids, and encrypted 0600 key files."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import KeyStoreError, SignatureError
from ledger.keys import (
    KEY_FILE_MAGIC,
    generate_key,
    key_id,
    load_private_key,
    public_bytes,
    public_key_from_bytes,
    reseal_private_key,
    save_private_key,
    sign,
    verify_signature,
)

# RFC 8032 section 7.1, TEST 1 and TEST 2: (secret key, public key, message, signature).
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe"
     "24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302a"
     "eeb00d291612bb0c00"),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032, ids=["test1", "test2"])
def test_rfc8032_vectors(secret, public, message, signature):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert public_bytes(key).hex() == public
    assert sign(key, bytes.fromhex(message)).hex() == signature
    public_key = public_key_from_bytes(bytes.fromhex(public))
    assert verify_signature(public_key, bytes.fromhex(signature), bytes.fromhex(message)) is True
    with pytest.raises(SignatureError):
        verify_signature(public_key, bytes.fromhex(signature), bytes.fromhex(message) + b"\x00")


def test_key_id_is_the_same_from_private_public_and_raw_key():
    key = generate_key()
    kid = key_id(key)
    assert kid == key_id(key.public_key()) == key_id(public_bytes(key))
    assert len(kid) == 32 and int(kid, 16) >= 0
    assert kid != key_id(generate_key())


def test_bad_signatures_raise():
    key = generate_key()
    signature = sign(key, b"m")
    for public, sig, message in ((key.public_key(), signature, b"n"), (generate_key().public_key(), signature, b"m"),
                                 (key.public_key(), signature[:32], b"m"), (key.public_key(), b"", b"m")):
        with pytest.raises(SignatureError):
            verify_signature(public, sig, message)


@pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33), "00" * 32])
def test_public_key_must_be_32_bytes(raw):
    with pytest.raises(KeyStoreError):
        public_key_from_bytes(raw)


# --- key files -------------------------------------------------------------------------------


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _first_format_file(path, key: Ed25519PrivateKey, passphrase: str) -> None:
    """A key file as nodes wrote them before the sealed format: PKCS#8 PEM, cryptography's BestAvailableEncryption."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase.encode()))
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(pem)


def test_saved_key_is_sealed_0600_records_its_scrypt_cost_and_loads_back(tmp_path):
    key = generate_key()
    path = tmp_path / "keys" / "police.key"
    save_private_key(path, key, "correct horse", cost=11)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert data.startswith(KEY_FILE_MAGIC + bytes((11, 8, 1)))
    assert _raw(key) not in data
    assert public_bytes(load_private_key(path, "correct horse")) == public_bytes(key)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        load_private_key(path, "Correct horse")


def test_the_files_a_process_seals_share_its_salt_per_passphrase(tmp_path):
    # One scrypt derivation unlocks a node's six key files; another passphrase (another node) gets its own salt.
    for name, passphrase in (("a", "one passphrase"), ("b", "one passphrase"), ("c", "another passphrase")):
        save_private_key(tmp_path / f"{name}.key", generate_key(), passphrase, cost=10)
    salt = {name: (tmp_path / f"{name}.key").read_bytes()[len(KEY_FILE_MAGIC) + 3:][:16] for name in "abc"}
    assert salt["a"] == salt["b"] != salt["c"]
    nonce = {name: (tmp_path / f"{name}.key").read_bytes()[len(KEY_FILE_MAGIC) + 19:][:12] for name in "ab"}
    assert nonce["a"] != nonce["b"]


@pytest.mark.parametrize(("offset", "value"), [(0, 0x62), (17, 9), (17, 21), (18, 9), (19, 5), (17, 12), (-1, None)])
def test_a_sealed_key_file_altered_anywhere_is_refused(tmp_path, offset, value):
    path = tmp_path / "k.key"
    save_private_key(path, generate_key(), "pw", cost=10)
    data = bytearray(path.read_bytes())
    data[offset] = data[offset] ^ 1 if value is None else value
    path.write_bytes(bytes(data))
    with pytest.raises(KeyStoreError, match="damaged"):
        load_private_key(path, "pw")


def test_a_sealed_key_file_cut_short_is_refused(tmp_path):
    path = tmp_path / "k.key"
    save_private_key(path, generate_key(), "pw", cost=10)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(KeyStoreError, match="damaged key file"):
        load_private_key(path, "pw")


def test_a_key_file_of_the_first_format_opens_and_is_resealed_once(tmp_path):
    key = generate_key()
    path = tmp_path / "keys" / "customs.key"
    _first_format_file(path, key, "correct horse")
    assert public_bytes(load_private_key(path, "correct horse")) == public_bytes(key)

    assert reseal_private_key(path, "correct horse", cost=10) is True
    data = path.read_bytes()
    assert data.startswith(KEY_FILE_MAGIC + bytes((10, 8, 1))) and _raw(key) not in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_bytes(load_private_key(path, "correct horse")) == public_bytes(key)
    assert [p.name for p in path.parent.iterdir()] == ["customs.key"]  # nothing left beside it
    assert reseal_private_key(path, "correct horse", cost=10) is False
    assert path.read_bytes() == data
    # At another cost it is sealed again, still the same key.
    assert reseal_private_key(path, "correct horse", cost=11) is True
    assert path.read_bytes()[len(KEY_FILE_MAGIC)] == 11
    assert public_bytes(load_private_key(path, "correct horse")) == public_bytes(key)


def test_reseal_with_a_wrong_passphrase_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "k.key"
    _first_format_file(path, generate_key(), "right")
    before = path.read_bytes()
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        reseal_private_key(path, "wrong", cost=10)
    assert path.read_bytes() == before and not (tmp_path / "k.key.new").exists()


def test_reseal_after_one_cut_short_replaces_what_it_left(tmp_path):
    key = generate_key()
    path = tmp_path / "k.key"
    _first_format_file(path, key, "pw")
    (tmp_path / "k.key.new").write_bytes(b"half a file")  # a rewrite stopped before its rename
    assert reseal_private_key(path, "pw", cost=10) is True
    assert public_bytes(load_private_key(path, "pw")) == public_bytes(key)
    assert not (tmp_path / "k.key.new").exists()


def test_file_is_0600_even_with_a_permissive_umask(tmp_path):
    previous = os.umask(0)
    try:
        save_private_key(tmp_path / "k.key", generate_key(), "pw")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600


def test_wrong_passphrase_is_refused(tmp_path):
    save_private_key(tmp_path / "k.key", generate_key(), "right")
    with pytest.raises(KeyStoreError) as info:
        load_private_key(tmp_path / "k.key", "wrong")
    assert "passphrase" in str(info.value)


def test_empty_passphrase_is_refused(tmp_path):
    with pytest.raises(KeyStoreError):
        save_private_key(tmp_path / "k.key", generate_key(), "")
    assert not (tmp_path / "k.key").exists()
    save_private_key(tmp_path / "k.key", generate_key(), "pw")
    with pytest.raises(KeyStoreError):
        load_private_key(tmp_path / "k.key", "")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601])
def test_key_file_readable_by_others_is_refused(tmp_path, mode):
    path = tmp_path / "k.key"
    save_private_key(path, generate_key(), "pw")
    path.chmod(mode)
    with pytest.raises(KeyStoreError) as info:
        load_private_key(path, "pw")
    assert "group or others" in str(info.value)
    path.chmod(0o400)  # owner-only read is fine
    assert load_private_key(path, "pw")


def test_existing_key_file_is_never_overwritten(tmp_path):
    path = tmp_path / "k.key"
    save_private_key(path, generate_key(), "pw")
    before = path.read_bytes()
    with pytest.raises(KeyStoreError) as info:
        save_private_key(path, generate_key(), "pw")
    assert "exists" in str(info.value)
    assert path.read_bytes() == before


def test_missing_key_file_is_refused(tmp_path):
    with pytest.raises(KeyStoreError):
        load_private_key(tmp_path / "absent.key", "pw")


def test_a_key_of_another_algorithm_is_refused(tmp_path):
    path = tmp_path / "ec.key"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    with pytest.raises(KeyStoreError) as info:
        load_private_key(path, "pw")
    assert "Ed25519" in str(info.value)


def test_damaged_key_file_is_refused(tmp_path):
    path = tmp_path / "k.key"
    save_private_key(path, generate_key(), "pw")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(KeyStoreError):
        load_private_key(path, "pw")
