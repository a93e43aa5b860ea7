"""Signing in: password then two-factor for centre staff, a new session id at every step."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from storage.models import Role
from tests.support.accounts import (
    PASSWORD,
    make_world,
    next_code,
    post_form,
    session_cookie,
    sign_in,
)


async def test_staff_sign_in_needs_password_then_code_with_new_session_each_step(
    client: TestClient,
) -> None:
    world = await make_world(client)
    staff = world.people[Role.STAFF]
    before = session_cookie(client)
    response = await post_form(client, "/sign-in", {"email": staff.email, "password": PASSWORD})
    assert response.status == 303
    assert response.headers["Location"] == "/two-factor"
    after_password = session_cookie(client)
    assert after_password and after_password != before

    # Half signed in: staff pages are out of reach until the code.
    blocked = await client.get("/staff", allow_redirects=False)
    assert blocked.status == 303 and blocked.headers["Location"] == "/two-factor"

    response = await post_form(client, "/two-factor", {"code": await next_code(client, staff)})
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/staff"
    after_code = session_cookie(client)
    assert after_code and after_code not in (before, after_password)


async def test_parent_sign_in_goes_to_letterbox(client: TestClient) -> None:
    world = await make_world(client)
    response = await sign_in(client, world.people[Role.PARENT])
    assert response.status == 303
    assert response.headers["Location"] == "/letterbox"
