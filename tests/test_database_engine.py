"""The engine's request-path economies: no liveness round trip for a connection just used
(one empty statement after a longer idle), lookups
outside a transaction on PostgreSQL, and read-only sessions that cannot write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
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


async def test_a_connection_used_a_moment_ago_is_handed_out_without_a_round_trip(
    pg_engine: AsyncEngine,
) -> None:
    async def checkout_only(engine: AsyncEngine) -> None:
        async with db.reading_engine(engine).connect() as connection:
            await connection.execute(text("SELECT 1"))

    # SQLAlchemy's pre-ping would run BEGIN, ";" and ROLLBACK at every checkout.
    assert await _statements_logged(pg_engine, checkout_only) == []


async def test_a_connection_idle_for_a_while_answers_one_empty_statement_at_checkout(
    pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def checkout_only(engine: AsyncEngine) -> None:
        async with db.reading_engine(engine).connect() as connection:
            await connection.execute(text("SELECT 1"))

    monkeypatch.setattr(db, "IDLE_BEFORE_PING_SECONDS", 0.0)
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


async def test_a_connection_that_died_unnoticed_fails_once_and_its_pool_is_renewed(
    pg: PostgresServer, pg_engine: AsyncEngine
) -> None:
    """What the session middleware's one retry relies on: the first statement on a dead
    connection the checkout did not catch raises an error marked ``connection_invalidated``,
    and the next checkout hands out a fresh connection."""
    reader = db.reading_engine(pg_engine)
    async with reader.connect() as connection:
        first = await connection.scalar(text("SELECT pg_backend_pid()"))
    # No await between the kill and the checkout: asyncpg has not seen the socket close.
    pg.psql(f"SELECT pg_terminate_backend({first})")
    with pytest.raises(DBAPIError) as failed:
        async with reader.connect() as connection:
            await connection.scalar(text("SELECT 1"))
    assert failed.value.connection_invalidated
    async with reader.connect() as connection:
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
