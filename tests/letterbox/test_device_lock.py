"""No way out of the child view without the staff member's password: a centre device locked to
an opening session reaches only that session's child view, its static files and the way out."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.support.letterbox_world import (
    DEVICE_COOKIE,
    STAFF_PASSWORD,
    Person,
    World,
    make_world,
    start_opening_session,
)

ELSEWHERE = (
    "/",
    "/staff",
    "/admin",
    "/admin/families",
    "/letterbox",
    "/calls",
    "/supervisor",
    "/staff/moderation",
    "/api/moderation/queue",
    "/sign-out",
    "/static-not-really",
)


def _html(person: Person) -> dict[str, str]:
    return person.headers(Accept="text/html")


async def _leave(client: TestClient, device: Person, session_id: str, password: str) -> int:
    response = await client.post(
        f"/child/sessions/{session_id}/leave",
        data={"password": password, "csrf_token": device.csrf},
        headers=_html(device),
        allow_redirects=False,
    )
    if response.status == 303:
        cleared = response.cookies.get(DEVICE_COOKIE)
        assert cleared is not None and cleared.value == ""
    return response.status


async def _lands_on_child_view(
    client: TestClient, device: Person, session_id: str, method: str, path: str
) -> None:
    response = await client.request(
        method, path, headers=_html(device), allow_redirects=False, data={"csrf_token": "x"}
    )
    assert response.status == 303, (method, path, response.status)
    assert response.headers["Location"] == f"/child/sessions/{session_id}", (method, path)


@pytest.fixture
async def locked(client: TestClient) -> tuple[World, str, Person]:
    world = await make_world(client)
    session_id, device = await start_opening_session(client, world)
    return world, session_id, device


async def test_device_in_child_view_is_sent_back_from_every_other_page(
    client: TestClient, locked: tuple[World, str, Person]
) -> None:
    world, session_id, device = locked
    for path in (
        *ELSEWHERE,
        f"/staff/families/{world.family_id}/letterbox",
        f"/staff/opening-sessions/{session_id}",
        f"/families/{world.family_id}/letterbox",
    ):
        await _lands_on_child_view(client, device, session_id, "GET", path)
    # Posts too: no starting another session, no ending this one from the child's screen.
    for path in (
        f"/staff/families/{world.family_id}/opening-sessions",
        f"/staff/opening-sessions/{session_id}/end",
        f"/api/opening-sessions/{session_id}/end",
        "/sign-out",
    ):
        await _lands_on_child_view(client, device, session_id, "POST", path)

    # Another session's child view is elsewhere too.
    other_id, _ = await start_opening_session(client, world)
    await _lands_on_child_view(client, device, session_id, "GET", f"/child/sessions/{other_id}")

    # The child view itself and what it loads still work.
    page = await client.get(f"/child/sessions/{session_id}", headers=_html(device))
    assert page.status == 200
    assert "Staff password to leave this screen" in await page.text()
    style = await client.get("/static/css/letterbox.css", headers=_html(device))
    assert style.status == 200
    items = await client.get(f"/api/child/sessions/{session_id}/items", headers=device.headers())
    assert items.status == 200


async def test_leaving_with_the_staff_password_clears_the_device_cookie_and_staff_pages_work(
    client: TestClient, locked: tuple[World, str, Person]
) -> None:
    world, session_id, device = locked
    assert await _leave(client, device, session_id, STAFF_PASSWORD) == 303
    # Even a device that kept the old cookie is no longer locked: the token is gone server-side.
    for person in (device, world.staff):
        for path in ("/staff", "/staff/moderation", f"/staff/opening-sessions/{session_id}"):
            response = await client.get(path, headers=_html(person), allow_redirects=False)
            assert response.status == 200, (path, response.status)
    # And the child view no longer opens on it.
    again = await client.get(f"/child/sessions/{session_id}", headers=device.headers())
    assert again.status == 403


async def test_wrong_password_keeps_the_child_view(
    client: TestClient, locked: tuple[World, str, Person]
) -> None:
    _, session_id, device = locked
    response = await client.post(
        f"/child/sessions/{session_id}/leave",
        data={"password": "not the password", "csrf_token": device.csrf},
        headers=_html(device),
        allow_redirects=False,
    )
    assert response.status == 403
    assert DEVICE_COOKIE not in response.cookies
    html = await response.text()
    # The problem is shown next to the password field, on the child's screen.
    assert 'id="staff-password-error"' in html
    assert "That password is not right" in html
    assert 'aria-describedby="staff-password-error"' in html
    for path in ("/staff", "/staff/moderation"):
        await _lands_on_child_view(client, device, session_id, "GET", path)


async def test_ending_the_session_elsewhere_releases_the_device(
    client: TestClient, locked: tuple[World, str, Person]
) -> None:
    world, session_id, device = locked
    ended = await client.post(
        f"/api/opening-sessions/{session_id}/end", headers=world.staff.headers()
    )
    assert ended.status == 200
    response = await client.get("/staff", headers=_html(device), allow_redirects=False)
    assert response.status == 200


async def test_guessing_the_leave_password_is_slowed_down(
    client: TestClient, locked: tuple[World, str, Person]
) -> None:
    _, session_id, device = locked
    for _ in range(3):  # a staff member mistyping is fine...
        assert await _leave(client, device, session_id, "a wrong guess") == 403
    # ...but after that even the right password waits, and the device stays on the child view.
    response = await client.post(
        f"/child/sessions/{session_id}/leave",
        data={"password": STAFF_PASSWORD, "csrf_token": device.csrf},
        headers=_html(device),
        allow_redirects=False,
    )
    assert response.status == 429
    assert DEVICE_COOKIE not in response.cookies
    assert "Too many wrong passwords" in await response.text()
    await _lands_on_child_view(client, device, session_id, "GET", "/staff")
