"""`letterbox reconcile`, `shred` and `rotate-master-key`, run as real commands against the
test database and object store (local directory or SeaweedFS)."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from service.settings import Settings
from service.stores import open_object_store
from storage import db
from storage.keyring import FamilyShredded, KeyRing
from storage.keys import MasterKey
from storage.models import FamilyKey, RecordEvent, User
from storage.vault import EncryptedStore, object_name
from tests.support.families import new_family, read_object, store_bytes, stream
from tests.support.seaweedfs import S3Endpoint
from tests.support.settings import make_settings


@pytest.fixture(params=["local", "s3"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "local":
        return {}
    endpoint: S3Endpoint = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    return {
        "s3_url": f"http://{endpoint.netloc}/{bucket}",
        "s3_access_key": endpoint.access_key,
        "s3_secret_key": endpoint.secret_key,
    }


@pytest.fixture
def master_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def settings_with_store(
    database_url: str, tmp_path: Path, store_env: dict[str, str], master_b64: str
) -> Settings:
    return make_settings(database_url, tmp_path / "data", master_key=master_b64, **store_env)


@pytest.fixture
async def vault(settings_with_store: Settings) -> AsyncIterator[EncryptedStore]:
    objects = open_object_store(settings_with_store)
    await objects.start()
    assert settings_with_store.master_key_b64 is not None
    try:
        yield EncryptedStore(
            objects, KeyRing(MasterKey.from_base64(settings_with_store.master_key_b64))
        )
    finally:
        await objects.close()


def letterbox(
    settings: Settings, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERBOX_")}
    env |= {
        "LETTERBOX_ENV": "test",
        "LETTERBOX_DATA_DIR": str(settings.data_dir),
        "LETTERBOX_DATABASE_URL": settings.database_url,
        "LETTERBOX_MASTER_KEY": settings.master_key_b64 or "",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    if settings.s3 is not None:
        env |= {
            "LETTERBOX_S3_URL": f"http://{settings.s3.endpoint}/{settings.s3.bucket}",
            "LETTERBOX_S3_ACCESS_KEY": settings.s3.access_key,
            "LETTERBOX_S3_SECRET_KEY": settings.s3.secret_key,
        }
    env |= extra or {}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_reconcile_reports_missing_objects_and_removes_only_old_orphans(
    settings_with_store: Settings, vault: EncryptedStore
) -> None:
    engine = db.create_engine(settings_with_store.database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        family_id = await new_family(sessionmaker, vault.keyring)
        kept = await store_bytes(sessionmaker, vault, family_id, b"a letter that is fine")
        lost = await store_bytes(sessionmaker, vault, family_id, b"a letter whose object vanished")
        await vault.objects.delete(object_name(family_id, lost))
        # An upload whose transaction never committed: the object exists, no row.
        orphan_id = uuid.uuid4()
        await vault.objects.put(object_name(family_id, orphan_id), stream(b"ciphertext"))

        young = letterbox(settings_with_store, "reconcile")
        assert young.returncode == 1, young.stderr  # a row misses its object
        assert f"MISSING object for row: {object_name(family_id, lost)}" in young.stdout
        assert "1 recent orphans kept" in young.stdout
        assert await vault.objects.exists(object_name(family_id, orphan_id))

        old = letterbox(
            settings_with_store, "reconcile", extra={"LETTERBOX_ORPHAN_AGE_SECONDS": "0"}
        )
        assert f"deleted orphan: {object_name(family_id, orphan_id)}" in old.stdout
        assert not await vault.objects.exists(object_name(family_id, orphan_id))
        # Rows are evidence: never deleted, and good objects are untouched.
        assert await read_object(sessionmaker, vault, kept) == b"a letter that is fine"
        assert f"MISSING object for row: {object_name(family_id, lost)}" in old.stdout
    finally:
        await engine.dispose()


async def test_shred_needs_the_typed_case_reference_then_makes_content_unreadable(
    settings_with_store: Settings, vault: EncryptedStore
) -> None:
    engine = db.create_engine(settings_with_store.database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        family_id = await new_family(sessionmaker, vault.keyring, case_reference="LB-SHRED-1")
        other_id = await new_family(sessionmaker, vault.keyring)
        doomed = await store_bytes(sessionmaker, vault, family_id, b"to be shredded")
        other = await store_bytes(sessionmaker, vault, other_id, b"another family")

        refused = letterbox(settings_with_store, "shred", "LB-SHRED-1", "--confirm", "LB-SHRED-2")
        assert refused.returncode != 0 and "nothing was shredded" in refused.stderr
        assert await read_object(sessionmaker, vault, doomed) == b"to be shredded"

        done = letterbox(settings_with_store, "shred", "LB-SHRED-1", "--confirm", "LB-SHRED-1")
        assert done.returncode == 0, done.stderr
        with pytest.raises(FamilyShredded):
            await read_object(sessionmaker, vault, doomed)
        assert await read_object(sessionmaker, vault, other) == b"another family"
        async with sessionmaker() as session:
            kinds = (
                await session.scalars(
                    select(RecordEvent.kind).where(RecordEvent.family_id == family_id)
                )
            ).all()
        assert kinds == ["family_shredded"]
    finally:
        await engine.dispose()


async def test_master_key_rotation_keeps_content_and_centre_secrets_readable_with_new_key_only(
    settings_with_store: Settings, vault: EncryptedStore, tmp_path: Path
) -> None:
    engine = db.create_engine(settings_with_store.database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        family_id = await new_family(sessionmaker, vault.keyring)
        letter = await store_bytes(sessionmaker, vault, family_id, b"kept across rotation")
        async with sessionmaker.begin() as session:
            centre_id = (await session.scalars(select(User.centre_id))).first()
            from storage.models import Centre, Role

            centre = (await session.scalars(select(Centre))).first()
            assert centre is not None
            user = User(
                centre_id=centre_id or centre.id,
                email="sam@example.org",
                display_name="Sam",
                role=Role.STAFF,
                totp_secret_sealed=vault.keyring.seal_for_centre(b"JBSWY3DPEHPK3PXP", "totp"),
            )
            session.add(user)

        new_key_file = tmp_path / "new-master.key"
        rotated = letterbox(
            settings_with_store, "rotate-master-key", "--new-key-file", str(new_key_file)
        )
        assert rotated.returncode == 0, rotated.stderr
        assert oct(new_key_file.stat().st_mode & 0o777) == "0o600"

        new_ring = KeyRing(MasterKey.from_file(new_key_file))
        new_vault = EncryptedStore(vault.objects, new_ring)
        assert await read_object(sessionmaker, new_vault, letter) == b"kept across rotation"
        async with sessionmaker() as session:
            sealed = (await session.scalars(select(User.totp_secret_sealed))).one()
        assert sealed is not None
        assert new_ring.open_for_centre(sealed, "totp") == b"JBSWY3DPEHPK3PXP"
        with pytest.raises(Exception, match="master key"):
            await read_object(sessionmaker, vault, letter)
    finally:
        await engine.dispose()


def files_holding(database: Path, *needles: bytes) -> list[str]:
    """The database's files (db, -wal, -shm) that hold any of ``needles``. Read by another
    process: closing a file this process opened would drop every POSIX lock it holds on it,
    and SQLite would then take the shred's connection for the last one and empty the log
    itself, hiding a missing checkpoint."""
    script = (
        "import sys, pathlib\n"
        "db = pathlib.Path(sys.argv[1]); needles = [bytes.fromhex(n) for n in sys.argv[2:]]\n"
        "for f in sorted(db.parent.iterdir()):\n"
        "    if f.name.startswith(db.name) and any(n in f.read_bytes() for n in needles):\n"
        "        print(f.name)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script, str(database), *(n.hex() for n in needles)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return found.stdout.split()


# SQLite only: on PostgreSQL docs/deploy.md says what VACUUM does not guarantee.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_after_shred_no_copy_of_the_wrapped_key_remains_in_the_sqlite_files(
    settings_with_store: Settings, vault: EncryptedStore, database_url: str
) -> None:
    # Issue 19: the write-ahead log still held the old wrapped key after a shred, and the
    # master key opens it. Every database file, WAL included, is searched for its bytes and
    # for the child's name. This engine and a plain connection stay open through the shred,
    # as the running service's would, so the log is not emptied by a last connection closing.
    engine = db.create_engine(settings_with_store.database_url)
    sessionmaker = db.create_sessionmaker(engine)
    try:
        family_id = await new_family(
            sessionmaker, vault.keyring, case_reference="LB-SCRUB-1", child=("Wenceslas", 2016)
        )
        await store_bytes(sessionmaker, vault, family_id, b"to be shredded")
        async with sessionmaker() as session:
            row = await session.get(FamilyKey, family_id)
            assert row is not None and row.wrapped_key is not None
            wrapped = bytes(row.wrapped_key)
        database = Path(make_url(database_url).database or "")
        assert files_holding(database, wrapped), "the key is stored"
        # The child's name is sealed with the family key: never in the files in the clear.
        assert files_holding(database, b"Wenceslas") == []

        service = sqlite3.connect(database, isolation_level=None)
        try:
            service.execute("SELECT count(*) FROM family_keys").fetchone()
            done = letterbox(settings_with_store, "shred", "LB-SCRUB-1", "--confirm", "LB-SCRUB-1")
            assert done.returncode == 0, done.stdout + done.stderr
            leftovers = files_holding(database, wrapped)
            assert leftovers == [], f"the old wrapped key is still in {leftovers}"
            assert service.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            service.close()
        async with sessionmaker() as session:  # the service goes on reading
            row = await session.get(FamilyKey, family_id)
            assert row is not None and row.wrapped_key is None
    finally:
        await engine.dispose()
    leftovers = files_holding(database, wrapped, b"Wenceslas")
    assert leftovers == [], f"the old wrapped key or the child's name is still in {leftovers}"
