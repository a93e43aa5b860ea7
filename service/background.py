"""Periodic jobs: ``periodic`` makes a cleanup context that runs a job every interval, and
``once_per_centre`` makes a job run only on the node holding its database lease. The platform
runs the object-store reconcile here (once per centre, whatever the number of workers and hosts); capabilities add their own jobs through their
``cleanup_contexts()`` (the calls' reminders of tomorrow's calls).

Each job runs in its own task owned by a cleanup context, waits its interval first (so a
restart loop cannot hammer the store), logs and survives its own failures, and stops between
two runs on shutdown (a run in progress finishes; it is never cut mid-statement).
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


# How long shutdown waits for a job's round in progress before cancelling it. A round is
# let finish, never cut mid-statement: cancelling a database statement halfway leaves its
# connection "another operation in progress" and the cleanup that follows fails.
STOP_GRACE_SECONDS = 30.0


class Repeating:
    """``run`` every ``interval`` seconds in its own task until ``stop()``; the first run
    after one interval, or at once with ``at_start``. A failed run is logged and retried next
    interval; ``stop`` lets a run in progress finish (at most ``STOP_GRACE_SECONDS``)."""

    def __init__(
        self,
        name: str,
        interval: float,
        run: Callable[[], Awaitable[None]],
        *,
        at_start: bool = False,
    ) -> None:
        self._name, self._interval, self._run_once = name, interval, run
        self._at_start = at_start
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        if not self._at_start and await self._stopped_within(self._interval):
            return
        while True:
            try:
                await self._run_once()
            except Exception:
                log.exception(
                    "background job %s failed; it will run again in %ss", self._name, self._interval
                )
            if await self._stopped_within(self._interval):
                return

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        self._stopping.set()
        done, _ = await asyncio.wait([self._task], timeout=STOP_GRACE_SECONDS)
        if not done:
            log.warning(
                "background job %s did not finish in %ss; cancelled", self._name, STOP_GRACE_SECONDS
            )
            self._task.cancel()
            # Waited for, not awaited: the cancelled task's error must not stop the cleanups
            # after this one (the call registry's among them).
            await asyncio.wait([self._task])
        if not self._task.cancelled() and (error := self._task.exception()) is not None:
            log.error("background job %s ended with an error", self._name, exc_info=error)


def periodic(
    name: str, interval: Callable[[web.Application], float], job: Job
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        repeating = Repeating(name, interval(app), lambda: job(app))
        try:
            yield
        finally:
            await repeating.stop()

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
