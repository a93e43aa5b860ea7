"""Centre checkpoints are written write-once: S3 Object Lock in compliance mode, requested
correctly. (Whether a store enforces it cannot be proven here: SeaweedFS accepts the headers
without refusing deletes and MinIO is not installable on this machine; docs/deploy.md says
which stores enforce it.) The request is checked at the HTTP level against a recording
endpoint."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.record.checkpoints import publish_centre_checkpoint
from service.settings import SettingsError
from storage import db
from storage import recordformat as rf
from storage.models import ContactLevel
from storage.objects import LocalObjectStore, S3ObjectStore
from storage.record import load_or_create_signer, make_centre_checkpoint
from tests.support.export_world import seed_family
from tests.support.record import new_keyring
from tests.support.settings import make_settings


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingS3:
    endpoint: str = ""
    requests: list[Recorded] = field(default_factory=list)


@pytest.fixture
async def recording_s3() -> AsyncIterator[RecordingS3]:
    recording = RecordingS3()

    async def answer(request: web.Request) -> web.Response:
        recording.requests.append(
            Recorded(request.method, request.path, dict(request.headers), await request.read())
        )
        return web.Response(headers={"ETag": '"0"'})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        recording.endpoint = f"127.0.0.1:{port}"
        yield recording
    finally:
        await runner.cleanup()


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    try:
        yield db.create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_centre_checkpoint_is_written_with_a_compliance_lock(
    sessionmaker: async_sessionmaker[AsyncSession], recording_s3: RecordingS3
) -> None:
    keyring = new_keyring()
    await seed_family(sessionmaker, keyring, level=ContactLevel.SUPPORTED, cycles=1)
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, keyring)
        row = await make_centre_checkpoint(session, signer)
        seq, body, signature = row.seq, bytes(row.body), row.signature
    store = S3ObjectStore(
        recording_s3.endpoint, "key", "secret", "letterbox", secure=False, region="us-east-1"
    )
    before = datetime.now(UTC)
    try:
        name = await publish_centre_checkpoint(sessionmaker, store, 2555)
    finally:
        await store.close()
    assert name == f"record-checkpoints/centre/{seq:012d}"
    (put,) = [r for r in recording_s3.requests if r.method == "PUT"]
    assert put.path == f"/letterbox/{name}"
    headers = {k.lower(): v for k, v in put.headers.items()}
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    until = datetime.strptime(
        headers["x-amz-object-lock-retain-until-date"], "%Y-%m-%dT%H:%M:%S.%fZ"
    ).replace(tzinfo=UTC)
    assert before + timedelta(days=2555) - timedelta(minutes=5) <= until
    assert until <= datetime.now(UTC) + timedelta(days=2555)
    # S3 requires the body's MD5 with a lock; it is the real header, not user metadata.
    assert (
        headers["content-md5"]
        == base64.b64encode(hashlib.md5(put.body, usedforsecurity=False).digest()).decode()
    )
    assert not any(k.startswith("x-amz-meta-") for k in headers)
    document = rf.parse_canonical(put.body)
    assert document["body"].encode() == body and document["signature"] == signature
    rf.verify_detached(rf.CENTRE_CONTEXT, body, signature, signer.public_key)


async def test_write_once_checkpoints_refuse_a_store_that_cannot_lock(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    with pytest.raises(TypeError, match="S3"):
        await publish_centre_checkpoint(sessionmaker, LocalObjectStore(tmp_path), 30)


def test_lock_days_without_an_s3_store_is_a_clear_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"CHECKPOINT_LOCK_DAYS.*needs LETTERBOX_S3_URL"):
        make_settings("sqlite+aiosqlite:///:memory:", tmp_path, checkpoint_lock_days="30")
