"""A supervised contact report in real Chromium, from the sign-in page by clicks and typing
only: the supervisor finds the ended call on their home page and writes the report; a second
supervisor finds it on theirs and approves it; the family's referrer opens the family's
reports and downloads the PDF, and the download is in the record. axe-core checks every page
on the way."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Page, Playwright, expect
from sqlalchemy import select

from service.accounts.users import provision_demo_user
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from storage.models import ContactReport, RecordEvent, ReferrerAccess, ReportStatus, Role
from tests.support.browser import (
    TIMEOUT_MS,
    LiveApp,
    check_accessibility,
    new_browser,
    url_pattern,
)
from tests.support.calls import make_world
from tests.support.export_world import pdf_pages_text
from tests.support.reports import REPORT, ended_call

pytestmark = pytest.mark.browser

PASSWORD = "a long and careful passphrase"
LABELS = {
    "present": "Who was present",
    "aim": "The aim of the session",
    "account": "What happened (a factual account)",
    "quotes": "Direct quotes (if any)",
    "arrival": "The child on arrival",
    "leaving": "The child on leaving",
    "safeguarding": "Safeguarding",
}


async def _person(live: LiveApp, centre_id: uuid.UUID, role: Role, name: str) -> tuple:
    app = live.server.app
    secret = pyotp.random_base32() if role.is_centre_staff else None
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@centre.example"
    async with app[SESSIONMAKER].begin() as session:
        user = await provision_demo_user(
            session,
            app[SETTINGS],
            app[KEYRING],
            centre_id=centre_id,
            email=email,
            display_name=name,
            role=role,
            password=PASSWORD,
            totp_secret=secret,
        )
    return user.id, email, secret


async def _sign_in(page: Page, live: LiveApp, email: str, secret: str | None, home: str) -> None:
    await page.goto(live.url + "/sign-in")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    if secret is not None:
        await expect(page).to_have_url(url_pattern(live, "/two-factor"), timeout=TIMEOUT_MS)
        await page.get_by_label(re.compile("code", re.I)).first.fill(pyotp.TOTP(secret).now())
        await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(url_pattern(live, home), timeout=TIMEOUT_MS)


async def test_report_written_from_the_home_page_approved_by_a_second_person_and_downloaded(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    live = live_app
    app = live.server.app
    assert app is not None
    world = await make_world(app)
    writer_id, writer_email, writer_secret = await _person(
        live, world.centre_id, Role.SUPERVISOR, "Jo Writer"
    )
    _, checker_email, checker_secret = await _person(
        live, world.centre_id, Role.SUPERVISOR, "Kit Checker"
    )
    referrer_id, referrer_email, _ = await _person(
        live, world.centre_id, Role.REFERRER, "Priya Solicitor"
    )
    async with app[SESSIONMAKER].begin() as session:
        session.add(
            ReferrerAccess(
                family_id=world.family_id,
                user_id=referrer_id,
                granted_by=world.users["admin"],
                expires_at=datetime.now(UTC) + timedelta(days=7),
            )
        )
    world.users["supervisor"] = writer_id  # the call Jo supervised
    await ended_call(app, world)

    # 1. The supervisor writes the report from their home page.
    context = await new_browser(playwright, tmp_path / "writer")
    try:
        page = await context.new_page()
        await _sign_in(page, live, writer_email, writer_secret, "/supervisor")
        await expect(page.get_by_role("heading", name="Contact reports")).to_be_visible()
        await check_accessibility(page)
        await page.get_by_role("link", name=re.compile("Write the report for case")).click()
        await expect(page.get_by_role("heading", name="Supervised contact report")).to_be_visible()
        await expect(page.get_by_text("Video call")).to_be_visible()
        await check_accessibility(page)
        await page.get_by_label(LABELS["present"]).fill(REPORT["present"])
        await page.get_by_label(LABELS["aim"]).fill(REPORT["aim"])
        await page.get_by_label(LABELS["account"]).fill(REPORT["account"])
        await page.get_by_label(LABELS["quotes"]).fill(REPORT["quotes"])
        await page.get_by_label(LABELS["arrival"]).fill(REPORT["arrival"])
        await page.get_by_label(LABELS["leaving"]).fill(REPORT["leaving"])
        await page.get_by_label(LABELS["safeguarding"]).fill(REPORT["safeguarding"])
        await page.get_by_role("button", name="Send the report to be checked").click()
        await expect(page.get_by_role("status")).to_contain_text("sent to be checked")
        await check_accessibility(page)
    finally:
        await context.close()

    async with app[SESSIONMAKER]() as session:
        report = await session.scalar(
            select(ContactReport).where(ContactReport.family_id == world.family_id)
        )
    assert report is not None and report.status is ReportStatus.SUBMITTED
    assert report.author_id == writer_id

    # 2. A second supervisor finds it on their home page and approves it.
    context = await new_browser(playwright, tmp_path / "checker")
    try:
        page = await context.new_page()
        await _sign_in(page, live, checker_email, checker_secret, "/supervisor")
        await page.get_by_role("link", name=re.compile("Check the report by Jo Writer")).click()
        await expect(page.get_by_text(REPORT["account"])).to_be_visible()
        await expect(page.get_by_text("Waiting to be checked")).to_be_visible()
        await check_accessibility(page)
        await page.get_by_role("button", name="Approve and seal the report").click()
        await expect(page.get_by_role("status")).to_contain_text("approved")
        await check_accessibility(page)
    finally:
        await context.close()

    async with app[SESSIONMAKER]() as session:
        sealed = await session.get(ContactReport, report.id, populate_existing=True)
    assert sealed is not None and sealed.status is ReportStatus.APPROVED
    assert sealed.sha256 is not None and sealed.checker_id not in (None, writer_id)

    # 3. The referrer opens the family's reports and downloads the PDF.
    context = await new_browser(playwright, tmp_path / "referrer")
    try:
        page = await context.new_page()
        await _sign_in(page, live, referrer_email, None, "/referrer")
        await page.get_by_role("link", name=re.compile("^Reports of")).click()
        await expect(page.get_by_role("heading", name="Supervised contact reports")).to_be_visible()
        await check_accessibility(page)
        async with page.expect_download() as waiting:
            await page.get_by_role("button", name=re.compile("Download the report")).click()
        download = await waiting.value
        saved = tmp_path / "report.pdf"
        await download.save_as(saved)
    finally:
        await context.close()

    text = " ".join(" ".join(pdf_pages_text(saved.read_bytes(), tmp_path)).split())
    for heading in ("Supervised contact report", "The aim of the session", "Safeguarding"):
        assert heading in text
    assert REPORT["account"] in text and "Kit Checker" in text
    assert sealed.sha256 in text.replace(" ", "")
    async with app[SESSIONMAKER]() as session:
        downloads = list(
            await session.scalars(
                select(RecordEvent).where(
                    RecordEvent.family_id == world.family_id,
                    RecordEvent.kind == "report_downloaded",
                )
            )
        )
    assert [e.actor_id for e in downloads] == [referrer_id]
