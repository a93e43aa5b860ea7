"""The sanitiser's per-sender share holds across workers: two app instances (two workers, or
two hosts) on one database give one sender at most its share of slots between them, while
another sender goes straight in; a slot whose worker died lapses and is taken over."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import SANITISER_POOL, SESSIONMAKER
from service.letterbox.intake.screening import sender_share
from storage.leases import SenderSlots
from tests.support.settings import make_settings

TTL = timedelta(minutes=5)


async def _two_workers(
    database_url: str, tmp_path: Path, aiohttp_client: AiohttpClient
) -> tuple[web.Application, web.Application]:
    key = base64.b64encode(os.urandom(32)).decode()
    apps = []
    for name in ("a", "b"):
        settings = make_settings(database_url, tmp_path / name, master_key=key)
        apps.append((await aiohttp_client(create_app(settings))).server.app)
    return apps[0], apps[1]


async def test_one_sender_holds_at_most_its_share_across_two_workers_while_another_goes_in(
    database_url: str, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    a, b = await _two_workers(database_url, tmp_path, aiohttp_client)
    share = a[SANITISER_POOL].per_sender
    assert share == b[SANITISER_POOL].per_sender

    async with contextlib.AsyncExitStack() as held_on_a:
        for _ in range(share):
            await held_on_a.enter_async_context(sender_share(a, "sender-x"))
        # Worker B sees the sender's whole share taken on A: no slot for X there.
        assert await SenderSlots(b[SESSIONMAKER]).take("sender-x", share, TTL) is None
        waiting = asyncio.create_task(_hold_briefly(b, "sender-x"))
        # Another sender is not held up by X: it gets a slot on B at once.
        async with sender_share(b, "sender-y"):
            assert not waiting.done()
        assert not waiting.done()
    # A's files finished: X's file on B now runs.
    async with asyncio.timeout(60):
        await waiting
    # Every slot was given back.
    assert await SenderSlots(a[SESSIONMAKER]).take("sender-x", 1, TTL) is not None


async def _hold_briefly(app: web.Application, sender: str) -> None:
    async with sender_share(app, sender):
        pass


async def test_a_slot_of_a_worker_that_died_lapses_and_is_taken_over(
    database_url: str, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    a, b = await _two_workers(database_url, tmp_path, aiohttp_client)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    # A took X's only slot an hour ago and died without giving it back.
    assert await SenderSlots(a[SESSIONMAKER]).take("sender-x", 1, TTL, now=earlier) is not None
    assert await SenderSlots(b[SESSIONMAKER]).take("sender-x", 1, TTL, now=earlier) is None
    taken = await SenderSlots(b[SESSIONMAKER]).take("sender-x", 1, TTL)
    assert taken is not None and taken[0] == 0
