"""Helpers for the calls API tests: JSON requests as one person of a ``CallWorld`` (their
session cookie, CSRF token and the site's origin), and a referrer granted the family."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.http.sessions import start_session, token_hash
from storage.models import WebSession
from tests.support.calls import CallWorld, cookie_header
from tests.support.families import add_referrer_with_access
from tests.support.seeding import seeding_sessionmaker


async def api(
    client: TestClient,
    world: CallWorld,
    who: str,
    method: str,
    path: str,
    body: Any = None,
) -> ClientResponse:
    headers = cookie_header(client.server.app, world.cookies[who])
    headers["X-CSRF-Token"] = world.csrf[who]
    return await client.request(method, path, json=body, headers=headers)


async def add_referrer(client: TestClient, world: CallWorld, name: str = "referrer") -> None:
    """A referrer of the world's centre with read access to its family until tomorrow, signed
    in as ``name``."""
    sessionmaker = seeding_sessionmaker(client.server.app)
    async with sessionmaker.begin() as session:
        user = await add_referrer_with_access(
            session,
            world.centre_id,
            world.family_id,
            world.users["admin"],
            email=f"{name}-{world.family_id.hex[:8]}@example.org",
            display_name="Referrer",
        )
        token = await start_session(
            session, user, second_factor_done=False, ip="127.0.0.1", user_agent="tests"
        )
    async with sessionmaker() as session:
        csrf = await session.scalar(
            select(WebSession.csrf_token).where(WebSession.token_hash == token_hash(token))
        )
    world.users[name] = user.id
    world.cookies[name] = token
    world.csrf[name] = str(csrf)
