"""Leases in the database: which node runs a periodic job for the whole centre.

Every node runs the same periodic jobs; a job that must happen once per centre (the call
reminders) first takes its lease. ``take`` is one statement, an upsert that succeeds only if
nobody holds the job or the holder's lease has expired (or the holder is us, renewing), so
two nodes asking at the same instant cannot both win: on PostgreSQL the loser waits on the
row and then sees the winner's unexpired lease, on SQLite writers are serialised. A node
that dies simply stops renewing; its lease lapses at ``expires_at`` and the next node to ask
takes it over.

A lease makes a job run on one node at a time, not exactly once: a job that must not repeat
its effects (an e-mail) also records, per item, that the effect happened.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import JobLease, SenderSlot


def lease_holder() -> str:
    """A name for this process among the centre's nodes: host, process and a random part
    (two apps in one process, as in tests, are two holders)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class JobLeases:
    """The leases one holder takes and gives back."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], holder: str) -> None:
        self._sessionmaker = sessionmaker
        self.holder = holder

    async def take(self, job: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
        """Hold ``job`` until ``now + ttl``. True if we hold it now (newly, taken over from
        an expired holder, or renewed); False if another holder's lease is still running."""
        now = now or datetime.now(UTC)
        async with self._sessionmaker.begin() as session:
            dialect = (await session.connection()).dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(JobLease).values(job=job, holder=self.holder, expires_at=now + ttl)
            statement = statement.on_conflict_do_update(
                index_elements=[JobLease.job],
                set_={"holder": self.holder, "expires_at": now + ttl},
                where=(JobLease.expires_at <= now) | (JobLease.holder == self.holder),
            )
            won = await session.scalar(statement.returning(JobLease.holder))
        return won == self.holder

    async def release(self, job: str) -> None:
        """Give ``job`` back early (a node shutting down), so another need not wait out the
        lease. Only our own lease is removed."""
        async with self._sessionmaker.begin() as session:
            await session.execute(
                delete(JobLease).where(JobLease.job == job, JobLease.holder == self.holder)
            )


class SenderSlots:
    """The sanitiser's per-sender share across every worker and host of the centre: a sender
    holds at most ``limit`` slots (rows of ``sender_slots``) at once, one per file being
    sanitised anywhere, so one sender's files cannot fill every worker's processes while
    another family's letter waits. Each worker's own queue (``FileWorkers``) still orders its
    files fairly; this bounds a sender across them.

    Taking a slot is one upsert per slot number, won only if the row is free or its holder's
    lease ran out (a worker that died mid-file), so two workers cannot both win one slot.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def take(
        self, sender: str, limit: int, ttl: timedelta, *, now: datetime | None = None
    ) -> tuple[int, str] | None:
        """A free slot of ``sender``'s (its number and this holding's token), or None when
        the sender already holds ``limit`` unexpired slots."""
        now = now or datetime.now(UTC)
        token = uuid.uuid4().hex
        async with self._sessionmaker.begin() as session:
            dialect = (await session.connection()).dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for slot in range(limit):
                statement = (
                    insert(SenderSlot)
                    .values(sender=sender, slot=slot, holder=token, expires_at=now + ttl)
                    .on_conflict_do_update(
                        index_elements=[SenderSlot.sender, SenderSlot.slot],
                        set_={"holder": token, "expires_at": now + ttl},
                        where=SenderSlot.expires_at <= now,
                    )
                )
                if await session.scalar(statement.returning(SenderSlot.holder)) == token:
                    return slot, token
        return None

    async def release(self, sender: str, slot: int, token: str) -> None:
        async with self._sessionmaker.begin() as session:
            await session.execute(
                delete(SenderSlot).where(
                    SenderSlot.sender == sender, SenderSlot.slot == slot, SenderSlot.holder == token
                )
            )
