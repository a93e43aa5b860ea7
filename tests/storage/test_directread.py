"""A DirectRead gives the rows SQLAlchemy gives (same values, same Python types, parameters
bound the same way), and on PostgreSQL it gives them without SQLAlchemy's execution."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    event,
    or_,
    select,
)
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db
from storage.directread import DirectRead
from storage.models import ItemStatus, UTCDateTime, _enum

METADATA = MetaData()
THINGS = Table(
    "directread_things",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("owner_id", Uuid, nullable=False),
    Column("status", _enum(ItemStatus, "directread_status"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("sealed", LargeBinary, nullable=True),
    Column("note", String(50), nullable=True),
)

# A parameter given at each execution, and values fixed in the statement (enum members).
READ = DirectRead(
    select(THINGS.c.id, THINGS.c.status, THINGS.c.at, THINGS.c.opened_at, THINGS.c.sealed)
    .where(
        THINGS.c.owner_id == bindparam("owner_id"),
        or_(THINGS.c.status == ItemStatus.APPROVED, THINGS.c.status == ItemStatus.OPENED),
    )
    .order_by(THINGS.c.at.desc())
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.reading_engine(db.create_engine(database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(METADATA.create_all)
        yield engine
    finally:
        await engine.dispose()


async def _seed(engine: AsyncEngine) -> tuple[uuid.UUID, uuid.UUID]:
    owner, other = uuid.uuid4(), uuid.uuid4()
    t0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward
    rows: list[dict[str, Any]] = []
    for n, status in enumerate([*ItemStatus, ItemStatus.APPROVED, ItemStatus.OPENED]):
        rows.append(
            {
                "id": uuid.uuid4(),
                "owner_id": owner if n % 4 else other,
                "status": status,
                "at": t0 + timedelta(minutes=n),
                "opened_at": t0 + timedelta(hours=n) if status is ItemStatus.OPENED else None,
                "sealed": bytes([n]) * 3 if n % 2 else None,
                "note": None,
            }
        )
    async with engine.begin() as connection:
        await connection.execute(THINGS.insert(), rows)
    return owner, other


async def test_rows_are_the_ones_sqlalchemy_gives_with_the_same_types(
    engine: AsyncEngine,
) -> None:
    owner, other = await _seed(engine)
    async with engine.connect() as connection:
        for who in (owner, other, uuid.uuid4()):
            expected = (await connection.execute(READ.statement, {"owner_id": who})).all()
            got = await READ.rows(connection, {"owner_id": who})
            assert [tuple(r) for r in got] == [tuple(r) for r in expected]
            for direct, through in zip(got, expected, strict=True):
                assert [type(v) for v in direct] == [type(v) for v in through]
                assert direct.at.tzinfo is not None and direct.status in ItemStatus
                assert direct.id == through.id and direct.sealed == through.sealed
        assert len(await READ.rows(connection, {"owner_id": owner})) > 0


async def test_on_postgresql_the_read_skips_sqlalchemys_execution(engine: AsyncEngine) -> None:
    owner, _ = await _seed(engine)
    executed: list[str] = []

    def seen(*args: Any) -> None:
        executed.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    async with engine.connect() as connection:
        rows = await READ.rows(connection, {"owner_id": owner})
    assert rows, "the seeded owner has approved and opened things"
    if engine.dialect.driver == "asyncpg":
        assert executed == []
    else:  # SQLite: through SQLAlchemy, as any statement
        assert [sql for sql in executed if "directread_things" in sql] != []


async def test_a_missing_parameter_is_an_error_on_every_database(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises((KeyError, StatementError), match="owner_id"):
            await READ.rows(connection, {})


def test_an_in_list_is_refused_when_the_read_is_built() -> None:
    with pytest.raises(ValueError, match="IN lists"):
        DirectRead(select(THINGS.c.id).where(THINGS.c.status.in_(bindparam("s", expanding=True))))
