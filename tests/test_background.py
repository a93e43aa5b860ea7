"""Every app node reconciles the object store on its own, without an operator."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import SESSIONMAKER, VAULT
from storage.vault import object_name
from tests.support.families import new_family, read_object, store_bytes, stream
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
