"""The record's periodic checkpoints: the signing key made on first start, then a signed
checkpoint of every family with new events, every ``settings.checkpoint_interval_seconds``,
by one worker of the centre at a time (``once_per_centre``: a lease in the database)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from service import appkeys
from service.background import once_per_centre, periodic
from storage.record import (
    CheckpointInconsistent,
    checkpoint_families_with_new_events,
    load_or_create_signer,
)

log = logging.getLogger(__name__)


def _interval(app: web.Application) -> float:
    return app[appkeys.SETTINGS].checkpoint_interval_seconds


async def checkpoint_loop(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: make the signing key on first start, then checkpoint every family with
    new events every ``settings.checkpoint_interval_seconds`` (under the centre's lease, so
    two workers never sign the same families' checkpoints at once).

    Needs the database and key ring contexts before it: ``app.cleanup_ctx.append(checkpoint_loop)``
    after them.
    """
    sessionmaker = app[appkeys.SESSIONMAKER]
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, app[appkeys.KEYRING])

    async def checkpoint(app: web.Application) -> None:
        try:
            async with sessionmaker.begin() as session:
                made = await checkpoint_families_with_new_events(session, signer)
        except CheckpointInconsistent:
            # Never sign over a rewritten chain; say so loudly and keep trying later.
            log.exception("record checkpoint refused: the record was altered")
            return
        if made:
            log.info("record checkpoints made for %d families", len(made))

    job = once_per_centre("record-checkpoints", _interval, checkpoint)
    async for _ in periodic("record-checkpoints", _interval, job)(app):
        yield
