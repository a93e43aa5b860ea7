"""The data folder and the SQLite database files are private to the service's user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from service.commands import prepare_data_dir
from storage import db
from tests.support.settings import make_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_database_files_are_created_0600_in_a_0700_folder(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual umask, which would make them world-readable
    try:
        database = tmp_path / "fresh" / "letterbox.db"
        engine = db.create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (x INTEGER)"))
                await connection.execute(text("INSERT INTO t VALUES (1)"))
            wal = database.with_name("letterbox.db-wal")
            assert wal.exists(), "WAL mode makes a -wal file"
            for path in (database, wal, database.with_name("letterbox.db-shm")):
                assert _mode(path) == 0o600, f"{path.name} is {oct(_mode(path))}"
            assert _mode(database.parent) == 0o700
        finally:
            await engine.dispose()
    finally:
        os.umask(old_umask)


def test_data_folder_is_created_0700_and_a_wide_one_is_narrowed(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        fresh = make_settings("sqlite+aiosqlite:///:memory:", tmp_path / "new-data")
        prepare_data_dir(fresh)
        assert _mode(fresh.data_dir) == 0o700
        wide = tmp_path / "wide"
        wide.mkdir(mode=0o755)
        wide.chmod(0o755)
        prepare_data_dir(make_settings("sqlite+aiosqlite:///:memory:", wide))
        assert _mode(wide) == 0o700
    finally:
        os.umask(old_umask)
