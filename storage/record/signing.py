"""The centre's record-signing key: created once, its private half sealed under the master key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import recordformat as rf
from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import CentreKey
from storage.record.errors import SigningKeyError

__all__ = [
    "NOTE_KEY_NAME",
    "SIGNING_KEY_NAME",
    "RecordSigner",
    "load_or_create_signer",
    "load_public_key",
]

log = logging.getLogger(__name__)

SIGNING_KEY_NAME: Final = "record-signing"
NOTE_KEY_NAME: Final = "letterbox-record"


@dataclass(frozen=True)
class RecordSigner:
    """The centre's Ed25519 record-signing key, opened for this process."""

    private_key: Ed25519PrivateKey = field(repr=False)
    name: str = NOTE_KEY_NAME

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @property
    def fingerprint(self) -> str:
        return rf.key_fingerprint(self.public_key)

    def sign_note(self, checkpoint: rf.Checkpoint) -> str:
        return rf.make_signed_note(checkpoint, self.name, self.private_key)


def _purpose(public_key: bytes) -> str:
    # Binding the public key into the sealed private half: a swapped public_key column makes
    # the private half fail to open, so the stored public key is authenticated by the master key.
    return f"centre-key/{SIGNING_KEY_NAME}/{rf.key_fingerprint(public_key)}"


async def load_or_create_signer(session: AsyncSession, keyring: KeyRing) -> RecordSigner:
    """The record-signing key, generated on first start (the private half sealed)."""
    row = await session.get(CentreKey, SIGNING_KEY_NAME)
    if row is None:
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes_raw()
        values = {
            "name": SIGNING_KEY_NAME,
            "master_key_id": keyring.master.key_id,
            "public_key": public,
            "private_key_sealed": keyring.seal_for_centre(
                private.private_bytes_raw(), _purpose(public)
            ),
            "created_at": datetime.now(UTC),
        }
        dialect = session.get_bind().dialect.name
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two nodes starting at once: one key wins, both use it.
        await session.execute(insert_(CentreKey).values(values).on_conflict_do_nothing())
        row = await session.get(CentreKey, SIGNING_KEY_NAME, populate_existing=True)
        assert row is not None  # noqa: S101 - inserted or already present
        log.info("record-signing key ready: %s", rf.key_fingerprint(bytes(row.public_key)))
    return _open_signer(row, keyring)


def _open_signer(row: CentreKey, keyring: KeyRing) -> RecordSigner:
    public = bytes(row.public_key)
    try:
        raw = keyring.open_for_centre(bytes(row.private_key_sealed), _purpose(public))
        private = Ed25519PrivateKey.from_private_bytes(raw)
    except (StorageError, ValueError) as exc:
        raise SigningKeyError(
            "the record-signing key does not open under this master key, or its public half "
            f"was altered ({exc})"
        ) from None
    if private.public_key().public_bytes_raw() != public:
        raise SigningKeyError(
            "the record-signing key's public half does not match its private half"
        )
    return RecordSigner(private)


async def load_public_key(session: AsyncSession, keyring: KeyRing | None = None) -> bytes:
    """The centre's public record key; authenticated against the master key when given."""
    row = await session.get(CentreKey, SIGNING_KEY_NAME)
    if row is None:
        raise SigningKeyError(
            "no record-signing key yet: it is created when the service first starts"
        )
    if keyring is not None:
        return _open_signer(row, keyring).public_key
    return bytes(row.public_key)
