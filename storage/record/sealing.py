"""Payload sealing: values holding personal data are stored sealed under the family key.

The chain hashes the sealed form, so shredding the family key erases the values and the
record still verifies; reading a payload opens them again, or shows `ERASED`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage import recordformat as rf
from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import RecordEvent
from storage.record.errors import RecordError
from storage.stream import open_bytes, seal_bytes

__all__ = [
    "ERASED",
    "SEALED_MARK",
    "KeyRingPayloadSealer",
    "PayloadSealer",
    "Sealed",
    "StaticKeyPayloadSealer",
    "open_payload",
    "reveal_payload",
    "seal_payload",
]

SEALED_MARK: Final = "$sealed"
_PAYLOAD_PURPOSE: Final = "record-payload"


@dataclass(frozen=True, slots=True)
class Sealed:
    """A payload value holding personal data: stored sealed under the family key.

    ``{"reason": Sealed("Parent used the child's new surname")}`` is stored as
    ``{"reason": {"$sealed": "<base64>"}}``; the chain hashes the sealed form, so shredding the
    family key erases the value and the record still verifies.
    """

    value: Any = field(repr=False)


class PayloadSealer(Protocol):
    """Seals and opens payload values under a family's key."""

    async def seal(self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes) -> bytes:
        """Ciphertext of ``plaintext`` under the family's key, bound to the family."""
        ...

    async def open(self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes) -> bytes:
        """The plaintext; raises (e.g. `storage.keyring.FamilyShredded`) when it cannot."""
        ...


@dataclass(frozen=True)
class KeyRingPayloadSealer:
    """The production sealer: the family key from the key ring (wrapped under the master key)."""

    keyring: KeyRing

    async def seal(self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes) -> bytes:
        return await self.keyring.seal_for_family(session, family_id, plaintext, _PAYLOAD_PURPOSE)

    async def open(self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes) -> bytes:
        return await self.keyring.open_for_family(session, family_id, sealed, _PAYLOAD_PURPOSE)


@dataclass(frozen=True)
class StaticKeyPayloadSealer:
    """AES-256-GCM (the chunked stream format) under given 32-byte family keys."""

    keys: Mapping[uuid.UUID, bytes] = field(repr=False)

    def _key(self, family_id: uuid.UUID) -> bytes:
        try:
            return self.keys[family_id]
        except KeyError:
            raise RecordError(f"no payload key for family {family_id}") from None

    async def seal(self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes) -> bytes:
        return seal_bytes(self._key(family_id), _PAYLOAD_PURPOSE, str(family_id), plaintext)

    async def open(self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes) -> bytes:
        return open_bytes(self._key(family_id), _PAYLOAD_PURPOSE, str(family_id), sealed)


async def seal_payload(
    value: Any, seal: Callable[[bytes], Awaitable[bytes]] | None, depth: int = 0
) -> Any:
    """``value`` as it is stored: `Sealed` values sealed by ``seal``, ids and times as text."""
    if depth > 16:
        raise RecordError("payload nested too deeply")
    if isinstance(value, Sealed):
        if seal is None:
            raise RecordError("payload holds a Sealed value but the record log has no sealer")
        sealed = await seal(rf.canonical_json(value.value))
        return {SEALED_MARK: base64.b64encode(sealed).decode("ascii")}
    if isinstance(value, Mapping):
        if SEALED_MARK in value:
            raise RecordError(f"{SEALED_MARK!r} is reserved for sealed values")
        return {k: await seal_payload(v, seal, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [await seal_payload(v, seal, depth + 1) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return rf.format_time(value)
    return value


ERASED: Final = "[erased: family key destroyed]"


async def open_payload(
    session: AsyncSession, family_id: uuid.UUID, payload: Any, sealer: PayloadSealer
) -> Any:
    """``payload`` (already parsed) with its sealed values opened; after crypto-shredding
    they read as `ERASED`. Payloads without a sealed value are returned as they are, which
    keeps a 10,000-event export cheap."""

    async def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {SEALED_MARK} and isinstance(value[SEALED_MARK], str):
                try:
                    raw = base64.b64decode(value[SEALED_MARK], validate=True)
                    return rf.parse_canonical(await sealer.open(session, family_id, raw))
                except (StorageError, binascii.Error, rf.RecordFormatError):
                    return ERASED
            return {k: await walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await walk(v) for v in value]
        return value

    if not _has_sealed(payload):
        return payload
    return await walk(payload)


def _has_sealed(value: Any) -> bool:
    if isinstance(value, dict):
        return SEALED_MARK in value or any(_has_sealed(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_sealed(v) for v in value)
    return False


async def reveal_payload(
    session: AsyncSession, event: RecordEvent, sealer: PayloadSealer
) -> dict[str, Any]:
    """The payload with sealed values opened; after shredding they read as `ERASED`."""
    payload = await open_payload(
        session, event.family_id, rf.parse_canonical(event.payload), sealer
    )
    assert isinstance(payload, dict)  # noqa: S101 - payloads are objects by construction
    return payload
