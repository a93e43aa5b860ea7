"""The retention job: once per centre under a database lease, daily-ish (the reminder
interval); ``run_retention`` skips families already shredded, so running it twice is safe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from service.background import once_per_centre, periodic
from service.retention.retention import run_retention
from service.services import Services

JOB: Final = "retention"


async def retention_job(app: web.Application) -> None:
    await run_retention(Services.of(app))


def _interval(app: web.Application) -> float:
    return Services.of(app).settings.reminder_interval_seconds


def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    job = periodic(JOB, _interval, once_per_centre(JOB, _interval, retention_job))
    return job(app)
