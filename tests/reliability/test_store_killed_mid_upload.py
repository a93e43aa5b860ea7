"""SeaweedFS killed with SIGKILL in the middle of a parent's upload through the real app.

The store dies while the photo is still streaming in. The parent gets a retryable answer (503,
a plain message, ``Retry-After``); no item row, no object row and no object exist, so nothing
reaches the parent's list or the moderation queue. Once the store is back, the same request with
the same ``Idempotency-Key`` goes through, once.
"""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.settings import Settings
from tests.support.letterbox_world import World, count_rows, make_world
from tests.support.reliability import letterbox_env, new_master_key
from tests.support.s3_fixtures import record_server_start
from tests.support.seaweedfs import SeaweedFS, run_seaweedfs

pytestmark = pytest.mark.slow

BUCKET = "letterbox-faults"
BOUNDARY = "letterbox-fault-boundary"
PIECE = 64 * 1024


@pytest.fixture
def own_seaweedfs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeaweedFS]:
    """A store of this test's own: it is killed, so it is never the shared one."""
    with run_seaweedfs(tmp_path / "seaweedfs") as server:
        record_server_start(request.config, server)
        yield server


def photo() -> bytes:
    """A 1200×900 noisy JPEG (about a megabyte): an upload that takes many pieces to send."""
    noise = Image.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def multipart(text: str, filename: str, data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text}\r\n'
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="files"; filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def upload(
    client: TestClient, world: World, body: bytes, key: str, *, kill: SeaweedFS | None = None
) -> tuple[int, dict[str, str], dict[str, object]]:
    """Stream ``body`` in pieces; with ``kill``, SIGKILL the store once half of it is sent."""

    killed = False

    async def pieces() -> AsyncIterator[bytes]:
        nonlocal killed
        for start in range(0, len(body), PIECE):
            if kill is not None and not killed and start >= len(body) // 2:
                await asyncio.to_thread(kill.kill)
                killed = True
            yield body[start : start + PIECE]

    response = await client.post(
        f"/api/families/{world.family_id}/items",
        data=pieces(),
        headers=world.parent.headers(
            **{
                "Idempotency-Key": key,
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            }
        ),
    )
    assert killed or kill is None, "the store was not killed during the upload"
    return response.status, dict(response.headers), await response.json()


async def visible(client: TestClient, world: World) -> tuple[list[object], list[object]]:
    """What the parent's list and the moderation queue show."""
    parent = await client.get(
        f"/api/families/{world.family_id}/letterbox", headers=world.parent.headers()
    )
    queue = await client.get("/api/moderation/queue", headers=world.staff.headers())
    assert parent.status == 200 and queue.status == 200
    return (await parent.json())["items"], (await queue.json())["items"]


async def test_store_killed_mid_upload_gives_retryable_503_and_the_retry_succeeds(
    own_seaweedfs: SeaweedFS,
    pg_database: str,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    env = letterbox_env(
        pg_database,
        tmp_path / "data",
        new_master_key(),
        s3=own_seaweedfs.endpoint,
        bucket=BUCKET,
    )
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    world = await make_world(client)
    store = own_seaweedfs.endpoint.client()
    body = multipart("Here is the beach!", "beach.jpg", photo())
    key = f"beach-{uuid.uuid4()}"

    status, headers, answer = await upload(client, world, body, key, kill=own_seaweedfs)
    assert status == 503, answer
    assert answer["error"] == "unavailable"
    assert "try again" in str(answer["message"]) and "Traceback" not in str(answer)
    assert headers["Retry-After"] == "5"
    assert await count_rows(world.app) == (0, 0)  # no item row, no object row
    assert await visible(client, world) == ([], [])
    assert (await client.get("/healthz")).status == 200  # the app itself stayed up

    own_seaweedfs.restart()
    record_server_start(request.config, own_seaweedfs)
    assert list(store.list_objects(BUCKET, recursive=True)) == []  # nothing half-stored

    retried, _, first = await upload(client, world, body, key)
    assert retried == 201, first
    replayed, _, again = await upload(client, world, body, key)
    assert (replayed, again) == (201, first)  # the same key is the same letter, once
    items, queue = await visible(client, world)
    assert [i["item_id"] for i in items] == [first["item_id"]]  # type: ignore[index]
    assert [q["item_id"] for q in queue] == [first["item_id"]]  # type: ignore[index]
    names = [o.object_name for o in store.list_objects(BUCKET, recursive=True)]
    assert len(names) == 3  # the text, the sealed original and the sanitised photo
