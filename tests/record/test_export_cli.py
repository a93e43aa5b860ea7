"""`letterbox export` makes a court PDF and a bundle that the offline verifier accepts; the
export is itself a record event and signs a fresh checkpoint."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import db
from storage import recordformat as rf
from storage.keyring import KeyRing
from storage.keys import MasterKey
from storage.models import ContactLevel, RecordCheckpoint, RecordEvent, StoredObject
from storage.record import install_record_guard, load_public_key
from tests.support.export_world import (
    NOTE_TEXT,
    pdf_page_count,
    pdf_pages_text,
    pixel_stddev,
    render_pages,
    seed_family,
)
from tests.support.record import letterbox


@pytest.fixture
def master_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    try:
        maker = db.create_sessionmaker(engine)
        install_record_guard(maker)
        yield maker
    finally:
        await engine.dispose()


async def test_cli_export_makes_a_pdf_and_bundle_the_verifier_accepts(
    database_url: str,
    master_key_b64: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    keyring = KeyRing(MasterKey.from_base64(master_key_b64))
    family = await seed_family(sessionmaker, keyring, level=ContactLevel.SUPERVISED, cycles=2)
    out = tmp_path / "out"
    run = letterbox(
        "export",
        family.case_reference,
        "--from",
        family.first_at.date().isoformat(),
        "--to",
        family.last_at.date().isoformat(),
        "--out",
        str(out),
        database_url=database_url,
        master_key_b64=master_key_b64,
        data_dir=tmp_path / "data",
    )
    assert run.returncode == 0, run.stderr + run.stdout
    pdf_path = next(out.glob("*_record.pdf"))
    bundle_path = next(out.glob("*_bundle.zip"))
    pdf = pdf_path.read_bytes()

    async with sessionmaker() as session:
        fingerprint = rf.key_fingerprint(await load_public_key(session))
        made = (
            await session.scalars(
                select(RecordEvent).where(
                    RecordEvent.family_id == family.family_id, RecordEvent.kind == "export_made"
                )
            )
        ).all()
        checkpoints = await session.scalar(
            select(func.count())
            .select_from(RecordCheckpoint)
            .where(RecordCheckpoint.family_id == family.family_id)
        )
        kept = await session.scalar(
            select(func.count())
            .select_from(StoredObject)
            .where(StoredObject.family_id == family.family_id, StoredObject.role == "export")
        )
    assert len(made) == 1, "the export is itself a record event"
    payload = rf.parse_canonical(made[0].payload)
    assert payload["events"] == family.events
    assert payload["checkpoint_size"] == family.events
    assert checkpoints == 1, "the export signed a fresh checkpoint"
    assert kept == 2, "the PDF and the bundle are kept for referrers to download"

    verify = letterbox(
        "verify",
        str(bundle_path),
        "--fingerprint",
        fingerprint,
        "--pdf",
        str(pdf_path),
        database_url=database_url,
        master_key_b64=master_key_b64,
        data_dir=tmp_path / "data",
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("VALID")
    assert payload["record_digest"] in verify.stdout
    assert f"{family.events} (record positions 1–{family.events}" in verify.stdout

    pages = pdf_pages_text(pdf, tmp_path)
    count = pdf_page_count(pdf, tmp_path)
    assert count >= 3 and len(pages) == count
    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {count}" in text
        assert payload["record_digest"] in text, f"page {number} lacks the bundle hash"
    assert family.case_reference in pages[0]
    assert fingerprint[:4] in pages[0] and "Supervised contact" in pages[0]
    assert NOTE_TEXT in "".join(pages)
    for png in render_pages(pdf, tmp_path, 1, 2):
        assert pixel_stddev(png) > 5, f"{png.name} is blank"


async def test_cli_export_refuses_unknown_case_and_bad_dates(
    database_url: str, master_key_b64: str, tmp_path: Path
) -> None:
    common = {
        "database_url": database_url,
        "master_key_b64": master_key_b64,
        "data_dir": tmp_path / "data",
    }
    unknown = letterbox(
        "export",
        "NO-SUCH-CASE",
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-31",
        "--out",
        str(tmp_path),
        **common,
    )
    assert unknown.returncode != 0
    assert "no family with case reference" in unknown.stderr
    backwards = letterbox(
        "export",
        "ANY",
        "--from",
        "2025-02-01",
        "--to",
        "2025-01-01",
        "--out",
        str(tmp_path),
        **common,
    )
    assert backwards.returncode != 0
    assert "before the start date" in backwards.stderr
