"""Two-factor sign-in: enrolment with a server-rendered QR code, single-use codes,
recovery codes shown once and usable once."""

from __future__ import annotations

import re

import pyotp
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.appkeys import SESSIONMAKER
from storage.models import RecoveryCode, Role, SecurityEvent, User
from tests.support.accounts import (
    PASSWORD,
    form_field,
    make_person,
    make_world,
    next_code,
    post_form,
    session_cookie,
    sign_in,
)


async def test_totp_code_cannot_be_used_twice(client: TestClient) -> None:
    world = await make_world(client)
    staff = world.people[Role.ADMIN]
    code = await next_code(client, staff)
    await post_form(client, "/sign-in", {"email": staff.email, "password": PASSWORD})
    assert (await post_form(client, "/two-factor", {"code": code})).status == 303
    await post_form(client, "/sign-out", {}, page="/account/password")

    await post_form(client, "/sign-in", {"email": staff.email, "password": PASSWORD})
    replay = await post_form(client, "/two-factor", {"code": code})
    assert replay.status == 401
    assert "did not work" in await replay.text()
    fresh = await post_form(client, "/two-factor", {"code": await next_code(client, staff)})
    assert fresh.status == 303


async def test_enrolment_shows_an_inline_svg_and_needs_one_valid_code(client: TestClient) -> None:
    world = await make_world(client)
    newcomer = await make_person(client, Role.SUPERVISOR, world.centre_id, two_factor=False)
    response = await post_form(client, "/sign-in", {"email": newcomer.email, "password": PASSWORD})
    assert response.headers["Location"] == "/two-factor"
    redirect = await client.get("/two-factor", allow_redirects=False)
    assert redirect.headers["Location"] == "/two-factor/enrol"
    page = await client.get("/two-factor/enrol")
    html = await page.text()
    assert "<svg" in html and "<script" not in html and "style=" not in html
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", html)
    assert secret
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
    pending = form_field(html, "pending")

    wrong = await post_form(
        client,
        "/two-factor/enrol",
        {"pending": pending, "code": "000000"},
        page="/two-factor/enrol",
    )
    assert wrong.status == 401
    before = session_cookie(client)
    done = await post_form(
        client,
        "/two-factor/enrol",
        {"pending": pending, "code": totp.now()},
        page="/two-factor/enrol",
    )
    assert done.status == 200
    codes = re.findall(
        r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", await done.text()
    )
    assert len(set(codes)) == 10
    assert session_cookie(client) not in (None, before)
    assert (await client.get("/account/password", allow_redirects=False)).status == 200

    async with client.server.app[SESSIONMAKER]() as session:
        stored = (
            await session.scalars(
                select(RecoveryCode.code_hash).where(RecoveryCode.user_id == newcomer.user_id)
            )
        ).all()
        user = await session.get(User, newcomer.user_id)
        enrolled = await session.scalar(
            select(func.count())
            .select_from(SecurityEvent)
            .where(SecurityEvent.user_id == newcomer.user_id, SecurityEvent.kind == "totp_enrolled")
        )
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashed, never the codes
    assert user is not None and user.totp_secret_sealed is not None
    assert secret.group(1).replace(" ", "").encode() not in user.totp_secret_sealed
    assert enrolled == 1

    # A recovery code opens the second step once.
    await post_form(client, "/sign-out", {}, page="/account/password")
    await post_form(client, "/sign-in", {"email": newcomer.email, "password": PASSWORD})
    assert (await post_form(client, "/two-factor", {"code": codes[0].upper()})).status == 303
    await post_form(client, "/sign-out", {}, page="/account/password")
    await post_form(client, "/sign-in", {"email": newcomer.email, "password": PASSWORD})
    assert (await post_form(client, "/two-factor", {"code": codes[0]})).status == 401


async def test_enrolled_user_cannot_replace_the_factor_with_only_a_password(
    client: TestClient,
) -> None:
    world = await make_world(client)
    staff = world.people[Role.STAFF]
    await post_form(client, "/sign-in", {"email": staff.email, "password": PASSWORD})
    response = await client.get("/two-factor/enrol", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/two-factor"


async def test_two_factor_guessing_is_slowed_down(client: TestClient) -> None:
    world = await make_world(client)
    staff = world.people[Role.STAFF]
    await post_form(client, "/sign-in", {"email": staff.email, "password": PASSWORD})
    statuses = [
        (await post_form(client, "/two-factor", {"code": f"{n:06d}"}, page="/two-factor")).status
        for n in range(7)
    ]
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]


async def test_parents_sign_in_without_second_factor(client: TestClient) -> None:
    world = await make_world(client)
    response = await sign_in(client, world.people[Role.PARENT])
    assert response.status == 303 and response.headers["Location"] == "/letterbox"
