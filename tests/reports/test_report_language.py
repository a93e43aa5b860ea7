"""A supervised contact report's PDF is drawn in the language of the person who downloads
it: its headings, labels and dates; the supervisor's own words stay as written."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from service.reports import reports
from service.services import Services
from storage.models import User
from tests.support.call_api import add_referrer
from tests.support.calls import cookie_header, make_world
from tests.support.export_world import pdf_pages_text
from tests.support.reports import REPORT, actor, ended_call
from tests.support.seeding import seeding_sessionmaker

WELSH = (
    "Adroddiad cyswllt dan oruchwyliaeth",
    "Cyfeirnod yr achos",
    "Lleoliad",
    "Nod y sesiwn",
    "Pryderon",
    "Wedi'i wirio a'i gymeradwyo gan",
)
ENGLISH = (
    "Supervised contact report",
    "Case reference",
    "Venue",
    "The aim of the session",
    "Concerns",
    "Checked and approved by",
)


async def _download_text(client: TestClient, language: str, tmp_path: Path) -> str:
    app = client.server.app
    world = await make_world(app)
    call_id = await ended_call(app, world)
    services = Services.of(app)
    report_id = await reports.write_report(
        services, await actor(app, world, "supervisor"), call_id, reports.ReportFields.parse(REPORT)
    )
    await reports.check_report(
        services, await actor(app, world, "staff"), world.family_id, report_id, "approve", ""
    )
    await add_referrer(client, world)
    async with seeding_sessionmaker(app).begin() as session:
        await session.execute(
            update(User).where(User.id == world.users["referrer"]).values(language=language)
        )
    response = await client.post(
        f"/referrer/families/{world.family_id}/reports/{report_id}/download",
        data={"csrf_token": world.csrf["referrer"]},
        headers=cookie_header(app, world.cookies["referrer"]),
    )
    assert response.status == 200
    return " ".join(" ".join(pdf_pages_text(await response.read(), tmp_path)).split())


async def test_a_welsh_speaking_referrer_downloads_the_report_in_welsh(
    client: TestClient, tmp_path: Path
) -> None:
    text = await _download_text(client, "cy", tmp_path)
    for heading in WELSH:
        assert heading in text, heading
    for heading in ENGLISH:
        assert heading not in text, heading
    assert "munud" in text and "Dim." in text  # the length, and the empty concerns box
    assert "drawing of a boat" in text  # the supervisor's words as written


async def test_an_english_speaking_referrer_downloads_the_report_in_english(
    client: TestClient, tmp_path: Path
) -> None:
    text = await _download_text(client, "en", tmp_path)
    for heading in ENGLISH:
        assert heading in text, heading
    assert "Nod y sesiwn" not in text and "minutes" in text
