"""The key ring: the master key plus the family keys kept (wrapped) in the database.

Every other part asks the key ring for keys and never touches wrapping itself:
- ``family_key`` unwraps a family's key, or raises ``FamilyShredded`` once it was destroyed;
- ``seal_for_centre``/``open_for_centre`` seal small centre-level secrets (TOTP secrets,
  referral risks) under a subkey derived from the master key — the master key itself only
  ever wraps keys;
- ``shred`` destroys a family key (crypto-shredding), ``rotate_master`` re-wraps every
  family key under a new master key without touching any object.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import KeyHierarchyError, StorageError
from storage.keys import MasterKey, WrappedKey, create_key_file, new_data_key
from storage.models import FamilyKey, RecordEvent, User
from storage.stream import open_bytes, seal_bytes

log = logging.getLogger(__name__)

_CENTRE_SCOPE = "centre"
_CENTRE_MAGIC = b"LBC1"


def _split_centre_value(sealed: bytes) -> tuple[str, bytes]:
    if len(sealed) < 6 or not sealed.startswith(_CENTRE_MAGIC):
        raise KeyHierarchyError("not a centre-sealed value")
    length = sealed[4]
    label = sealed[5 : 5 + length]
    if len(label) != length:
        raise KeyHierarchyError("centre-sealed value is truncated")
    return label.decode(errors="replace"), sealed[5 + length :]


class FamilyShredded(StorageError):
    """The family's key was destroyed: its content can never be read again."""

    def __init__(self, message: str, family_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.family_id = family_id


async def shredded_when_and_by(
    session: AsyncSession, family_id: uuid.UUID
) -> tuple[datetime | None, str]:
    """When a family's key was destroyed, and who did it (from the ``family_shredded``
    record event: the name the shred was given, else the author's display name)."""
    shredded_at = await session.scalar(
        select(FamilyKey.shredded_at).where(FamilyKey.family_id == family_id)
    )
    event = (
        await session.execute(
            select(RecordEvent.payload, RecordEvent.actor_id)
            .where(RecordEvent.family_id == family_id, RecordEvent.kind == "family_shredded")
            .order_by(RecordEvent.seq.desc())
            .limit(1)
        )
    ).first()
    name = "the centre"
    if event is not None:
        try:
            by = json.loads(event.payload).get("by")
        except ValueError:
            by = None
        if isinstance(by, str) and by.strip():
            name = by.strip()
        elif event.actor_id is not None:
            name = (
                await session.scalar(select(User.display_name).where(User.id == event.actor_id))
                or name
            )
    return shredded_at, name


class MissingFamilyKey(KeyHierarchyError):
    pass


def load_master_key(
    key_b64: str | None, key_file: Path, *, may_create: bool
) -> tuple[MasterKey, bool]:
    """The master key from the environment or the key file. In development the key file is
    created on first run (returns ``created=True`` so the caller can say so)."""
    if key_b64 is not None:
        return MasterKey.from_base64(key_b64), False
    if key_file.exists():
        return MasterKey.from_file(key_file), False
    if not may_create:
        raise KeyHierarchyError(
            f"no master key: set LETTERBOX_MASTER_KEY or create the key file {key_file}"
        )
    return create_key_file(key_file), True


@dataclass
class KeyRing:
    master: MasterKey
    _centre_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._centre_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"letterbox/centre-seal/v1"
        ).derive(self.master.key)

    # --- centre-level small secrets -----------------------------------------------------

    def seal_for_centre(self, plaintext: bytes, purpose: str) -> bytes:
        """Seal a small value; ``purpose`` is bound in (as associated data), so a value sealed
        for one use cannot be replayed as another (e.g. a TOTP secret as a referral note).

        The purpose also travels in clear in front of the ciphertext, so master-key rotation
        can re-seal every centre value without knowing what each one is for."""
        label = purpose.encode()
        if not 0 < len(label) < 256:
            raise KeyHierarchyError("a seal purpose is 1 to 255 bytes")
        sealed = seal_bytes(self._centre_key, purpose, _CENTRE_SCOPE, plaintext)
        return _CENTRE_MAGIC + bytes([len(label)]) + label + sealed

    def open_for_centre(self, sealed: bytes, purpose: str) -> bytes:
        stored_purpose, body = _split_centre_value(sealed)
        if stored_purpose != purpose:
            raise KeyHierarchyError(f"value was sealed for {stored_purpose!r}, not {purpose!r}")
        return open_bytes(self._centre_key, purpose, _CENTRE_SCOPE, body)

    def reseal_for_centre(self, sealed: bytes, new: KeyRing) -> bytes:
        """Re-seal a centre value under ``new`` (master-key rotation)."""
        purpose, _ = _split_centre_value(sealed)
        return new.seal_for_centre(self.open_for_centre(sealed, purpose), purpose)

    # --- family keys ----------------------------------------------------------------------

    async def create_family_key(self, session: AsyncSession, family_id: uuid.UUID) -> bytes:
        key = new_data_key()
        wrapped = self.master.wrap(key)
        session.add(
            FamilyKey(
                family_id=family_id, master_key_id=wrapped.key_id, wrapped_key=wrapped.wrapped
            )
        )
        return key

    async def family_key(self, session: AsyncSession, family_id: uuid.UUID) -> bytes:
        row = await session.get(FamilyKey, family_id)
        if row is None:
            raise MissingFamilyKey(f"family {family_id} has no key")
        if row.shredded_at is not None or row.wrapped_key is None:
            raise FamilyShredded(
                "This family's content was permanently erased (crypto-shredded) and can "
                "no longer be read.",
                family_id,
            )
        return self.master.unwrap(WrappedKey(row.master_key_id, row.wrapped_key))

    async def seal_for_family(
        self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes, purpose: str
    ) -> bytes:
        key = await self.family_key(session, family_id)
        return seal_bytes(key, purpose, str(family_id), plaintext)

    async def open_for_family(
        self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes, purpose: str
    ) -> bytes:
        key = await self.family_key(session, family_id)
        return open_bytes(key, purpose, str(family_id), sealed)

    async def shred(self, session: AsyncSession, family_id: uuid.UUID) -> None:
        row = await session.get(FamilyKey, family_id, with_for_update=True)
        if row is None:
            raise MissingFamilyKey(f"family {family_id} has no key")
        row.wrapped_key = None
        row.shredded_at = datetime.now(UTC)

    async def rotate_master(self, session: AsyncSession, new_master: MasterKey) -> int:
        """Re-wrap every live family key under ``new_master``. Objects are untouched: their
        data keys are wrapped under the family keys, which do not change."""
        rows = (
            await session.scalars(
                select(FamilyKey).where(FamilyKey.wrapped_key.is_not(None)).with_for_update()
            )
        ).all()
        now = datetime.now(UTC)
        for row in rows:
            assert row.wrapped_key is not None  # noqa: S101 - filtered in the query
            key = self.master.unwrap(WrappedKey(row.master_key_id, row.wrapped_key))
            rewrapped = new_master.wrap(key)
            row.master_key_id = rewrapped.key_id
            row.wrapped_key = rewrapped.wrapped
            row.rotated_at = now
        return len(rows)
