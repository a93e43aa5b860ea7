"""Building blocks for tests that need a centre, a family and stored content."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.children import open_child, seal_child, seal_child_with_key, seal_relationship
from storage.keyring import KeyRing
from storage.models import (
    AccountStatus,
    Centre,
    Child,
    ContactLevel,
    Family,
    FamilySender,
    ObjectRole,
    ReferrerAccess,
    Role,
    StoredObject,
    User,
)
from storage.vault import EncryptedStore


async def new_family(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    *,
    level: ContactLevel = ContactLevel.SUPPORTED,
    case_reference: str | None = None,
    child: tuple[str, int] | None = None,
) -> uuid.UUID:
    async with sessionmaker.begin() as session:
        centre = Centre(name="Centre")
        session.add(centre)
        await session.flush()
        family = Family(
            centre_id=centre.id,
            case_reference=case_reference or f"LB-{uuid.uuid4().hex[:10]}",
            contact_level=level,
            channels=["letters"],
        )
        session.add(family)
        await session.flush()
        key = await keyring.create_family_key(session, family.id)
        if child is not None:
            session.add(
                Child(
                    family_id=family.id, details_sealed=seal_child_with_key(key, family.id, *child)
                )
            )
        return family.id


async def stream(data: bytes, piece: int = 7000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


async def store_bytes(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: EncryptedStore,
    family_id: uuid.UUID,
    data: bytes,
) -> uuid.UUID:
    async with sessionmaker.begin() as session:
        row = await vault.put(
            session, family_id, stream(data), role=ObjectRole.ORIGINAL, media_type="text/plain"
        )
        return row.id


async def read_object(
    sessionmaker: async_sessionmaker[AsyncSession], vault: EncryptedStore, object_id: uuid.UUID
) -> bytes:
    async with sessionmaker() as session:
        row = (
            await session.execute(select(StoredObject).where(StoredObject.id == object_id))
        ).scalar_one()
        return await vault.read_bytes(session, row)


async def add_other_parent_and_sister(
    session: AsyncSession, keyring: KeyRing, centre_id: uuid.UUID, family_id: uuid.UUID
) -> None:
    """Other people in the family besides the parent who writes: a second parent, Jordan
    Blake (Sam's mum), and Sam's sister Matilda."""
    other = User(
        centre_id=centre_id,
        email=f"jordan-{uuid.uuid4().hex[:8]}@example.org",
        display_name="Jordan Blake",
        role=Role.PARENT,
        status=AccountStatus.ACTIVE,
    )
    session.add(other)
    await session.flush()
    session.add(
        FamilySender(
            family_id=family_id,
            user_id=other.id,
            relationship_sealed=await seal_relationship(session, keyring, family_id, "mum"),
        )
    )
    session.add(
        Child(
            family_id=family_id,
            details_sealed=await seal_child(session, keyring, family_id, "Matilda", 2019),
        )
    )


async def set_children_born(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    family_id: uuid.UUID,
    year: int,
) -> None:
    """Every child of the family born in ``year`` (their details re-sealed, names kept)."""
    async with sessionmaker.begin() as session:
        for child in await session.scalars(select(Child).where(Child.family_id == family_id)):
            facts = await open_child(session, keyring, child)
            child.details_sealed = await seal_child(session, keyring, family_id, facts.name, year)


async def add_referrer_with_access(
    session: AsyncSession,
    centre_id: uuid.UUID,
    family_id: uuid.UUID,
    granted_by: uuid.UUID,
    *,
    email: str,
    display_name: str,
) -> User:
    """An active referrer of the centre with read access to the family until tomorrow."""
    user = User(
        centre_id=centre_id,
        email=email,
        display_name=display_name,
        role=Role.REFERRER,
        status=AccountStatus.ACTIVE,
    )
    session.add(user)
    await session.flush()
    session.add(
        ReferrerAccess(
            family_id=family_id,
            user_id=user.id,
            granted_by=granted_by,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    )
    return user
