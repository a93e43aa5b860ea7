"""The day-before reminder: the parents of a booked call get one e-mail (with the calendar
file) when the call is less than a day away.

``service.background`` runs ``send_due_reminders`` on every node, behind a lease so one node
of the centre does the work. Sending is also safe to repeat on its own: each reminder is
claimed by inserting its ``CallReminder`` row (call, start time) in a transaction of its
own before the e-mail goes; whoever inserts it sends, anyone else finds it and sends nothing.
If no e-mail could be handed over (the mail server is down), the claim is given back so the
next run tries again; a crash between claim and send loses that reminder rather than
sending it twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.appkeys import MAILER, SESSIONMAKER, SETTINGS
from service.background import once_per_centre, periodic
from service.calls.scheduling import REMINDER_LEAD, notify_parents
from service.notify import Mailer
from service.settings import Settings
from storage.models import Call, CallReminder, CallStatus

log = logging.getLogger(__name__)

JOB = "call_reminders"
BATCH = 200


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], call: Call, now: datetime) -> bool:
    async with sessionmaker.begin() as session:
        current = await session.get(Call, call.id)
        if (
            current is None
            or current.status is not CallStatus.SCHEDULED
            or current.starts_at != call.starts_at
        ):
            return False  # cancelled or moved since it was found due
        dialect = (await session.connection()).dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(CallReminder)
            .values(call_id=call.id, starts_at=call.starts_at, sent_at=now)
            .on_conflict_do_nothing(index_elements=[CallReminder.call_id, CallReminder.starts_at])
            .returning(CallReminder.call_id)
        )
        return await session.scalar(statement) == call.id


async def _give_back(sessionmaker: async_sessionmaker[AsyncSession], call: Call) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            delete(CallReminder).where(
                CallReminder.call_id == call.id, CallReminder.starts_at == call.starts_at
            )
        )


async def send_due_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Remind the parents of every booked call starting within ``REMINDER_LEAD`` that has
    not been reminded at its current start time. Returns the calls reminded by this run."""
    now = now or datetime.now(UTC)
    async with sessionmaker() as session:
        due = (
            await session.scalars(
                select(Call)
                .outerjoin(
                    CallReminder,
                    (CallReminder.call_id == Call.id) & (CallReminder.starts_at == Call.starts_at),
                )
                .where(
                    Call.status == CallStatus.SCHEDULED,
                    Call.starts_at > now,
                    Call.starts_at <= now + REMINDER_LEAD,
                    CallReminder.call_id.is_(None),
                )
                .order_by(Call.starts_at)
                .limit(BATCH)
            )
        ).all()
    reminded: list[uuid.UUID] = []
    for call in due:
        if not await _claim(sessionmaker, call, now):
            continue  # another run got there first
        async with sessionmaker() as session:
            notified = await notify_parents(session, mailer, settings, call, "call_reminder")
        if notified.sent == 0 and notified.failed > 0:
            await _give_back(sessionmaker, call)
            log.warning(
                "call reminder not sent; trying again next run", extra={"call_id": str(call.id)}
            )
            continue
        reminded.append(call.id)
    if reminded:
        log.info("call reminders sent for %d call(s)", len(reminded))
    return reminded


async def reminder_job(app: web.Application) -> None:
    await send_due_reminders(app[SESSIONMAKER], app[MAILER], app[SETTINGS])


def reminder_interval(app: web.Application) -> float:
    return app[SETTINGS].reminder_interval_seconds


def reminders_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the day-before reminders, sent by one node of the centre at a time."""
    job = periodic(JOB, reminder_interval, once_per_centre(JOB, reminder_interval, reminder_job))
    return job(app)
