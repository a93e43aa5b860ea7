"""The concerns job, run once per centre under a database lease and safe to run twice.

- A concern whose lead was not told (the mail server was down) is told now.
- A concern not acknowledged within 24 hours: the centre's admins are reminded, once. The
  reminder is claimed by setting ``admins_reminded_at`` under a row lock before it goes; if
  nothing could be handed over the claim is given back so the next run tries again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import select

from service.background import once_per_centre, periodic
from service.concerns.concerns import ACKNOWLEDGE_WITHIN, send_safeguarding_mail, tell_leads
from service.services import Services
from storage.models import AccountStatus, ConcernStatus, Family, Role, SafeguardingConcern, User

log = logging.getLogger(__name__)

JOB = "safeguarding_concerns"
BATCH = 200


async def _claim(services: Services, concern_id: uuid.UUID, now: datetime) -> list[str]:
    """The admins to remind, if this run claims the reminder; else nobody."""
    async with services.sessionmaker.begin() as session:
        concern = await session.scalar(
            select(SafeguardingConcern)
            .where(SafeguardingConcern.id == concern_id)
            .with_for_update()
        )
        if (
            concern is None
            or concern.status is not ConcernStatus.RAISED
            or concern.admins_reminded_at is not None
        ):
            return []
        concern.admins_reminded_at = now
        admins = await session.scalars(
            select(User.email)
            .join(Family, Family.centre_id == User.centre_id)
            .where(
                Family.id == concern.family_id,
                User.role == Role.ADMIN,
                User.status == AccountStatus.ACTIVE,
            )
        )
        return list(admins)


async def run_concerns_job(services: Services, *, now: datetime | None = None) -> list[uuid.UUID]:
    """One run; returns the concerns whose admins this run reminded."""
    now = now or datetime.now(UTC)
    async with services.sessionmaker() as session:
        untold = list(
            await session.scalars(
                select(SafeguardingConcern.id)
                .where(SafeguardingConcern.lead_told_at.is_(None))
                .limit(BATCH)
            )
        )
        late = list(
            await session.scalars(
                select(SafeguardingConcern.id)
                .where(
                    SafeguardingConcern.status == ConcernStatus.RAISED,
                    SafeguardingConcern.admins_reminded_at.is_(None),
                    SafeguardingConcern.raised_at < now - ACKNOWLEDGE_WITHIN,
                )
                .order_by(SafeguardingConcern.raised_at)
                .limit(BATCH)
            )
        )
    for concern_id in untold:
        await tell_leads(services, concern_id)
    reminded = []
    for concern_id in late:
        admins = await _claim(services, concern_id, now)
        if not admins:
            continue
        if await send_safeguarding_mail(
            services.mailer, services.settings, admins, "concern_unacknowledged"
        ):
            reminded.append(concern_id)
            continue
        async with services.sessionmaker.begin() as session:
            concern = await session.get(SafeguardingConcern, concern_id)
            if concern is not None and concern.admins_reminded_at == now:
                concern.admins_reminded_at = None
    if reminded:
        log.info("admins reminded of %d unacknowledged concern(s)", len(reminded))
    return reminded


async def concerns_job(app: web.Application) -> None:
    await run_concerns_job(Services.of(app))


def _interval(app: web.Application) -> float:
    return Services.of(app).settings.reminder_interval_seconds


def concerns_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the concerns job, run by one node of the centre at a time."""
    job = periodic(JOB, _interval, once_per_centre(JOB, _interval, concerns_job))
    return job(app)
