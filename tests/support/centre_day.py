"""People of a centre who sign in through the browser (password, and a TOTP code for centre
roles), and the sign-in itself by typing only: the start of every working-day journey."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import pyotp
from aiohttp import web
from playwright.async_api import Page, expect

from service.accounts.passwords import hash_password
from service.accounts.users import enrol_totp_secret, provision_demo_user
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from storage.models import AccountStatus, Role, User
from tests.support.browser import TIMEOUT_MS, LiveApp, check_accessibility
from tests.support.letterbox_world import DEVICE_COOKIE, World, letter_form

PASSWORD = "a long passphrase for the centre"
HOMES = {
    Role.ADMIN: "/admin",
    Role.STAFF: "/staff",
    Role.SUPERVISOR: "/supervisor",
    Role.REFERRER: "/referrer",
    Role.PARENT: "/letterbox",
    Role.INTERPRETER: "/interpreter",
    Role.TRANSLATOR: "/translator",
}


@dataclass(frozen=True)
class BrowserPerson:
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    totp_secret: str | None


async def browser_person(
    app: web.Application, centre_id: uuid.UUID, role: Role, name: str
) -> BrowserPerson:
    """An active account with a password, and TOTP enrolled when the role needs it."""
    secret = pyotp.random_base32() if role.needs_second_factor else None
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@centre.example"
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
    return BrowserPerson(user.id, email, name, role, secret)


async def signable(app: web.Application, user_id: uuid.UUID) -> BrowserPerson:
    """An existing account of a test world (its ids stay what the test checks) made able to
    sign in through the browser: its address as a person types it (lower case, no spaces), the
    password PASSWORD, and TOTP enrolled when the role needs it. Its sessions stay open."""
    async with app[SESSIONMAKER].begin() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.email = user.email.lower().replace(" ", ".")
        user.password_hash = await hash_password(app[SETTINGS], PASSWORD)
        user.status = AccountStatus.ACTIVE
        secret = None
        if user.role.needs_second_factor:
            secret = await enrol_totp_secret(app[KEYRING], user, pyotp.random_base32())
        return BrowserPerson(user.id, user.email, user.display_name, user.role, secret)


class Site(Protocol):
    """Where the app under test answers (a LiveApp, or a test's own server)."""

    @property
    def url(self) -> str: ...


def _at(site: Site, path: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(site.url) + path + r"(\?.*)?$")


async def sign_in(
    page: Page,
    live: Site,
    person: BrowserPerson,
    *,
    second_device: bool = False,
    accessibility: bool = True,
) -> None:
    """From the sign-in page to the person's home, typing only; axe on each page unless
    ``accessibility`` is false (a browser that keeps the site's CSP cannot load axe).

    ``second_device``: the person is already signed in elsewhere within the last half
    minute, so their app's current code is spent (a code counts once); they type the next
    one, which the site accepts (one step of drift either way)."""
    await page.goto(live.url + "/sign-in")
    if accessibility:
        await check_accessibility(page)
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    if person.totp_secret is not None:
        await expect(page).to_have_url(_at(live, "/two-factor"), timeout=TIMEOUT_MS)
        if accessibility:
            await check_accessibility(page)
        code = pyotp.TOTP(person.totp_secret).at(time.time() + (30 if second_device else 0))
        await page.get_by_label(re.compile("code", re.I)).first.fill(code)
        await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(_at(live, HOMES[person.role]), timeout=TIMEOUT_MS)
    if accessibility:
        await check_accessibility(page)


async def parent_sends(
    live: LiveApp, world: World, text: str, files: list[tuple[str, bytes]] | None = None
) -> uuid.UUID:
    """The parent's letter, through the real intake (the parent's journey has its own tests)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{live.url}/api/families/{world.family_id}/items",
            data=letter_form(text, files or []),
            headers=world.parent.headers(Origin=live.url),
        ) as response,
    ):
        body = await response.json()
        assert response.status == 201, body
        return uuid.UUID(body["item_id"])


async def child_replies(live: LiveApp, world: World, text: str) -> uuid.UUID:
    """The child's reply, typed by a worker in an opening session and approved by a colleague
    (the worker who typed it may not approve it), through the real routes: delivered to the
    parent. Those are the centre's journeys, with their own tests."""
    async with aiohttp.ClientSession() as http:
        staff = world.staff.headers(Origin=live.url)
        async with http.post(
            f"{live.url}/api/families/{world.family_id}/opening-sessions",
            json={"child_id": str(world.child_id)},
            headers=staff,
        ) as response:
            assert response.status == 201, await response.text()
            session_id = (await response.json())["session_id"]
            device = response.cookies[DEVICE_COOKIE].value
        async with http.post(
            f"{live.url}/api/child/sessions/{session_id}/replies",
            data=letter_form(text),
            headers={**staff, "Cookie": f"{staff['Cookie']}; {DEVICE_COOKIE}={device}"},
        ) as response:
            assert response.status == 201, await response.text()
            reply_id = uuid.UUID((await response.json())["item_id"])
        colleague = world.staff2.headers(Origin=live.url)
        moderation = f"{live.url}/api/moderation/items/{reply_id}"
        async with http.get(moderation, headers=colleague) as response:
            version = (await response.json())["version"]
        async with http.post(
            f"{moderation}/decision",
            json={"decision": "approve", "version": version},
            headers=colleague,
        ) as response:
            assert response.status == 200, await response.text()
    return reply_id
