"""The letter reminder: two weeks before the plan expects a letter, the family's parents get
one e-mail saying by when (no content, no names). Run once per centre under a database
lease; each reminder is claimed by inserting its ``PlanReminder`` row (family, due day)
before the e-mail goes, so a second run or another node sends nothing; if nothing could be
handed over, the claim is given back for the next run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Final

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from service.background import once_per_centre, periodic
from service.errors import Unavailable
from service.notify import KINDS
from service.plan.plans import plan_status
from service.services import Services
from storage.models import (
    AccountStatus,
    ContactPlan,
    Family,
    FamilySender,
    FamilyStatus,
    PlanReminder,
    User,
)

log = logging.getLogger(__name__)

JOB: Final = "letter_reminders"
LEAD: Final = timedelta(days=14)


async def _claim(services: Services, family_id: uuid.UUID, due_on: date, now: datetime) -> bool:
    async with services.sessionmaker.begin() as session:
        dialect = (await session.connection()).dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(PlanReminder)
            .values(family_id=family_id, due_on=due_on, sent_at=now)
            .on_conflict_do_nothing(index_elements=[PlanReminder.family_id, PlanReminder.due_on])
            .returning(PlanReminder.family_id)
        )
        return await session.scalar(statement) == family_id


async def send_letter_reminders(
    services: Services, *, today: date | None = None, now: datetime | None = None
) -> list[uuid.UUID]:
    """Remind the parents of every active family whose next letter is due within two weeks
    and not sent yet. Returns the families reminded by this run."""
    now = now or datetime.now(UTC)
    today = today or now.astimezone(services.settings.zone).date()
    async with services.sessionmaker() as session:
        families = list(
            await session.scalars(
                select(Family.id)
                .join(ContactPlan, ContactPlan.family_id == Family.id)
                .where(Family.status == FamilyStatus.ACTIVE)
            )
        )
    reminded = []
    for family_id in families:
        status = await plan_status(services, family_id, today)
        letters = next((c for c in status.channels if c.channel == "letters"), None)
        if letters is None or letters.state != "due" or letters.due_by is None:
            continue
        if letters.due_by - today > LEAD:
            continue
        if not await _claim(services, family_id, letters.due_by, now):
            continue
        async with services.sessionmaker() as session:
            parents = list(
                await session.scalars(
                    select(User.email)
                    .join(FamilySender, FamilySender.user_id == User.id)
                    .where(
                        FamilySender.family_id == family_id,
                        FamilySender.approved.is_(True),
                        User.status == AccountStatus.ACTIVE,
                    )
                )
            )
        sent = 0
        for email in parents:
            try:
                await services.mailer.send(
                    to=email,
                    subject=KINDS["letter_due"].subject,
                    template="email/letter_due.txt",
                    context={"link": services.link("/letterbox"), "due_on": letters.due_by},
                )
                sent += 1
            except Unavailable:
                log.warning("letter reminder not handed over; trying again next run")
        if sent == 0 and parents:
            async with services.sessionmaker.begin() as session:
                await session.execute(
                    delete(PlanReminder).where(
                        PlanReminder.family_id == family_id, PlanReminder.due_on == letters.due_by
                    )
                )
            continue
        reminded.append(family_id)
    return reminded


async def reminder_job(app: web.Application) -> None:
    await send_letter_reminders(Services.of(app))


def _interval(app: web.Application) -> float:
    return Services.of(app).settings.reminder_interval_seconds


def letter_reminders_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the letter reminders, sent by one node of the centre at a time."""
    job = periodic(JOB, _interval, once_per_centre(JOB, _interval, reminder_job))
    return job(app)
