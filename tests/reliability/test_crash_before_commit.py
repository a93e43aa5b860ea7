"""The app process killed (SIGKILL) after its objects were written and before the commit.

``LETTERBOX_TEST_PAUSE_BEFORE_COMMIT`` (refused outside test mode) makes intake write a marker
file once every object of the letter is in the store and hold there, inside the open
transaction. The test then kills the node's whole process group. What must remain: no item, no
object row, no record event — only orphan objects in the bucket, which ``letterbox reconcile``
deletes (each deletion logged) once they are older than ``LETTERBOX_ORPHAN_AGE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, select

from service.app import create_app
from service.appkeys import SESSIONMAKER
from service.settings import Settings, SettingsError
from storage.models import IdempotentRequest, Item, RecordEvent, StoredObject
from tests.support.letterbox_world import letter_form, make_world, picture
from tests.support.reliability import Node, letterbox_env, new_master_key, run_letterbox, wait_until
from tests.support.seaweedfs import S3Endpoint

pytestmark = pytest.mark.slow


def test_the_pause_hook_is_refused_outside_test_mode(tmp_path: Path) -> None:
    for mode in ("development", "production"):
        with pytest.raises(SettingsError, match="TEST_PAUSE_BEFORE_COMMIT"):
            Settings.from_env(
                {
                    "LETTERBOX_ENV": mode,
                    "LETTERBOX_DATA_DIR": str(tmp_path),
                    "LETTERBOX_DATABASE_URL": "postgresql+asyncpg://u@h/db",
                    "LETTERBOX_MASTER_KEY": new_master_key(),
                    "LETTERBOX_PUBLIC_URL": "https://letterbox.example",
                    "LETTERBOX_S3_URL": "https://s3.example/bucket",
                    "LETTERBOX_S3_ACCESS_KEY": "a",
                    "LETTERBOX_S3_SECRET_KEY": "b",
                    "LETTERBOX_SMTP_URL": "smtp+starttls://u:p@mail.example:587",
                    "LETTERBOX_ICE_HOST_ADDRESS": "203.0.113.10",
                    "LETTERBOX_TEST_PAUSE_BEFORE_COMMIT": str(tmp_path / "marker"),
                }
            )


async def test_node_killed_between_object_write_and_commit_leaves_only_orphans_for_reconcile(
    pg_database: str,
    s3_server: S3Endpoint,
    s3_bucket: str,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
) -> None:
    env = letterbox_env(
        pg_database, tmp_path / "data", new_master_key(), s3=s3_server, bucket=s3_bucket
    )
    # The world (centre, family, parent with a session) is written through an in-process app on
    # the same database and store; the node under test is a separate `letterbox serve`.
    seeder = await aiohttp_client(create_app(Settings.from_env(env)))
    world = await make_world(seeder)
    store = s3_server.client()
    marker = tmp_path / "paused-before-commit"
    node = Node(
        "doomed", env | {"LETTERBOX_TEST_PAUSE_BEFORE_COMMIT": str(marker)}, tmp_path / "node.log"
    )
    try:
        await asyncio.to_thread(node.start)
        async with aiohttp.ClientSession() as http:
            sending = asyncio.create_task(
                http.post(
                    f"{node.url}/api/families/{world.family_id}/items",
                    data=letter_form("Never committed", [("sun.png", picture())]),
                    headers=world.parent.headers(**{"Idempotency-Key": "crash-1"}),
                )
            )
            await asyncio.to_thread(wait_until, marker.exists, 60, "intake to pause before commit")
            stored_before_kill = [
                o.object_name for o in store.list_objects(s3_bucket, recursive=True)
            ]
            await asyncio.to_thread(node.kill)
            with pytest.raises(aiohttp.ClientError):
                await asyncio.wait_for(sending, 30)
    finally:
        await asyncio.to_thread(node.stop)
    assert not node.alive
    # Text, sealed original, sanitised picture: all written before the commit point.
    assert len(stored_before_kill) == 3

    async with world.app[SESSIONMAKER]() as session:
        for model in (Item, StoredObject, RecordEvent):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
        # The claimed key is left unfinished; it is taken over after STALE_CLAIM.
        claim = await session.get(IdempotentRequest, (world.parent.user_id, "crash-1"))
        assert claim is not None and claim.status is None
    orphans = sorted(o.object_name for o in store.list_objects(s3_bucket, recursive=True))
    assert orphans == sorted(stored_before_kill)

    young = await asyncio.to_thread(run_letterbox, env, "reconcile")
    assert young.returncode == 0, young.stderr
    assert "3 recent orphans kept" in young.stdout

    old = await asyncio.to_thread(
        run_letterbox, env | {"LETTERBOX_ORPHAN_AGE_SECONDS": "0"}, "reconcile"
    )
    assert old.returncode == 0, old.stderr
    assert "3 orphan objects deleted" in old.stdout
    for name in orphans:
        assert f"deleted orphan: {name}" in old.stdout
    logged = [json.loads(line) for line in old.stderr.splitlines() if line.startswith("{")]
    deletions = [e["message"] for e in logged if e["message"].startswith("deleted orphan object")]
    assert sorted(m.split()[3] for m in deletions) == orphans
    assert list(store.list_objects(s3_bucket, recursive=True)) == []
