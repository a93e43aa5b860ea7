"""Periodic jobs: ``periodic`` makes a cleanup context that runs a job every interval, and
``once_per_centre`` makes a job run only on the node holding its database lease. The platform
runs the object-store reconcile here (once per centre, whatever the number of workers and hosts); capabilities add their own jobs through their
``cleanup_contexts()`` (the calls' reminders of tomorrow's calls).

Each job runs in its own task owned by a cleanup context, waits its interval first (so a
restart loop cannot hammer the store), logs and survives its own failures, and is cancelled
cleanly on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from service.appkeys import SESSIONMAKER, SETTINGS, VAULT
from service.notify import CONTACT_BOOK, REFRESH_SECONDS
from storage.leases import JobLeases, lease_holder
from storage.reconcile import reconcile

log = logging.getLogger(__name__)

Job = Callable[[web.Application], Awaitable[None]]


async def run_periodically(app: web.Application, name: str, interval: float, job: Job) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s failed; it will run again in %ss", name, interval)


def periodic(
    name: str, interval: Callable[[web.Application], float], job: Job
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run_periodically(app, name, interval(app), job), name=name)
        try:
            yield
        finally:
            task.cancel()
            # Waited for, not awaited: awaiting a task cancelled before it ever ran raises its
            # CancelledError in this (cleanup) task, which then stops every later cleanup
            # halfway (the call registry's among them, leaving database connections held).
            await asyncio.wait([task])

    return context


def once_per_centre(name: str, interval: Callable[[web.Application], float], job: Job) -> Job:
    """``job`` run only by the node that holds its lease (``storage.leases``). The holder
    renews it at every run; the lease lasts three intervals, so a node that dies is replaced
    within that, and a slow database does not let a second node in between two runs."""
    holder = lease_holder()  # this app's name among the nodes, kept for its lifetime

    async def leased(app: web.Application) -> None:
        leases = JobLeases(app[SESSIONMAKER], holder)
        if await leases.take(name, timedelta(seconds=3 * interval(app))):
            await job(app)
        else:
            log.debug("background job %s: another node holds the lease", name)

    return leased


async def reconcile_job(app: web.Application) -> None:
    settings = app[SETTINGS]
    report = await reconcile(
        app[SESSIONMAKER],
        app[VAULT].objects,
        orphan_age=timedelta(seconds=settings.orphan_age_seconds),
    )
    log.info("reconcile: %s", report.summary())


async def contact_book_job(app: web.Application) -> None:
    # Another node's admin may have changed the centre's contact details.
    await app[CONTACT_BOOK].refresh(app[SESSIONMAKER])


def setup(app: web.Application) -> None:
    # Once per centre, not once per worker: two runs at once would race over the same orphans.
    interval: Callable[[web.Application], float] = lambda a: a[SETTINGS].reconcile_interval_seconds  # noqa: E731
    app.cleanup_ctx.append(
        periodic("reconcile", interval, once_per_centre("reconcile", interval, reconcile_job))
    )
    app.cleanup_ctx.append(periodic("contact-book", lambda a: REFRESH_SECONDS, contact_book_job))
