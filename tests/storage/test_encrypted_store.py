"""EncryptedStore with the key ring: content is unreadable at rest, shredding is final,
master-key rotation touches no object. Runs on SQLite and PostgreSQL, local store and S3."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db
from storage.keyring import FamilyShredded, KeyRing
from storage.keys import MasterKey
from storage.models import ObjectRole, StoredObject
from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.vault import EncryptedStore, ObjectTooLarge, object_name
from tests.support.families import new_family, read_object, store_bytes, stream
from tests.support.seaweedfs import S3Endpoint

CANARY = "CANARY-7f3a-Flat-2b-14-Acacia-Avenue-SW1A-1AA"


@pytest.fixture(params=["local", "s3"])
async def objects(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    store: LocalObjectStore | S3ObjectStore
    if request.param == "local":
        store = LocalObjectStore(tmp_path / "objects")
    else:
        endpoint: S3Endpoint = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        store = S3ObjectStore(
            endpoint.netloc, endpoint.access_key, endpoint.secret_key, bucket, secure=False
        )
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def raw_files(root: Path) -> Iterator[bytes]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path.read_bytes()


async def test_round_trip_keeps_bytes_size_and_hash(
    engine: AsyncEngine, objects: ObjectStore
) -> None:
    sessionmaker = db.create_sessionmaker(engine)
    vault = EncryptedStore(objects, KeyRing(MasterKey.generate()))
    family_id = await new_family(sessionmaker, vault.keyring)
    data = os.urandom(200_000)
    object_id = await store_bytes(sessionmaker, vault, family_id, data)
    assert await read_object(sessionmaker, vault, object_id) == data
    async with sessionmaker() as session:
        row = await session.get(StoredObject, object_id)
        assert row is not None
        assert row.size == len(data)
        assert row.sha256 == hashlib.sha256(data).hexdigest()


async def test_canary_letter_never_appears_in_database_or_object_bytes(
    engine: AsyncEngine, objects: ObjectStore, database_url: str, tmp_path: Path
) -> None:
    sessionmaker = db.create_sessionmaker(engine)
    keyring = KeyRing(MasterKey.generate())
    vault = EncryptedStore(objects, keyring)
    family_id = await new_family(sessionmaker, keyring)
    letter = f"Dear Sam, {CANARY} love Dad".encode()
    object_id = await store_bytes(sessionmaker, vault, family_id, letter)
    async with sessionmaker.begin() as session:
        await keyring.seal_for_family(session, family_id, CANARY.encode(), "sensitive-term")

    # Every row of every table, as text.
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        for table in metadata.sorted_tables:
            for row in (await connection.execute(table.select())).all():
                assert CANARY not in repr(row)
                assert CANARY.encode() not in b"".join(
                    v for v in row if isinstance(v, bytes | memoryview)
                )
    if database_url.startswith("sqlite"):
        db_file = Path(database_url.split("///", 1)[1])
        for path in db_file.parent.glob(db_file.name + "*"):  # the file, -wal, -shm
            assert CANARY.encode() not in path.read_bytes()

    async with await objects.open(object_name(family_id, object_id)) as body:
        raw = b"".join([piece async for piece in body])
    assert CANARY.encode() not in raw
    assert letter not in raw
    if isinstance(objects, LocalObjectStore):
        assert all(CANARY.encode() not in blob for blob in raw_files(tmp_path / "objects"))


async def test_shredded_family_cannot_be_read_and_others_are_untouched(
    engine: AsyncEngine, objects: ObjectStore
) -> None:
    sessionmaker = db.create_sessionmaker(engine)
    vault = EncryptedStore(objects, KeyRing(MasterKey.generate()))
    doomed = await new_family(sessionmaker, vault.keyring)
    kept = await new_family(sessionmaker, vault.keyring)
    doomed_object = await store_bytes(sessionmaker, vault, doomed, b"doomed letter")
    kept_object = await store_bytes(sessionmaker, vault, kept, b"kept letter")
    async with sessionmaker.begin() as session:
        await vault.keyring.shred(session, doomed)
    with pytest.raises(FamilyShredded, match="permanently erased"):
        await read_object(sessionmaker, vault, doomed_object)
    assert await read_object(sessionmaker, vault, kept_object) == b"kept letter"


async def test_master_key_rotation_rewraps_family_keys_without_touching_objects(
    engine: AsyncEngine, objects: ObjectStore
) -> None:
    sessionmaker = db.create_sessionmaker(engine)
    old = KeyRing(MasterKey.generate())
    vault = EncryptedStore(objects, old)
    family_id = await new_family(sessionmaker, old)
    object_id = await store_bytes(sessionmaker, vault, family_id, b"before rotation")
    async with await objects.open(object_name(family_id, object_id)) as body:
        before = b"".join([piece async for piece in body])

    new_master = MasterKey.generate()
    async with sessionmaker.begin() as session:
        assert await old.rotate_master(session, new_master) == 1

    rotated = EncryptedStore(objects, KeyRing(new_master))
    assert await read_object(sessionmaker, rotated, object_id) == b"before rotation"
    async with await objects.open(object_name(family_id, object_id)) as body:
        assert b"".join([piece async for piece in body]) == before
    with pytest.raises(Exception, match="master key"):
        await read_object(sessionmaker, vault, object_id)  # the old master key no longer opens it


async def test_oversize_upload_leaves_no_row_and_no_object(
    engine: AsyncEngine, objects: ObjectStore
) -> None:
    sessionmaker = db.create_sessionmaker(engine)
    vault = EncryptedStore(objects, KeyRing(MasterKey.generate()))
    family_id = await new_family(sessionmaker, vault.keyring)
    with pytest.raises(ObjectTooLarge):
        async with sessionmaker.begin() as session:
            await vault.put(
                session,
                family_id,
                stream(b"x" * 100_000),
                role=ObjectRole.ORIGINAL,
                media_type="image/jpeg",
                max_bytes=50_000,
            )
    async with sessionmaker() as session:
        assert (await session.execute(select(StoredObject))).first() is None
    assert [info async for info in objects.list(f"f/{family_id.hex}")] == []
