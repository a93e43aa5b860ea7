"""EncryptedStore: the only way content is stored or read.

It joins the key ring (family keys), the chunked AEAD format (``storage.stream``) and an
object store backend. Each object gets a fresh data key, wrapped under its family's key and
kept in its ``StoredObject`` row, which the caller commits in the same transaction as
whatever refers to the object. If that transaction fails after the upload, the object is an
orphan (no row) and ``letterbox reconcile`` removes it; a row never points at nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.keys import new_data_key, unwrap_key, wrap_key
from storage.models import ObjectRole, StoredObject
from storage.objects import ObjectStore
from storage.stream import DecryptedStream, decrypt_stream, encrypt_stream


class ObjectTooLarge(StorageError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than the limit of {limit} bytes")
        self.limit = limit


def object_name(family_id: uuid.UUID, object_id: uuid.UUID) -> str:
    # Grouped by family, so one family's objects can be listed (reconcile, shred report).
    return f"f/{family_id.hex}/{object_id.hex}"


class _Measured:
    """Counts and hashes plaintext on its way into the cipher; enforces a size limit."""

    def __init__(self, source: AsyncIterable[bytes], limit: int | None) -> None:
        self._source = source
        self._limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._source:
            self.size += len(piece)
            if self._limit is not None and self.size > self._limit:
                raise ObjectTooLarge(self._limit)
            self.digest.update(piece)
            yield piece


class EncryptedStore:
    def __init__(self, objects: ObjectStore, keyring: KeyRing) -> None:
        self.objects = objects
        self.keyring = keyring

    async def put(
        self,
        session: AsyncSession,
        family_id: uuid.UUID,
        source: AsyncIterable[bytes],
        *,
        role: ObjectRole,
        media_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        """Encrypt and store ``source``; add its row to ``session`` (the caller commits)."""
        family_key = await self.keyring.family_key(session, family_id)
        object_id = uuid.uuid4()
        data_key = new_data_key()
        measured = _Measured(source, max_bytes)
        await self.objects.put(
            object_name(family_id, object_id),
            encrypt_stream(data_key, str(object_id), str(family_id), measured.__aiter__()),
        )
        row = StoredObject(
            id=object_id,
            family_id=family_id,
            role=role,
            media_type=media_type,
            size=measured.size,
            sha256=measured.digest.hexdigest(),
            wrapped_data_key=wrap_key(family_key, data_key),
            created_at=datetime.now(UTC),
        )
        session.add(row)
        return row

    async def put_bytes(
        self,
        session: AsyncSession,
        family_id: uuid.UUID,
        data: bytes,
        *,
        role: ObjectRole,
        media_type: str,
    ) -> StoredObject:
        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.put(session, family_id, one(), role=role, media_type=media_type)

    async def open(self, session: AsyncSession, stored: StoredObject) -> DecryptedStream:
        """Plaintext of ``stored``, one authenticated 64 KiB chunk at a time. Raises
        ``FamilyShredded`` once the family key is gone, ``StreamTampered`` on any alteration
        (a streaming caller must then abort its own output)."""
        family_key = await self.keyring.family_key(session, stored.family_id)
        data_key = unwrap_key(family_key, stored.wrapped_data_key)
        body = await self.objects.open(object_name(stored.family_id, stored.id))
        return decrypt_stream(data_key, str(stored.id), str(stored.family_id), body)

    async def read_bytes(self, session: AsyncSession, stored: StoredObject) -> bytes:
        parts = [piece async for piece in await self.open(session, stored)]
        return b"".join(parts)

    async def delete(self, stored: StoredObject) -> None:
        await self.objects.delete(object_name(stored.family_id, stored.id))
