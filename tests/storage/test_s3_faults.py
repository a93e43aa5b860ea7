"""S3 backend under faults: the real SeaweedFS killed mid-upload, and a server that is down."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.errors import StoreUnavailable
from storage.objects import S3ObjectStore
from storage.stream import decrypt_stream, encrypt_stream
from tests.support.s3_fixtures import record_server_start
from tests.support.seaweedfs import SeaweedFS, run_seaweedfs

MiB = 1024 * 1024
FAIL_WITHIN_SECONDS = 20.0


@pytest.fixture
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeaweedFS]:
    """A server of this test's own: these tests kill it, so it is never the shared one."""
    with run_seaweedfs(tmp_path / "seaweedfs") as server:
        record_server_start(request.config, server)
        yield server


def _store(server: SeaweedFS) -> S3ObjectStore:
    endpoint = server.endpoint
    return S3ObjectStore(
        endpoint.netloc,
        endpoint.access_key,
        endpoint.secret_key,
        "faults",
        secure=False,
        part_size=5 * MiB,
        connect_timeout=2.0,
        read_timeout=10.0,
    )


async def test_server_killed_mid_upload_gives_retryable_error_and_no_object(
    own_server: SeaweedFS, request: pytest.FixtureRequest
) -> None:
    store = _store(own_server)
    await store.start()
    key = os.urandom(32)
    killed_at: list[float] = []

    async def body() -> AsyncIterator[bytes]:
        for i in range(400):  # 400 MiB: far more than is sent before the kill
            if i == 24:  # several 5 MiB parts are already uploaded
                await asyncio.to_thread(own_server.kill)
                killed_at.append(time.monotonic())
            yield os.urandom(MiB)

    # Every failed part upload is accounted for: none is left for the event loop to report.
    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        with pytest.raises(StoreUnavailable, match=r"unavailable.*retry later") as caught:
            await store.put("fam-1/obj-1", encrypt_stream(key, "obj-1", "fam-1", body()))
        retryable = caught.value.retryable
        del caught  # its traceback holds the upload's frames, and with them its part futures
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert [context["message"] for context in reported] == []
    assert killed_at, "the server was not killed during the upload"
    assert time.monotonic() - killed_at[0] < FAIL_WITHIN_SECONDS
    assert retryable
    await store.close()

    own_server.restart()
    record_server_start(request.config, own_server)
    store = _store(own_server)
    await store.start()
    assert not await store.exists("fam-1/obj-1")
    assert [info.name async for info in store.list()] == []

    # Retrying the same upload after the restart succeeds and reads back intact.
    data = os.urandom(12 * MiB + 5)

    async def again() -> AsyncIterator[bytes]:
        for i in range(0, len(data), MiB):
            yield data[i : i + MiB]

    await store.put("fam-1/obj-1", encrypt_stream(key, "obj-1", "fam-1", again()))
    async with await store.open("fam-1/obj-1") as stream:
        plain = b"".join([p async for p in decrypt_stream(key, "obj-1", "fam-1", stream)])
    assert plain == data
    await store.close()


async def test_calls_to_a_stopped_server_fail_fast_as_unavailable(own_server: SeaweedFS) -> None:
    store = _store(own_server)
    await store.start()
    await store.put("present", _one(b"x"))
    own_server.stop()
    started = time.monotonic()
    for call in (
        store.exists("present"),
        store.open("present"),
        store.delete("present"),
        store.put("new", _one(b"y" * MiB)),
    ):
        with pytest.raises(StoreUnavailable, match="retry later"):
            await call
    with pytest.raises(StoreUnavailable):
        _ = [info async for info in store.list()]
    assert time.monotonic() - started < FAIL_WITHIN_SECONDS
    await store.close()


async def test_start_against_dead_endpoint_fails_as_unavailable(own_server: SeaweedFS) -> None:
    store = _store(own_server)
    own_server.kill()
    with pytest.raises(StoreUnavailable):
        await asyncio.wait_for(store.start(), FAIL_WITHIN_SECONDS)
    await store.close()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data
