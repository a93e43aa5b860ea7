"""Invites and password resets: one-time links, stored hashed, expiring, single use."""

from __future__ import annotations

import asyncio
import email
import re
from datetime import UTC, datetime, timedelta
from email.message import Message

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.accounts.users import create_user
from service.appkeys import ACCOUNT_TASKS, KEYRING, SESSIONMAKER, SETTINGS
from storage.models import OneTimeToken, Role, TokenPurpose, User
from tests.support.accounts import (
    Person,
    make_world,
    post_form,
    session_token,
    sign_in,
    use_session,
)

NEW = "a fresh long passphrase"


async def _invite(
    client: TestClient, centre_id: object, role: Role = Role.PARENT
) -> tuple[str, str]:
    app = client.server.app
    async with app[SESSIONMAKER].begin() as session:
        user = await create_user(
            session,
            app[KEYRING],
            centre_id=centre_id,
            email=f"New.{role.value}@Example.org",
            display_name="New person",
            role=role,
        )
        raw = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
        return user.email, raw


def _outbox(client: TestClient) -> list[Message]:
    folder = client.server.app[SETTINGS].outbox_dir
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def _link(message: Message, prefix: str) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(rf"http://127\.0\.0\.1({prefix}[A-Za-z0-9_\-]+)", body.decode())
    assert found
    return found.group(1)


async def test_invite_link_works_once(client: TestClient) -> None:
    world = await make_world(client)
    address, raw = await _invite(client, world.centre_id)
    assert address == "new.parent@example.org"
    path = f"/invite/{raw}"
    assert (await client.get(path)).status == 200
    weak = await post_form(client, path, {"password": "short", "confirm": "short"})
    assert weak.status == 422  # a typo does not use the link up
    done = await post_form(client, path, {"password": NEW, "confirm": NEW})
    assert done.status == 303 and done.headers["Location"] == "/letterbox"
    use_session(client, None)
    again = await client.get(path)
    assert again.status == 422 and "expired or was already used" in await again.text()
    replay = await post_form(
        client, path, {"password": NEW + "!", "confirm": NEW + "!"}, page="/sign-in"
    )
    assert replay.status == 422


async def test_invite_link_expires(client: TestClient) -> None:
    world = await make_world(client)
    _, raw = await _invite(client, world.centre_id)
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(OneTimeToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await client.get(f"/invite/{raw}")
    assert response.status == 422


async def test_invited_staff_go_on_to_enrol_two_factor(client: TestClient) -> None:
    world = await make_world(client)
    _, raw = await _invite(client, world.centre_id, Role.STAFF)
    done = await post_form(client, f"/invite/{raw}", {"password": NEW, "confirm": NEW})
    assert done.headers["Location"] == "/two-factor"
    assert (await client.get("/two-factor", allow_redirects=False)).headers[
        "Location"
    ] == "/two-factor/enrol"
    assert (await client.get("/staff", allow_redirects=False)).headers["Location"] == "/two-factor"


async def test_forgotten_password_mails_a_one_hour_link_to_parents_only(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    answers = []
    for address in (parent.email, "nobody@example.org", world.people[Role.STAFF].email):
        response = await post_form(client, "/forgot-password", {"email": address})
        answers.append((response.status, await response.text()))
    assert len(set(answers)) == 1  # the same answer whether the account exists or not
    await asyncio.gather(*client.server.app[ACCOUNT_TASKS])
    mails = _outbox(client)
    assert [m["To"] for m in mails] == [parent.email]
    path = _link(mails[0], "/reset/")
    done = await post_form(client, path, {"password": NEW, "confirm": NEW})
    assert done.status == 303
    use_session(client, None)
    assert (await sign_in(client, parent)).status == 401  # the old password is gone
    assert (await sign_in(client, Person(**{**parent.__dict__}), password=NEW)).status == 303
    assert (await client.get(path)).status == 422  # used up


async def test_admin_reset_clears_password_and_two_factor_and_sends_a_new_invite(
    client: TestClient,
) -> None:
    world = await make_world(client)
    staff = world.people[Role.STAFF]
    staff_session = await session_token(client, staff)
    use_session(client, await session_token(client, world.people[Role.ADMIN]))
    path = f"/admin/accounts/{staff.user_id}/reset-sign-in"
    response = await post_form(client, path, {}, page="/account/password")
    assert response.status == 200, await response.text()
    async with client.server.app[SESSIONMAKER]() as session:
        user = await session.get(User, staff.user_id)
    assert user is not None and user.password_hash is None and user.totp_secret_sealed is None
    use_session(client, staff_session)
    assert (await client.get("/account/password", allow_redirects=False)).status == 303
    use_session(client, None)
    assert (await sign_in(client, staff)).status == 401
    mails = _outbox(client)
    assert [m["To"] for m in mails] == [staff.email]
    invite = _link(mails[0], "/invite/")
    assert (await client.get(invite)).status == 200


async def test_only_admins_of_the_same_centre_reset_sign_in(client: TestClient) -> None:
    world = await make_world(client)
    target = world.people[Role.PARENT].user_id
    use_session(client, await session_token(client, world.people[Role.STAFF]))
    denied = await post_form(
        client, f"/admin/accounts/{target}/reset-sign-in", {}, page="/account/password"
    )
    assert denied.status == 403
    from tests.support.accounts import make_person

    outsider = await make_person(client, Role.ADMIN, world.other_centre_id)
    use_session(client, await session_token(client, outsider))
    hidden = await post_form(
        client, f"/admin/accounts/{target}/reset-sign-in", {}, page="/account/password"
    )
    assert hidden.status == 404
    assert _outbox(client) == []
