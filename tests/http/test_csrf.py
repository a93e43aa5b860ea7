"""CSRF: every state-changing request needs our Origin and the synchronizer token."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from storage.models import Role
from tests.support.accounts import (
    ORIGIN,
    PASSWORD,
    csrf_from,
    make_world,
    session_cookie,
    session_token,
    use_session,
)


async def test_sign_in_without_csrf_token_is_refused(client: TestClient) -> None:
    world = await make_world(client)
    await csrf_from(client, "/sign-in")  # the browser has the cookie, but the form lacks it
    response = await client.post(
        "/sign-in",
        data={"email": world.people[Role.PARENT].email, "password": PASSWORD},
        headers={"Origin": ORIGIN},
        allow_redirects=False,
    )
    assert response.status == 403
    assert session_cookie(client) is None


async def test_sign_in_from_foreign_origin_is_refused(client: TestClient) -> None:
    world = await make_world(client)
    token = await csrf_from(client, "/sign-in")
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}, {}):
        response = await client.post(
            "/sign-in",
            data={
                "email": world.people[Role.PARENT].email,
                "password": PASSWORD,
                "csrf_token": token,
            },
            headers=headers,
            allow_redirects=False,
        )
        assert response.status == 403, headers
    assert session_cookie(client) is None


async def test_signed_in_post_needs_the_session_token(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    use_session(client, await session_token(client, parent))
    good = await csrf_from(client, "/account/password")
    wrong = await client.post(
        "/sign-out",
        data={"csrf_token": "x" * 43},
        headers={"Origin": ORIGIN},
        allow_redirects=False,
    )
    assert wrong.status == 403
    header = await client.post(
        "/sign-out", headers={"Origin": ORIGIN, "X-CSRF-Token": good}, allow_redirects=False
    )
    assert header.status == 303
    assert header.headers["Location"] == "/sign-in"


async def test_get_never_signs_out(client: TestClient) -> None:
    world = await make_world(client)
    use_session(client, await session_token(client, world.people[Role.PARENT]))
    response = await client.get("/sign-out", allow_redirects=False)
    assert response.status == 405
    assert (await client.get("/account/password", allow_redirects=False)).status == 200
