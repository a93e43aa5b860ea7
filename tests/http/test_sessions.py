"""Server-side sessions: idle and absolute timeouts, and every way a session ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from service.accounts.users import disable_user
from service.appkeys import SESSIONMAKER
from service.http.sessions import token_hash
from storage.models import Role, User, WebSession
from tests.support.accounts import (
    ORIGIN,
    PASSWORD,
    csrf_from,
    make_person,
    make_world,
    post_form,
    session_token,
    sign_in,
    use_session,
)


async def _age(client: TestClient, token: str, *, created: timedelta, seen: timedelta) -> None:
    now = datetime.now(UTC)
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(WebSession)
            .where(WebSession.token_hash == token_hash(token))
            .values(created_at=now - created, last_seen_at=now - seen)
        )


async def _signed_in(client: TestClient) -> bool:
    response = await client.get("/account/password", allow_redirects=False)
    return response.status == 200


async def _sessions_of(client: TestClient, user_id: object) -> int:
    async with client.server.app[SESSIONMAKER]() as session:
        count = await session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)
        )
    return int(count or 0)


async def test_staff_session_ends_after_30_idle_minutes(client: TestClient) -> None:
    world = await make_world(client)
    token = await session_token(client, world.people[Role.STAFF])
    use_session(client, token)
    await _age(client, token, created=timedelta(minutes=40), seen=timedelta(minutes=29))
    assert await _signed_in(client)
    await _age(client, token, created=timedelta(minutes=40), seen=timedelta(minutes=31))
    assert not await _signed_in(client)
    response = await client.get("/staff", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in")


async def test_session_ends_after_12_hours_even_when_active(client: TestClient) -> None:
    world = await make_world(client)
    token = await session_token(client, world.people[Role.PARENT])
    use_session(client, token)
    await _age(client, token, created=timedelta(hours=11, minutes=59), seen=timedelta(minutes=1))
    assert await _signed_in(client)
    await _age(client, token, created=timedelta(hours=12, minutes=1), seen=timedelta(seconds=5))
    assert not await _signed_in(client)


async def test_half_signed_in_session_expires_quickly(client: TestClient) -> None:
    world = await make_world(client)
    token = await session_token(client, world.people[Role.ADMIN], second_factor_done=False)
    use_session(client, token)
    assert (await client.get("/two-factor", allow_redirects=False)).status == 200
    await _age(client, token, created=timedelta(minutes=11), seen=timedelta(minutes=1))
    response = await client.get("/two-factor", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in")


async def test_sign_out_ends_the_session_on_the_server(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    token = await session_token(client, parent)
    use_session(client, token)
    response = await post_form(client, "/sign-out", {}, page="/account/password")
    assert response.status == 303
    # Even a stolen copy of the cookie is worthless now.
    use_session(client, token)
    assert not await _signed_in(client)


async def test_sign_out_everywhere_ends_every_session(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    other = await session_token(client, parent)
    use_session(client, await session_token(client, parent))
    assert (
        await post_form(client, "/sign-out-everywhere", {}, page="/account/password")
    ).status == 303
    assert await _sessions_of(client, parent.user_id) == 0
    use_session(client, other)
    assert not await _signed_in(client)


async def test_disable_ends_every_session(client: TestClient) -> None:
    world = await make_world(client)
    staff = world.people[Role.STAFF]
    tokens = [await session_token(client, staff) for _ in range(2)]
    async with client.server.app[SESSIONMAKER].begin() as session:
        user = await session.get(User, staff.user_id)
        assert user is not None
        await disable_user(session, user, None)
    assert await _sessions_of(client, staff.user_id) == 0
    for token in tokens:
        use_session(client, token)
        assert not await _signed_in(client)
    use_session(client, None)
    # And the password no longer opens a session.
    response = await sign_in(client, staff)
    assert response.status == 401


async def test_password_change_ends_other_sessions_and_rotates_this_one(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    elsewhere = await session_token(client, parent)
    here = await session_token(client, parent)
    use_session(client, here)
    response = await post_form(
        client,
        "/account/password",
        {
            "current": PASSWORD,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status == 200, await response.text()
    assert await _signed_in(client)  # this browser carries on, with a new session id
    assert await _sessions_of(client, parent.user_id) == 1
    for old in (elsewhere, here):
        use_session(client, old)
        assert not await _signed_in(client)


async def test_sign_in_replaces_the_session_the_browser_had(client: TestClient) -> None:
    world = await make_world(client)
    first = world.people[Role.PARENT]
    second = await make_person(client, Role.PARENT, world.centre_id)
    old = await session_token(client, first)
    use_session(client, old)
    token = await csrf_from(client, "/sign-in")
    response = await client.post(
        "/sign-in",
        data={"email": second.email, "password": PASSWORD, "csrf_token": token},
        headers={"Origin": ORIGIN},
        allow_redirects=False,
    )
    assert response.status == 303
    assert await _sessions_of(client, first.user_id) == 0
