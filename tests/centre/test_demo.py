"""`letterbox demo`: seeds once, prints every login, changes nothing the second time, and is
refused in production."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from service.centre.demo import LOGINS
from storage import db
from storage.models import (
    Child,
    Family,
    FamilySender,
    RecordEvent,
    ReferrerAccess,
    SensitiveTerm,
    User,
)


def _letterbox(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERBOX_")}
    env.update(
        {
            "LETTERBOX_DATA_DIR": str(tmp_path / "data"),
            "LETTERBOX_DATABASE_URL": database_url,
            "LETTERBOX_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LETTERBOX_ARGON2_TIME_COST": "1",
            "LETTERBOX_ARGON2_MEMORY_KIB": "64",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
    )
    env.update(extra)
    return env


async def _counts(url: str) -> dict[str, int]:
    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            return {
                model.__name__: int(
                    await session.scalar(select(func.count()).select_from(model)) or 0
                )
                for model in (
                    User,
                    Family,
                    Child,
                    FamilySender,
                    SensitiveTerm,
                    ReferrerAccess,
                    RecordEvent,
                )
            }
    finally:
        await engine.dispose()


def test_demo_seeds_once_and_prints_every_login(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    first = _letterbox("demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "Seeded the demo centre." in first.stdout
    for login in LOGINS:
        assert login.email in first.stdout and login.password in first.stdout
        if login.totp_secret:
            assert login.totp_secret in first.stdout
    assert re.search(r"code right now: \d{6}", first.stdout)
    before = asyncio.run(_counts(database_url))
    assert before["User"] == len(LOGINS) and before["Family"] == 2
    assert before["SensitiveTerm"] == 6 and before["ReferrerAccess"] == 2

    second = _letterbox("demo", env=env)
    assert second.returncode == 0, second.stderr
    assert "already there; nothing changed" in second.stdout
    assert asyncio.run(_counts(database_url)) == before


def test_demo_is_refused_in_production(tmp_path: Path, database_url: str) -> None:
    env = _env(
        tmp_path,
        database_url,
        LETTERBOX_ENV="production",
        LETTERBOX_PUBLIC_URL="https://letterbox.example",
        LETTERBOX_SMTP_URL="smtp+starttls://mail.example:587",
        LETTERBOX_S3_URL="https://s3.example/bucket",
        LETTERBOX_S3_ACCESS_KEY="a",
        LETTERBOX_S3_SECRET_KEY="b",
        LETTERBOX_ICE_HOST_ADDRESS="203.0.113.10",
        LETTERBOX_TRUSTED_PROXIES="1",
    )
    result = _letterbox("demo", env=env)
    assert result.returncode != 0
    assert "refused in production" in result.stderr
    assert asyncio.run(_counts(database_url))["User"] == 0
