"""The engine's request-path economies: a one-statement liveness check at checkout, lookups
outside a transaction on PostgreSQL, and read-only sessions that cannot write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db
from storage.models import Centre
from tests.support.postgres import PostgresServer


@pytest.fixture
async def pg_engine(pg: PostgresServer) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(pg.url("postgres"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _statements_logged(engine: AsyncEngine, work: object) -> list[str]:
    """The plain statements (not prepared ones) the one pooled connection runs during
    ``work``: checkout checks, BEGIN, ROLLBACK."""
    seen: list[str] = []
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        raw.driver_connection.add_query_logger(lambda record: seen.append(record.query))
    seen.clear()
    await work(engine)  # type: ignore[operator]
    return seen


async def test_a_checkout_checks_liveness_with_one_empty_statement(
    pg_engine: AsyncEngine,
) -> None:
    async def checkout_only(engine: AsyncEngine) -> None:
        async with db.reading_engine(engine).connect() as connection:
            await connection.execute(text("SELECT 1"))

    # SQLAlchemy's pre-ping would add BEGIN and ROLLBACK around it.
    assert await _statements_logged(pg_engine, checkout_only) == [";"]


async def test_lookups_on_the_reading_engine_open_no_transaction(pg_engine: AsyncEngine) -> None:
    async def lookup(engine: AsyncEngine) -> None:
        async with db.reading_engine(engine).connect() as connection:
            await connection.execute(text("SELECT 1"))
            await connection.execute(text("SELECT 2"))

    async def transaction(engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def begins(statements: list[str]) -> int:
        return sum(statement.startswith("BEGIN") for statement in statements)

    assert begins(await _statements_logged(pg_engine, lookup)) == 0
    # The ordinary engine still runs every unit of work in a transaction.
    assert begins(await _statements_logged(pg_engine, transaction)) == 1


async def test_a_closed_connection_is_replaced_at_checkout(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        first = await connection.scalar(text("SELECT pg_backend_pid()"))
        driver = (await connection.get_raw_connection()).driver_connection
    await driver.close()  # back in the pool, closed as a restarted server would leave it
    async with pg_engine.connect() as connection:
        second = await connection.scalar(text("SELECT pg_backend_pid()"))
    assert second != first


async def test_read_sessions_read_but_refuse_to_write(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            session.add(Centre(name="Readable centre"))
            await session.commit()
        async with db.create_read_sessionmaker(engine)() as session:
            names = (await session.scalars(select(Centre.name))).all()
            assert "Readable centre" in names
            session.add(Centre(name="Never stored"))
            with pytest.raises(db.ReadOnlySessionError, match="only reads"):
                await session.flush()
        async with db.create_sessionmaker(engine)() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Centre).where(Centre.name == "Never stored")
            )
        assert stored == 0
    finally:
        await engine.dispose()
