"""The record's periodic checkpoints: the signing key made on first start, then a signed
checkpoint of every family with new events, every ``settings.checkpoint_interval_seconds``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from service import appkeys
from storage.record import (
    checkpoint_families_with_new_events,
    checkpoint_task,
    load_or_create_signer,
)

log = logging.getLogger(__name__)


async def checkpoint_loop(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: make the signing key on first start, then checkpoint every family with
    new events every ``settings.checkpoint_interval_seconds``.

    Needs the database and key ring contexts before it: ``app.cleanup_ctx.append(checkpoint_loop)``
    after them.
    """
    sessionmaker = app[appkeys.SESSIONMAKER]
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, app[appkeys.KEYRING])
    task = asyncio.create_task(
        checkpoint_task(sessionmaker, signer, app[appkeys.SETTINGS].checkpoint_interval_seconds),
        name="record-checkpoints",
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # A last round on the way down: events written since the last round are then covered,
        # so `letterbox record verify` on a stopped centre does not find them unsigned.
        try:
            async with sessionmaker.begin() as session:
                await checkpoint_families_with_new_events(session, signer)
        except Exception:
            log.exception("the final record checkpoint failed; the next start makes one")
