"""Job leases: one holder at a time, even when many ask at once; a dead holder's lease lapses
and is taken over; a holder renews its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import db
from storage.leases import JobLeases, lease_holder
from storage.models import JobLease

JOB = "call_reminders"
MINUTE = timedelta(minutes=1)


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    try:
        yield db.create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def holder_of(sessionmaker: async_sessionmaker[AsyncSession]) -> str | None:
    async with sessionmaker() as session:
        return await session.scalar(select(JobLease.holder).where(JobLease.job == JOB))


async def test_a_running_lease_keeps_others_out_and_its_holder_renews_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second = JobLeases(sessionmaker, "node-a"), JobLeases(sessionmaker, "node-b")
    t0 = datetime.now(UTC)
    assert await first.take(JOB, MINUTE, now=t0)
    assert not await second.take(JOB, MINUTE, now=t0 + timedelta(seconds=30))
    assert await first.take(JOB, MINUTE, now=t0 + timedelta(seconds=50))  # renewed to 1:50
    assert not await second.take(JOB, MINUTE, now=t0 + timedelta(seconds=90))
    assert await holder_of(sessionmaker) == "node-a"
    # Another job is another lease.
    assert await second.take("another_job", MINUTE, now=t0)


async def test_a_dead_holders_lease_expires_and_is_taken_over(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    dead, alive = JobLeases(sessionmaker, "node-that-died"), JobLeases(sessionmaker, "node-b")
    t0 = datetime.now(UTC)
    assert await dead.take(JOB, MINUTE, now=t0)
    # The dead node never renews; until its lease runs out nobody else runs the job...
    assert not await alive.take(JOB, MINUTE, now=t0 + timedelta(seconds=59))
    # ...then the next node to ask takes it over.
    assert await alive.take(JOB, MINUTE, now=t0 + timedelta(seconds=61))
    assert await holder_of(sessionmaker) == "node-b"
    # A node that comes back from the dead cannot take it back while it runs.
    assert not await dead.take(JOB, MINUTE, now=t0 + timedelta(seconds=62))


async def test_of_many_nodes_asking_at_once_exactly_one_gets_the_lease(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    nodes = [JobLeases(sessionmaker, lease_holder()) for _ in range(6)]
    now = datetime.now(UTC)
    # First for a job nobody holds (racing inserts), then for an expired one (racing updates).
    for at in (now, now + 2 * MINUTE):
        won = await asyncio.gather(*(node.take(JOB, MINUTE, now=at) for node in nodes))
        assert won.count(True) == 1, won
        assert await holder_of(sessionmaker) == nodes[won.index(True)].holder


async def test_a_released_lease_is_free_at_once_and_only_the_holder_releases(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second = JobLeases(sessionmaker, "node-a"), JobLeases(sessionmaker, "node-b")
    assert await first.take(JOB, MINUTE)
    await second.release(JOB)  # not theirs: nothing happens
    assert not await second.take(JOB, MINUTE)
    await first.release(JOB)
    assert await second.take(JOB, MINUTE)


def test_holder_names_differ_between_apps_of_one_process() -> None:
    assert lease_holder() != lease_holder()
