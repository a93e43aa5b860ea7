"""Signing in at a person's home page and posting export forms, as the export tests do."""

from __future__ import annotations

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from storage.models import Role
from tests.support.accounts import ORIGIN, Person, csrf_from, session_token, use_session

OFFICER = {"officer_name": "Priya Shah", "officer_role": "Centre Manager"}
HOME = {
    Role.ADMIN: "/admin",
    Role.REFERRER: "/referrer",
    Role.PARENT: "/letterbox",
    Role.STAFF: "/staff",
}


async def sign_in_at_home(client: TestClient, person: Person) -> str:
    use_session(client, await session_token(client, person))
    return await csrf_from(client, HOME[person.role])


async def post_form_at(
    client: TestClient, path: str, csrf: str, data: dict[str, str] | None = None
) -> ClientResponse:
    return await client.post(
        path,
        data={**(data or {}), "csrf_token": csrf},
        headers={"Origin": ORIGIN},
        allow_redirects=False,
    )
