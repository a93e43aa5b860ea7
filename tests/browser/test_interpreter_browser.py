"""An interpreter in real Chromium: they sign in with their password and authenticator code,
find the call they are booked on, join it, and see the parent, the child and the supervisor
(real aiortc peers through the app), while the parent and the child receive the interpreter.
The interpreter's page has no controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from playwright.async_api import Playwright, expect

from service.accounts.users import provision_demo_user
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from service.calls.media import ConnectResult, Role
from storage.models import Grant, GrantScope
from storage.models import Role as AccountRole
from tests.support.browser import (
    FAKE_MEDIA_ARGS,
    TIMEOUT_MS,
    LiveApp,
    check_accessibility,
    live_call_app,
    new_browser,
    url_pattern,
)
from tests.support.calls import (
    ROLE_OF,
    Signal,
    book_call,
    child_headers,
    cookie_header,
    make_world,
)
from tests.support.smtp import Inbox
from tests.support.synthetic_calls import SyntheticParticipant, wait_until

pytestmark = pytest.mark.browser

EMAIL = "ana.interpreter@languages.example"
PASSWORD = "words between two languages 9"


@pytest.fixture
async def call_app(database_url: str, tmp_path: Path, smtp_server: Inbox) -> AsyncIterator[LiveApp]:
    async with live_call_app(database_url, tmp_path / "data", smtp_server) as live:
        yield live


async def _until_true(page: Any, expression: str, what: str) -> None:
    """Poll a page expression (the page's CSP forbids Playwright's in-page polling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_MS / 1000
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_interpreter_joins_from_their_home_and_sees_and_is_seen_by_everyone(
    call_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    live = call_app
    app = live.server.app
    world = await make_world(app)
    call_id = await book_call(app, world)
    secret = pyotp.random_base32()
    async with app[SESSIONMAKER].begin() as session:
        ana = await provision_demo_user(
            session,
            app[SETTINGS],
            app[KEYRING],
            centre_id=world.centre_id,
            email=EMAIL,
            display_name="Ana Lopes",
            role=AccountRole.INTERPRETER,
            password=PASSWORD,
            totp_secret=secret,
        )
        session.add(
            Grant(
                user_id=ana.id,
                scope_kind=GrantScope.CALL,
                scope_id=call_id,
                granted_by=world.users["admin"],
            )
        )

    http = aiohttp.ClientSession()
    signals: list[Signal] = []
    peers: dict[Role, SyntheticParticipant] = {}

    async def join(role: Role) -> Signal:
        ws = await http.ws_connect(
            f"{live.url}/calls/{call_id}/signal",
            # The child's socket comes from a centre device locked to the call.
            headers=(
                await child_headers(live.url, app, world, call_id)
                if role == "child"
                else cookie_header(app, world.cookies[ROLE_OF[role]])
            ),
        )
        signal = Signal(ws)
        signals.append(signal)
        await signal.wait_for("state")
        peer = SyntheticParticipant(role, receiving=3)
        peers[role] = peer
        await signal.send({"type": "offer", "sdp": await peer.offer()})
        answer = await signal.wait_for("answer")
        await peer.accept(ConnectResult(answer["sdp"], answer["sources"]))
        return signal

    browser = await new_browser(playwright, tmp_path / "interpreter", extra_args=FAKE_MEDIA_ARGS)
    try:
        page = await browser.new_page()
        await page.goto(live.url + "/sign-in")
        await page.get_by_label("Email address").fill(EMAIL)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(url_pattern(live, "/two-factor"))
        await page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
        await page.get_by_role("button", name="Continue").click()
        await expect(page).to_have_url(url_pattern(live, "/interpreter"))
        await expect(page.get_by_role("heading", name="Calls you are booked on")).to_be_visible()
        await check_accessibility(page)

        await (
            page.locator(f'li[data-call-id="{call_id}"]')
            .get_by_role("link", name="Join the call")
            .click()
        )
        await expect(page).to_have_url(url_pattern(live, f"/calls/{call_id}/join"))
        await expect(page.locator("#call")).to_have_attribute("data-role", "interpreter")
        await check_accessibility(page)
        await page.get_by_role("button", name="Join with camera and microphone").click()

        await join("parent")
        await join("child")
        supervisor = await join("supervisor")
        await supervisor.send({"type": "admit"})

        # The interpreter sees all three; no control of the call is on their page.
        for role in ("parent", "child", "supervisor"):
            await _until_true(
                page,
                f"document.getElementById('video-{role}').videoWidth > 0",
                f"the {role}'s video on the interpreter's page",
            )
        for control in ("#admit", "#pause", "#resume", "#end", "#warn-form", "#stop"):
            await expect(page.locator(control)).to_have_count(0)
        # The parent and the child receive the interpreter's camera and microphone.
        await wait_until(
            lambda: all(
                peers[r].frames_from("interpreter") >= 10
                and peers[r].frames_from("interpreter", "audio") >= 20
                for r in ("parent", "child", "supervisor")
            ),
            within=TIMEOUT_MS / 1000,
            what="the interpreter's media at the parent, the child and the supervisor",
        )
        assert "interpreter" in supervisor.of_type("state")[-1]["participants"]

        await supervisor.send({"type": "end", "reason": "completed"})
        await expect(page.locator("#call")).to_have_attribute("data-state", "ended")
        await expect(page.locator("#ended-reason")).to_have_text(
            "The call has ended. Thank you for interpreting."
        )
    finally:
        await asyncio.gather(*(p.close() for p in peers.values()), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in signals), return_exceptions=True)
        await http.close()
        await browser.close()
