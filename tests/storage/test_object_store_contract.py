"""One contract for every ObjectStore backend: a local directory and a real SeaweedFS (S3)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.errors import InvalidObjectName, ObjectNotFound, StorageError, StreamTampered
from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.stream import decrypt_stream, encrypt_stream
from tests.support.seaweedfs import S3Endpoint

MiB = 1024 * 1024
# Small parts so the 10 MiB objects really go through S3 multipart uploads.
S3_PART_SIZE = 5 * MiB


@pytest.fixture(params=["local", "seaweedfs"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    backend: LocalObjectStore | S3ObjectStore
    if request.param == "local":
        backend = LocalObjectStore(tmp_path / "objects")
    else:
        endpoint: S3Endpoint = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        backend = S3ObjectStore(
            endpoint.netloc,
            endpoint.access_key,
            endpoint.secret_key,
            bucket,
            secure=False,
            part_size=S3_PART_SIZE,
        )
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


async def _aiter(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


def _pieces(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def _read(store: ObjectStore, name: str) -> bytes:
    async with await store.open(name) as stream:
        return b"".join([piece async for piece in stream])


async def _names(store: ObjectStore, prefix: str = "") -> list[str]:
    return [info.name async for info in store.list(prefix)]


def test_backends_implement_the_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537])
async def test_put_then_open_returns_same_bytes(store: ObjectStore, size: int) -> None:
    data = os.urandom(size)
    assert await store.put("objects/a1", _aiter(_pieces(data, 1000))) == size
    assert await _read(store, "objects/a1") == data
    stream = await store.open("objects/a1")
    assert stream.size == size
    await stream.aclose()


async def test_ten_mib_object_streams_in_and_out_in_bounded_pieces(store: ObjectStore) -> None:
    data = os.urandom(10 * MiB + 123)
    produced = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal produced
        for piece in _pieces(data, 65552):
            produced += len(piece)
            yield piece

    assert await store.put("big/one", source()) == len(data)
    assert produced == len(data)
    digest = hashlib.sha256()
    largest = 0
    async with await store.open("big/one") as stream:
        async for piece in stream:
            largest = max(largest, len(piece))
            digest.update(piece)
    assert digest.digest() == hashlib.sha256(data).digest()
    assert 0 < largest <= 4 * MiB


async def test_encrypted_object_round_trips_through_store(store: ObjectStore) -> None:
    key, data = os.urandom(32), os.urandom(300_000)
    sealed = encrypt_stream(key, "obj-1", "fam-1", _aiter(_pieces(data, 5000)))
    await store.put("enc/obj-1", sealed)
    raw = await _read(store, "enc/obj-1")
    assert data[:64] not in raw
    async with await store.open("enc/obj-1") as stream:
        plain = b"".join([p async for p in decrypt_stream(key, "obj-1", "fam-1", stream)])
    assert plain == data


def _open_descriptors_to(path: Path) -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            count += os.readlink(fd) == str(path)
    return count


@pytest.mark.parametrize("ending", ["never read", "reader stops early", "object tampered"])
async def test_decryption_closes_the_stored_body_however_it_ends(
    store: ObjectStore, tmp_path: Path, ending: str
) -> None:
    """A browser that goes away before or during a download, or an object altered at rest, must
    not leave the stored file (or the S3 response) open until garbage collection."""
    # Larger than one read from the store, so the body still has bytes to give when it ends.
    key, data = os.urandom(32), os.urandom(3 * MiB)
    await store.put("enc/obj-1", encrypt_stream(key, "obj-1", "fam-1", _aiter(_pieces(data))))
    if ending == "object tampered":
        raw = bytearray(await _read(store, "enc/obj-1"))
        raw[200_000] ^= 1
        await store.put("enc/obj-1", _aiter([bytes(raw)]))
    body = await store.open("enc/obj-1")
    plain = decrypt_stream(key, "obj-1", "fam-1", body)
    if ending == "never read":  # the browser left before the response began
        await plain.aclose()
    elif ending == "reader stops early":
        assert len(await anext(plain)) == 64 * 1024
        if isinstance(store, LocalObjectStore):
            assert _open_descriptors_to(tmp_path / "objects" / "enc" / "obj-1") == 1
        await plain.aclose()
    else:
        with pytest.raises(StreamTampered):
            async for _piece in plain:
                pass
    assert [piece async for piece in body] == [], "the body was left open"
    if isinstance(store, LocalObjectStore):
        assert _open_descriptors_to(tmp_path / "objects" / "enc" / "obj-1") == 0


async def test_open_of_missing_name_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.open("never/written")


async def test_exists_and_delete(store: ObjectStore) -> None:
    assert not await store.exists("x/y")
    await store.put("x/y", _aiter([b"hello"]))
    assert await store.exists("x/y")
    await store.delete("x/y")
    assert not await store.exists("x/y")
    with pytest.raises(ObjectNotFound):
        await store.open("x/y")


async def test_delete_of_missing_name_is_idempotent(store: ObjectStore) -> None:
    await store.delete("not/there")


async def test_put_overwrites_whole_object(store: ObjectStore) -> None:
    await store.put("o", _aiter([os.urandom(200_000)]))
    await store.put("o", _aiter([b"short"]))
    assert await _read(store, "o") == b"short"


async def test_list_filters_by_prefix_with_sizes_and_utc_times(store: ObjectStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    for name, size in [("fam-a/1", 3), ("fam-a/2", 10), ("fam-b/1", 7), ("top", 1)]:
        await store.put(name, _aiter([b"x" * size]))
    infos = [info async for info in store.list("fam-a/")]
    assert [(i.name, i.size) for i in infos] == [("fam-a/1", 3), ("fam-a/2", 10)]
    for info in infos:
        assert info.modified_at.tzinfo is not None
        assert info.modified_at.utcoffset() == timedelta(0)
        assert before < info.modified_at < datetime.now(UTC) + timedelta(minutes=5)
    assert await _names(store) == ["fam-a/1", "fam-a/2", "fam-b/1", "top"]
    assert await _names(store, "nothing-") == []


async def test_failed_put_leaves_nothing_visible(store: ObjectStore) -> None:
    class SourceBroke(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        for _ in range(3 * S3_PART_SIZE // MiB):  # past the first multipart part
            yield os.urandom(MiB)
        raise SourceBroke

    with pytest.raises(SourceBroke):
        await store.put("half/written", broken())
    assert not await store.exists("half/written")
    assert await _names(store) == []
    with pytest.raises(ObjectNotFound):
        await store.open("half/written")


async def test_failed_overwrite_keeps_previous_object(store: ObjectStore) -> None:
    await store.put("keep", _aiter([b"version one"]))

    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await store.put("keep", broken())
    assert await _read(store, "keep") == b"version one"


async def test_object_is_invisible_until_put_completes(store: ObjectStore) -> None:
    release = asyncio.Event()
    sent_first = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield os.urandom(2 * MiB)
        sent_first.set()
        await release.wait()
        yield os.urandom(MiB)

    upload = asyncio.create_task(store.put("pending/obj", slow()))
    await asyncio.wait_for(sent_first.wait(), 30)
    await asyncio.sleep(0.2)  # give the backend time to write what it has
    assert not await store.exists("pending/obj")
    assert await _names(store, "pending/") == []
    release.set()
    assert await asyncio.wait_for(upload, 60) == 3 * MiB
    assert await store.exists("pending/obj")


async def test_early_closed_stream_releases_resources(store: ObjectStore) -> None:
    await store.put("r", _aiter([os.urandom(3 * MiB)]))
    for _ in range(20):
        stream = await store.open("r")
        async for _piece in stream:
            break
        await stream.aclose()
    assert len(await _read(store, "r")) == 3 * MiB


INVALID_NAMES = [
    "",
    "../etc/passwd",
    "a/../b",
    "/abs",
    "a//b",
    "trailing/",
    "Upper",
    "dot.name",
    ".hidden",
    "-leading-dash",
    "space name",
    "naïve",
    "a\x00b",
    "x" * 202,
]


@pytest.mark.parametrize("name", INVALID_NAMES)
async def test_invalid_names_are_refused(store: ObjectStore, name: str) -> None:
    with pytest.raises(InvalidObjectName):
        await store.put(name, _aiter([b"x"]))
    with pytest.raises(InvalidObjectName):
        await store.open(name)
    with pytest.raises(InvalidObjectName):
        await store.exists(name)
    with pytest.raises(InvalidObjectName):
        await store.delete(name)
    assert await _names(store) == []


async def test_invalid_list_prefix_is_refused(store: ObjectStore) -> None:
    with pytest.raises(InvalidObjectName):
        _ = [i async for i in store.list("../")]


def test_invalid_name_error_is_storage_error() -> None:
    assert issubclass(InvalidObjectName, StorageError)
