"""Key hierarchy primitives: master key, RFC 5649 key wrapping, data keys.

master key (outside DB and object store)
  └─ wraps each family key          (stored in the DB as a `WrappedKey`)
       └─ wraps each object's data key (stored next to the object reference)

Every wrapped key carries the id of the key that wrapped it, so rotating the master key re-wraps
family keys without touching any object, and a wrong master key is named as such instead of
surfacing as a generic integrity failure.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

from storage.errors import InsecureKeyFile, KeyHierarchyError, KeyUnwrapError, WrongMasterKey

__all__ = [
    "KEY_SIZE",
    "MASTER_KEY_ENV",
    "InsecureKeyFile",
    "KeyHierarchyError",
    "KeyUnwrapError",
    "MasterKey",
    "WrappedKey",
    "WrongMasterKey",
    "create_key_file",
    "key_id_of",
    "new_data_key",
    "unwrap_key",
    "wrap_key",
]

KEY_SIZE: Final = 32
MASTER_KEY_ENV: Final = "LETTERBOX_MASTER_KEY"
# Domain separation for the key id: the id is a hash of an HMAC of the key, never of the key
# itself, so publishing ids (logs, DB rows, exports) reveals nothing usable about the key.
_KEY_ID_LABEL: Final = b"letterbox/key-id/v1"
_WRAPPED_FORMAT: Final = "lbxk1"


def new_data_key() -> bytes:
    """A fresh random 256-bit key (family key or per-object data key)."""
    return secrets.token_bytes(KEY_SIZE)


def key_id_of(key: bytes) -> str:
    """Public identifier of a key: first 8 bytes (hex) of SHA-256(HMAC-SHA256(key, label))."""
    derived = hmac.digest(key, _KEY_ID_LABEL, "sha256")
    return hashlib.sha256(derived).digest()[:8].hex()


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_SIZE:
        raise KeyHierarchyError(f"{what} must be {KEY_SIZE} bytes, got {len(key)}")


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """Wrap ``key`` under ``kek`` with AES-256 key wrap with padding (RFC 5649)."""
    _check_key(kek, "key-encryption key")
    if not key:
        raise KeyHierarchyError("cannot wrap an empty key")
    return aes_key_wrap_with_padding(kek, key)


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """Unwrap an RFC 5649 wrapped key; `KeyUnwrapError` if ``kek`` is wrong or bytes altered."""
    _check_key(kek, "key-encryption key")
    try:
        return aes_key_unwrap_with_padding(kek, wrapped)
    except (InvalidUnwrap, ValueError):
        raise KeyUnwrapError(
            "wrapped key failed its integrity check: wrong wrapping key or altered bytes"
        ) from None


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A key wrapped under the key whose id is ``key_id``; safe to store anywhere."""

    key_id: str
    wrapped: bytes

    def encode(self) -> str:
        """Text form ``lbxk1:<key_id>:<base64 wrapped>`` for a DB text column or a file."""
        return f"{_WRAPPED_FORMAT}:{self.key_id}:{base64.b64encode(self.wrapped).decode('ascii')}"

    @classmethod
    def decode(cls, text: str) -> WrappedKey:
        fmt, sep1, rest = text.partition(":")
        key_id, sep2, b64 = rest.partition(":")
        if fmt != _WRAPPED_FORMAT or not sep1 or not sep2 or len(key_id) != 16:
            raise KeyHierarchyError("not a wrapped key in the lbxk1 text form")
        try:
            int(key_id, 16)
            wrapped = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error):
            raise KeyHierarchyError("wrapped key text is malformed") from None
        return cls(key_id=key_id, wrapped=wrapped)


@dataclass(frozen=True, slots=True)
class MasterKey:
    """The centre's 256-bit master key and its public id. ``repr`` never shows the key."""

    key: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        _check_key(self.key, "master key")
        object.__setattr__(self, "key_id", key_id_of(self.key))

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(new_data_key())

    @classmethod
    def from_base64(cls, value: str) -> MasterKey:
        """Load from base64 text, e.g. the ``LETTERBOX_MASTER_KEY`` environment variable."""
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (ValueError, binascii.Error):
            raise KeyHierarchyError(
                f"{MASTER_KEY_ENV} is not valid base64; generate one with "
                "`python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'`"
            ) from None
        if len(raw) != KEY_SIZE:
            raise KeyHierarchyError(f"master key must decode to {KEY_SIZE} bytes, got {len(raw)}")
        return cls(raw)

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        """Load from a key file holding base64 text. Refuses a file that others can access."""
        try:
            # O_NOFOLLOW: a symlink could point the check at one file and the read at another.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise KeyHierarchyError(f"master key file {path} does not exist") from None
        except OSError as exc:
            raise KeyHierarchyError(f"cannot open master key file {path}: {exc}") from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InsecureKeyFile(f"master key file {path} is not a regular file")
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o077:
                raise InsecureKeyFile(
                    f"master key file {path} has mode {mode:04o}; it must be readable by its "
                    f"owner only. Fix with: chmod 600 {path}"
                )
            text = fh.read(4096).decode("ascii", errors="replace")
        return cls.from_base64(text)

    def wrap(self, key: bytes) -> WrappedKey:
        """Wrap a family key under this master key."""
        return WrappedKey(key_id=self.key_id, wrapped=wrap_key(self.key, key))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        """Unwrap a family key; `WrongMasterKey` if it was wrapped under another master key."""
        if wrapped.key_id != self.key_id:
            raise WrongMasterKey(
                f"key was wrapped under master key {wrapped.key_id}, "
                f"but the loaded master key is {self.key_id}"
            )
        return unwrap_key(self.key, wrapped.wrapped)


def create_key_file(path: Path) -> MasterKey:
    """Create a new master key file with mode 0600, atomically, and return the key.

    Never overwrites: an existing key file is the only way to read existing data, so replacing
    it by accident would destroy everything. Written to a temp file, fsynced, then hard-linked
    into place (link fails if the name exists, unlike rename), then the directory is fsynced.
    """
    key = MasterKey.generate()
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)  # the umask may have narrowed it; never widened
            fh.write(base64.b64encode(key.key) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise KeyHierarchyError(
                f"master key file {path} already exists; refusing to overwrite it"
            ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key
