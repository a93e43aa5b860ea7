"""Key hierarchy primitives: master key loading, RFC 5649 wrapping, key ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.keywrap import (
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

from storage.errors import StorageError
from storage.keys import (
    InsecureKeyFile,
    KeyHierarchyError,
    KeyUnwrapError,
    MasterKey,
    WrappedKey,
    WrongMasterKey,
    create_key_file,
    key_id_of,
    new_data_key,
    unwrap_key,
    wrap_key,
)


def test_wrapped_key_unwraps_to_original() -> None:
    kek, key = new_data_key(), new_data_key()
    wrapped = wrap_key(kek, key)
    assert len(wrapped) == 40
    assert key not in wrapped
    assert unwrap_key(kek, wrapped) == key


def test_unwrap_with_wrong_kek_fails() -> None:
    wrapped = wrap_key(new_data_key(), new_data_key())
    with pytest.raises(KeyUnwrapError, match="integrity"):
        unwrap_key(new_data_key(), wrapped)


def test_unwrap_of_altered_bytes_fails() -> None:
    kek = new_data_key()
    wrapped = bytearray(wrap_key(kek, new_data_key()))
    for position in (0, 8, len(wrapped) - 1):
        changed = bytearray(wrapped)
        changed[position] ^= 0x01
        with pytest.raises(KeyUnwrapError):
            unwrap_key(kek, bytes(changed))
    with pytest.raises(KeyUnwrapError):
        unwrap_key(kek, bytes(wrapped[:-8]))


def test_rfc5649_vectors_hold_for_the_wrap_primitive() -> None:
    # RFC 5649 section 6 (192-bit KEK).
    kek = bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
    key20 = bytes.fromhex("c37b7e6492584340bed12207808941155068f738")
    wrapped20 = bytes.fromhex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")
    key7 = bytes.fromhex("466f7250617369")
    wrapped7 = bytes.fromhex("afbeb0f07dfbf5419200f2ccb50bb24f")
    assert aes_key_wrap_with_padding(kek, key20) == wrapped20
    assert aes_key_wrap_with_padding(kek, key7) == wrapped7
    assert aes_key_unwrap_with_padding(kek, wrapped20) == key20
    # wrap_key is exactly that primitive with an AES-256 KEK (deterministic, so comparable).
    kek256 = hashlib.sha256(kek).digest()
    assert wrap_key(kek256, key20) == aes_key_wrap_with_padding(kek256, key20)
    assert unwrap_key(kek256, wrap_key(kek256, key7)) == key7


def test_kek_must_be_256_bits() -> None:
    with pytest.raises(KeyHierarchyError, match="32 bytes"):
        wrap_key(b"\x00" * 16, new_data_key())


def test_data_keys_are_fresh_256_bit() -> None:
    keys = {new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) == 32 for k in keys)


def test_key_id_is_derived_not_a_hash_of_the_key() -> None:
    key = new_data_key()
    master = MasterKey(key)
    assert len(master.key_id) == 16
    assert master.key_id != hashlib.sha256(key).digest()[:8].hex()
    derived = hmac.digest(key, b"letterbox/key-id/v1", "sha256")
    assert master.key_id == hashlib.sha256(derived).digest()[:8].hex() == key_id_of(key)


def test_master_key_repr_does_not_show_key() -> None:
    master = MasterKey.generate()
    assert base64.b64encode(master.key).decode() not in repr(master)
    assert master.key.hex() not in repr(master)
    assert master.key_id in repr(master)


def test_master_key_wraps_family_key_with_its_id() -> None:
    master = MasterKey.generate()
    family_key = new_data_key()
    wrapped = master.wrap(family_key)
    assert wrapped.key_id == master.key_id
    assert master.unwrap(WrappedKey.decode(wrapped.encode())) == family_key


def test_other_master_key_is_named_as_wrong() -> None:
    wrapped = MasterKey.generate().wrap(new_data_key())
    other = MasterKey.generate()
    with pytest.raises(WrongMasterKey, match=wrapped.key_id):
        other.unwrap(wrapped)


def test_forged_key_id_still_fails_integrity() -> None:
    wrapped = MasterKey.generate().wrap(new_data_key())
    other = MasterKey.generate()
    with pytest.raises(KeyUnwrapError):
        other.unwrap(WrappedKey(other.key_id, wrapped.wrapped))


@pytest.mark.parametrize(
    "text", ["", "lbxk1:abc:AAAA", "nope:0123456789abcdef:AAAA", "lbxk1:0123456789abcdef:***"]
)
def test_malformed_wrapped_key_text_is_refused(text: str) -> None:
    with pytest.raises(KeyHierarchyError):
        WrappedKey.decode(text)


def test_master_key_loads_from_base64() -> None:
    raw = os.urandom(32)
    assert MasterKey.from_base64(base64.b64encode(raw).decode() + "\n").key == raw


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_bad_master_key_value_is_refused_with_message(value: str) -> None:
    with pytest.raises(KeyHierarchyError):
        MasterKey.from_base64(value)


def test_created_key_file_is_0600_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    created = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKey.from_file(path) == created
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    first = create_key_file(path)
    with pytest.raises(KeyHierarchyError, match="already exists"):
        create_key_file(path)
    assert MasterKey.from_file(path) == first


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666, 0o620, 0o601, 0o610])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    create_key_file(path)
    path.chmod(mode)
    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        MasterKey.from_file(path)


def test_owner_only_read_only_key_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    created = create_key_file(path)
    path.chmod(0o400)
    assert MasterKey.from_file(path) == created


def test_key_file_through_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.key"
    create_key_file(real)
    link = tmp_path / "link.key"
    link.symlink_to(real)
    with pytest.raises(KeyHierarchyError):
        MasterKey.from_file(link)


def test_missing_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(KeyHierarchyError, match="does not exist"):
        MasterKey.from_file(tmp_path / "absent.key")


def test_key_errors_are_storage_errors() -> None:
    for cls in (KeyHierarchyError, KeyUnwrapError, WrongMasterKey, InsecureKeyFile):
        assert issubclass(cls, StorageError)
