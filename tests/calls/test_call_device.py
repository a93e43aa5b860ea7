"""The child's call on a locked centre device: once a staff member has opened it with their
password, the device reaches only that call (its page, its socket, its goodbye) and the way
out, which needs the staff password again and slows guessing down."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.accounts.passwords import hash_password
from service.appkeys import CALLS, SESSIONMAKER, SETTINGS
from service.calls.device import device_cookie_name
from storage import record
from storage.models import CallDevice, User
from tests.support.calls import CallWorld, Signal, book_call, make_world

STAFF_PASSWORD = "a kettle of fish and chips"


@dataclass
class Device:
    """The centre device's browser: the staff member's session plus the device cookie."""

    client: TestClient
    world: CallWorld
    call_id: uuid.UUID
    device_token: str | None = None

    def headers(self, *, device: bool = True, **extra: str) -> dict[str, str]:
        app = self.client.server.app
        jar = {app[SETTINGS].session_cookie_name: self.world.cookies["staff"]}
        if device and self.device_token is not None:
            jar[device_cookie_name(app[SETTINGS].secure_cookies)] = self.device_token
        return {
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "Origin": app[SETTINGS].public_origin,
            "X-CSRF-Token": self.world.csrf["staff"],
            "Accept": "text/html",
            **extra,
        }

    async def post(self, path: str, **form: str) -> aiohttp.ClientResponse:
        return await self.client.post(
            path,
            data={"csrf_token": self.world.csrf["staff"], **form},
            headers=self.headers(),
            allow_redirects=False,
        )

    async def open(self, password: str = STAFF_PASSWORD) -> aiohttp.ClientResponse:
        response = await self.post(f"/calls/{self.call_id}/device", password=password)
        cookie = response.cookies.get(device_cookie_name(False))
        if cookie is not None and cookie.value:
            self.device_token = cookie.value
        return response

    async def leave(self, password: str) -> aiohttp.ClientResponse:
        return await self.post(f"/calls/{self.call_id}/device/leave", password=password)


@pytest.fixture
async def device(client: TestClient) -> Device:
    app = client.server.app
    world = await make_world(app)
    async with app[SESSIONMAKER].begin() as session:
        staff = await session.get(User, world.users["staff"])
        assert staff is not None
        staff.password_hash = await hash_password(app[SETTINGS], STAFF_PASSWORD)
    return Device(client, world, await book_call(app, world))


async def _sent_back_to_the_call(device: Device, method: str, path: str) -> None:
    response = await device.client.request(
        method,
        path,
        headers=device.headers(),
        data={"csrf_token": device.world.csrf["staff"]},
        allow_redirects=False,
    )
    assert response.status == 303, (method, path, response.status)
    assert response.headers["Location"] == f"/calls/{device.call_id}/join", (method, path)


async def test_opening_the_call_device_needs_the_staff_password(device: Device) -> None:
    response = await device.open("not my password")
    assert response.status == 403
    assert device.device_token is None
    assert "That password is not right" in await response.text()
    # Without the lock, staff pages still open on this browser.
    staff = await device.client.get("/staff", headers=device.headers(), allow_redirects=False)
    assert staff.status == 200

    opened = await device.open()
    assert opened.status == 303
    assert opened.headers["Location"] == f"/calls/{device.call_id}/join"
    assert device.device_token is not None
    async with device.client.server.app[SESSIONMAKER]() as session:
        kept = (
            await session.execute(
                CallDevice.__table__.select().where(CallDevice.call_id == device.call_id)
            )
        ).one()
    # Only the hash of the device token is stored.
    assert kept.device_token_hash not in (None, device.device_token)


async def test_locked_call_device_reaches_nothing_but_its_call(device: Device) -> None:
    assert (await device.open()).status == 303
    app = device.client.server.app
    world = device.world
    other_call = await book_call(app, world)
    for path in (
        "/",
        "/staff",
        "/staff/moderation",
        "/api/moderation/queue",
        "/admin",
        "/supervisor",
        "/calls",
        f"/calls/{other_call}/join",
        f"/calls/{device.call_id}/edit",
        f"/calls/{device.call_id}/device",
        f"/calls/new/{world.family_id}",
        f"/staff/families/{world.family_id}/letterbox",
        f"/families/{world.family_id}/letterbox",
        f"/staff/moderation/items/{uuid.uuid4()}",
        "/api/v1/calls",
        "/api/v1/families",
        "/letterbox",
        f"/calls/{device.call_id}/join/../edit",
        f"/calls/{device.call_id}/joinx",
    ):
        await _sent_back_to_the_call(device, "GET", path)
    for path in (
        f"/calls/{device.call_id}/cancel",
        f"/calls/{device.call_id}/edit",
        f"/calls/{device.call_id}/device",
        f"/calls/{other_call}/device/leave",
        f"/calls/new/{world.family_id}",
        f"/api/families/{world.family_id}/opening-sessions",
        "/sign-out",
    ):
        await _sent_back_to_the_call(device, "POST", path)
    # Another call's socket is refused at the upgrade.
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await device.client.ws_connect(f"/calls/{other_call}/signal", headers=device.headers())

    # The call itself works: the child's page with the staff way out, and its styles.
    page = await device.client.get(f"/calls/{device.call_id}/join", headers=device.headers())
    assert page.status == 200
    html = await page.text()
    assert 'data-role="child"' in html
    assert "Staff password to leave this screen" in html
    assert "Back to calls" not in html
    style = await device.client.get("/static/css/calls.css", headers=device.headers())
    assert style.status == 200


async def test_the_child_joins_from_the_locked_device_and_sees_the_goodbye_after(
    device: Device,
) -> None:
    assert (await device.open()).status == 303
    app = device.client.server.app
    ws = await device.client.ws_connect(f"/calls/{device.call_id}/signal", headers=device.headers())
    signal = Signal(ws)
    try:
        await signal.wait_for("state")
        assert "child" in signal.of_type("state")[-1]["participants"]
        live = app[CALLS].get(device.call_id)
        assert live is not None
        supervisor = record.EventAuthor(device.world.users["supervisor"], "supervisor")
        await app[CALLS].end(live, supervisor, "completed")
        await signal.wait_for("ended")
    finally:
        await signal.close()
    page = await device.client.get(f"/calls/{device.call_id}/join", headers=device.headers())
    html = await page.text()
    assert 'data-state="ended"' in html
    assert "Staff password to leave this screen" in html
    # Still locked after the end: the goodbye is all there is.
    await _sent_back_to_the_call(device, "GET", "/staff/moderation")


async def test_leaving_needs_the_staff_password_and_then_releases_the_device(
    device: Device,
) -> None:
    assert (await device.open()).status == 303
    wrong = await device.leave("let me out")
    assert wrong.status == 403
    assert device_cookie_name(False) not in wrong.cookies
    html = await wrong.text()
    assert 'id="staff-password-error"' in html
    assert 'aria-describedby="staff-password-error"' in html
    await _sent_back_to_the_call(device, "GET", "/staff")

    right = await device.leave(STAFF_PASSWORD)
    assert right.status == 303
    assert right.headers["Location"] == "/calls"
    cleared = right.cookies.get(device_cookie_name(False))
    assert cleared is not None and cleared.value == ""
    # A device that kept the old cookie is not locked any more: the token is gone server-side.
    for path in ("/staff", "/staff/moderation", "/calls"):
        response = await device.client.get(path, headers=device.headers(), allow_redirects=False)
        assert response.status == 200, path


async def test_guessing_the_staff_password_at_the_device_is_slowed_down(device: Device) -> None:
    assert (await device.open()).status == 303
    for _ in range(3):  # a staff member mistyping is fine...
        assert (await device.leave("a wrong guess")).status == 403
    # ...after that even the right password waits, and the device stays on the call.
    waited = await device.leave(STAFF_PASSWORD)
    assert waited.status == 429
    assert "Too many wrong passwords" in await waited.text()
    await _sent_back_to_the_call(device, "GET", "/staff")


async def test_a_forged_device_cookie_locks_nothing_and_unlocks_nothing(device: Device) -> None:
    device.device_token = "forged-" + uuid.uuid4().hex
    response = await device.client.get("/staff", headers=device.headers(), allow_redirects=False)
    assert response.status == 200
    # Leaving a lock this browser does not hold is refused.
    assert (await device.leave(STAFF_PASSWORD)).status == 409


async def test_only_a_staff_account_uses_the_locked_device(device: Device) -> None:
    """An admin signing in on the locked device would bring a supervisor console onto the
    child's screen: the call page and socket refuse them there."""
    assert (await device.open()).status == 303
    app = device.client.server.app
    admin_jar = {
        app[SETTINGS].session_cookie_name: device.world.cookies["admin"],
        device_cookie_name(False): device.device_token or "",
    }
    headers = {
        "Cookie": "; ".join(f"{k}={v}" for k, v in admin_jar.items()),
        "Origin": app[SETTINGS].public_origin,
        "Accept": "text/html",
    }
    page = await device.client.get(f"/calls/{device.call_id}/join", headers=headers)
    assert page.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await device.client.ws_connect(f"/calls/{device.call_id}/signal", headers=headers)
    assert app[CALLS].get(device.call_id) is None  # nobody joined as supervisor
