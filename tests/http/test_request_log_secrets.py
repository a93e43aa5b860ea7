"""No secret reaches the logs: request lines carry the route pattern, never a token.

Runs the invite, password-reset and child-device flows with every log record captured, and
searches each formatted line (message, arguments, structured fields) for the tokens used."""

from __future__ import annotations

import asyncio
import email
import logging
import re
from email.message import Message

import pytest
from aiohttp.test_utils import TestClient

from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.accounts.users import create_user
from service.appkeys import ACCOUNT_TASKS, KEYRING, SESSIONMAKER, SETTINGS
from storage.models import Role, TokenPurpose
from tests.support import letterbox_world
from tests.support.accounts import make_world, post_form

NEW = "a fresh long passphrase"


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        if record.name == "aiohttp.access":
            # The test server's own access log; `letterbox serve` runs with access_log=None
            # (service/cli.py), so only Letterbox's request line reaches production logs.
            continue
        fields = getattr(record, "fields", None)
        out.append(f"{record.name} {record.getMessage()} {fields!r} {record.exc_text or ''}")
    return out


def _outbox(client: TestClient) -> list[Message]:
    folder = client.server.app[SETTINGS].outbox_dir
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


async def test_invite_and_reset_tokens_never_reach_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = await make_world(client)
    app = client.server.app
    async with app[SESSIONMAKER].begin() as session:
        user = await create_user(
            session,
            app[KEYRING],
            centre_id=world.centre_id,
            email="new.staff@example.org",
            display_name="New staff member",
            role=Role.STAFF,
        )
        invite = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
    assert (await client.get(f"/invite/{invite}")).status == 200
    assert (await client.get(f"/invite/{invite}?x={invite}")).status == 200
    done = await post_form(client, f"/invite/{invite}", {"password": NEW, "confirm": NEW})
    assert done.status == 303

    parent = world.people[Role.PARENT]
    await post_form(client, "/forgot-password", {"email": parent.email})
    await asyncio.gather(*app[ACCOUNT_TASKS])
    body = _outbox(client)[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"/reset/([A-Za-z0-9_\-]+)", body.decode())
    assert found
    reset = found.group(1)
    assert (await client.get(f"/reset/{reset}")).status == 200
    assert (
        await post_form(client, f"/reset/{reset}", {"password": NEW, "confirm": NEW})
    ).status == 303
    assert (await client.get(f"/reset/{reset}")).status == 422  # used: logged, still no token

    lines = _lines(caplog)
    assert any("/invite/{token}" in line for line in lines), "request lines name the route"
    assert any("/reset/{token}" in line for line in lines)
    for secret in (invite, reset):
        leaked = [line for line in lines if secret in line]
        assert leaked == [], f"a token reached the log: {leaked[0][:200]}"


async def test_child_device_token_never_reaches_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = await letterbox_world.make_world(client)
    session_id, device = await letterbox_world.start_opening_session(client, world)
    token = device.cookies[letterbox_world.DEVICE_COOKIE]
    page = await client.get(
        f"/child/sessions/{session_id}", headers=device.headers(Accept="text/html")
    )
    assert page.status == 200
    # A request that guesses at a path with the token in it is logged without it, too.
    await client.get(f"/child/sessions/{token}", headers=device.headers(Accept="text/html"))
    lines = _lines(caplog)
    assert any("/child/sessions/{session_id}" in line for line in lines)
    leaked = [line for line in lines if token in line]
    assert leaked == [], f"the device token reached the log: {leaked[0][:200]}"
