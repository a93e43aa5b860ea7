"""Every app node runs its periodic jobs on its own, without an operator: reconciling the
object store, and (one node of the centre) the call reminders."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, select

from service.app import create_app
from service.appkeys import SESSIONMAKER, VAULT
from service.background import periodic
from service.calls import reminders
from storage.models import JobLease
from storage.vault import object_name
from tests.support.calls import book_call, make_world
from tests.support.families import new_family, read_object, store_bytes, stream
from tests.support.mail import calendar_event, outbox
from tests.support.settings import make_settings


async def test_app_removes_orphan_objects_periodically_and_keeps_committed_ones(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        reconcile_interval_seconds="1",
        orphan_age_seconds="0",
    )
    client = await aiohttp_client(create_app(settings))
    app = client.app
    vault = app[VAULT]
    family_id = await new_family(app[SESSIONMAKER], vault.keyring)
    kept = await store_bytes(app[SESSIONMAKER], vault, family_id, b"committed letter")
    orphan = object_name(family_id, uuid.uuid4())
    await vault.objects.put(orphan, stream(b"an upload whose transaction died"))

    async with asyncio.timeout(60):
        while await vault.objects.exists(orphan):
            await asyncio.sleep(0.2)
    assert await read_object(app[SESSIONMAKER], vault, kept) == b"committed letter"


async def test_app_reminds_parents_of_tomorrows_call_by_itself_once(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", reminder_interval_seconds="1")
    client = await aiohttp_client(create_app(settings))
    app = client.app
    world = await make_world(app)
    call_id = await book_call(app, world, starts_in=timedelta(hours=12))

    async def lease_expiry() -> datetime | None:
        async with app[SESSIONMAKER]() as session:
            return await session.scalar(
                select(JobLease.expires_at).where(JobLease.job == reminders.JOB)
            )

    async with asyncio.timeout(60):
        while not outbox(settings.outbox_dir):
            await asyncio.sleep(0.2)
        # Then let the job run twice more (each run renews the lease): still one e-mail.
        for _ in range(2):
            seen = await lease_expiry()
            while await lease_expiry() == seen:
                await asyncio.sleep(0.2)
    (message,) = outbox(settings.outbox_dir)
    assert message["To"] == world.emails["parent"]
    assert f"/calls/{call_id}/join" in str(calendar_event(message)["URL"])


async def test_shutdown_lets_a_periodic_round_in_progress_finish_its_statements(
    database_url: str, tmp_path: Path
) -> None:
    # Cancelling a round mid-statement left its database connection "another operation in
    # progress" and the app's cleanup raised; a round under way now finishes, then the job stops.
    settings = make_settings(database_url, tmp_path / "data")
    app = create_app(settings)
    started = asyncio.Event()

    async def slow_round(app: web.Application) -> None:
        async with app[SESSIONMAKER].begin() as session:
            started.set()
            if session.bind.dialect.name == "postgresql":
                await session.execute(select(func.pg_sleep(0.5)))
            else:
                await asyncio.sleep(0.5)
            session.add(JobLease(job="round-finished", holder="test", expires_at=datetime.now(UTC)))

    app.cleanup_ctx.append(periodic("slow", lambda _app: 0.01, slow_round))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        async with asyncio.timeout(60):
            await started.wait()
    finally:
        await runner.cleanup()  # raises if a cleanup context failed

    check = create_app(settings)
    runner = web.AppRunner(check)
    await runner.setup()
    try:
        async with check[SESSIONMAKER]() as session:
            holders = await session.scalars(
                select(JobLease.holder).where(JobLease.job == "round-finished")
            )
            assert list(holders) == ["test"]
    finally:
        await runner.cleanup()
