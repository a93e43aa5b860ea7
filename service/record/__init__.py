"""The family record's commands, court bundle and offline verifier (storage/record/ is the log).

Imports stay inside functions here: ``service.record.verifier`` must run with nothing but
``cryptography`` and ``storage/recordformat.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


async def checkpoint_loop(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: make the signing key on first start, then checkpoint every family with
    new events every ``settings.checkpoint_interval_seconds``.

    Needs the database and key ring contexts before it: ``app.cleanup_ctx.append(checkpoint_loop)``
    after them.
    """
    import asyncio
    import contextlib

    from service import appkeys
    from storage.record import checkpoint_task, load_or_create_signer

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
