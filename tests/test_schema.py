"""The migrations build exactly the models, and the schema itself enforces the domain rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError

from storage import db
from storage.models import (
    Base,
    Centre,
    ContactLevel,
    Family,
    ObservationNote,
    Role,
    User,
)


async def test_migrations_produce_exactly_the_models(database_url: str) -> None:
    engine = db.create_engine(database_url)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


async def _family(session: object, level: ContactLevel) -> tuple[Family, User]:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    centre = Centre(name="Test centre")
    session.add(centre)
    await session.flush()
    staff = User(
        centre_id=centre.id,
        email=f"{uuid.uuid4().hex}@example.org",
        display_name="Sam",
        role=Role.STAFF,
    )
    family = Family(
        centre_id=centre.id,
        case_reference=f"LB-{uuid.uuid4().hex[:8]}",
        contact_level=level,
        channels=["letters"],
    )
    session.add_all([staff, family])
    await session.flush()
    return family, staff


async def test_database_refuses_observation_note_for_supported_family(database_url: str) -> None:
    engine = db.create_engine(database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        with pytest.raises(IntegrityError):
            async with sessionmaker.begin() as session:
                family, staff = await _family(session, ContactLevel.SUPPORTED)
                # The app would never build this note; the schema must refuse it regardless.
                session.add(
                    ObservationNote(
                        family_id=family.id,
                        contact_level=ContactLevel.SUPPORTED,
                        author_id=staff.id,
                        text_sealed=b"x",
                    )
                )
                await session.flush()
        with pytest.raises(IntegrityError):
            async with sessionmaker.begin() as session:
                family, staff = await _family(session, ContactLevel.SUPPORTED)
                # Lying about the level does not help: it must match the family's row.
                session.add(
                    ObservationNote(
                        family_id=family.id,
                        contact_level=ContactLevel.SUPERVISED,
                        author_id=staff.id,
                        text_sealed=b"x",
                    )
                )
                await session.flush()
    finally:
        await engine.dispose()


async def test_family_with_notes_cannot_silently_become_supported(database_url: str) -> None:
    engine = db.create_engine(database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        async with sessionmaker.begin() as session:
            family, staff = await _family(session, ContactLevel.SUPERVISED)
            session.add(
                ObservationNote(
                    family_id=family.id,
                    contact_level=ContactLevel.SUPERVISED,
                    author_id=staff.id,
                    text_sealed=b"sealed",
                )
            )
            family_id = family.id
        with pytest.raises(IntegrityError):
            async with sessionmaker.begin() as session:
                family = (
                    await session.execute(select(Family).where(Family.id == family_id))
                ).scalar_one()
                family.contact_level = ContactLevel.SUPPORTED
                await session.flush()
    finally:
        await engine.dispose()


async def test_timestamps_come_back_timezone_aware_utc(database_url: str) -> None:
    engine = db.create_engine(database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        async with sessionmaker.begin() as session:
            centre = Centre(name="Aware", created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
            session.add(centre)
        async with sessionmaker() as session:
            loaded = (
                await session.execute(select(Centre).where(Centre.id == centre.id))
            ).scalar_one()
            assert loaded.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
            assert loaded.created_at.tzinfo is not None
    finally:
        await engine.dispose()


async def test_naive_timestamps_are_refused(database_url: str) -> None:
    engine = db.create_engine(database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        with pytest.raises(StatementError, match="naive datetime"):
            async with sessionmaker.begin() as session:
                session.add(Centre(name="Naive", created_at=datetime(2026, 1, 2)))
                await session.flush()
    finally:
        await engine.dispose()


async def test_unknown_role_is_refused_by_the_schema(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                centre_id = uuid.uuid4()
                await connection.execute(
                    Centre.__table__.insert().values(
                        id=centre_id, name="c", created_at=datetime.now(UTC)
                    )
                )
                # Raw SQL on purpose: the ORM would refuse the bad role before the database does.
                await connection.exec_driver_sql(
                    "INSERT INTO users (id, centre_id, email, display_name, role, status, created_at) "
                    f"VALUES ('{uuid.uuid4().hex}', '{centre_id.hex}', 'x@example.org', 'x', 'owner', 'active', '2026-01-01')"
                )
    finally:
        await engine.dispose()
