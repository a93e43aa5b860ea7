"""Helpers for the family-record tests: families, users, a key ring, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.keyring import KeyRing
from storage.keys import MasterKey
from storage.models import Centre, ContactLevel, Family, Role, User

ROOT = Path(__file__).resolve().parent.parent.parent


async def make_family(
    session: AsyncSession,
    case_reference: str | None = None,
    level: ContactLevel = ContactLevel.SUPERVISED,
) -> Family:
    centre = Centre(name="Test Centre")
    session.add(centre)
    await session.flush()
    family = Family(
        centre_id=centre.id,
        case_reference=case_reference or f"LB-{uuid.uuid4().hex[:8].upper()}",
        contact_level=level,
    )
    session.add(family)
    await session.flush()
    return family


async def make_user(session: AsyncSession, centre_id: uuid.UUID, role: Role = Role.STAFF) -> User:
    user = User(
        centre_id=centre_id,
        email=f"{uuid.uuid4().hex[:10]}@example.org",
        display_name="Test User",
        role=role,
    )
    session.add(user)
    await session.flush()
    return user


def new_keyring() -> KeyRing:
    return KeyRing(MasterKey.generate())


def letterbox(
    *args: str, database_url: str, master_key_b64: str, data_dir: Path
) -> subprocess.CompletedProcess[str]:
    """Run the real `letterbox` command against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERBOX_")}
    env |= {
        "LETTERBOX_ENV": "test",
        "LETTERBOX_DATABASE_URL": database_url,
        "LETTERBOX_MASTER_KEY": master_key_b64,
        "LETTERBOX_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
