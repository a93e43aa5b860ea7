"""Helpers for centre tests: a signed-in admin of a fresh centre, forms and JSON calls with
the real CSRF token and origin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from storage.models import Centre, Role
from tests.support.accounts import (
    ORIGIN,
    Person,
    csrf_from,
    make_person,
    session_token,
    use_session,
)

REFERRAL_FORM = {
    "referrer_kind": "solicitor",
    "referrer_name": "Priya Shah",
    "referrer_organisation": "Shah & Co Solicitors",
    "referrer_email": "priya@shah.example",
    "court_order_reference": "ZW24C00123",
    "contact_level": "supervised",
    "channels": "letters",
    "children.0.name": "Zephyrine",
    "children.0.birth_year": "2017",
    "children.1.name": "",
    "children.1.birth_year": "",
    "known_risks": "Father not to learn the new school (St Aldhelm's).",
}


@dataclass
class SignedIn:
    client: TestClient
    person: Person
    csrf: str

    async def form(self, path: str, data: dict[str, str] | list[tuple[str, str]]) -> ClientResponse:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        return await self.client.post(
            path,
            data=[*fields, ("csrf_token", self.csrf)],
            headers={"Origin": ORIGIN},
            allow_redirects=False,
        )

    async def api(self, method: str, path: str, body: Any = None) -> ClientResponse:
        headers = {"Origin": ORIGIN, "X-CSRF-Token": self.csrf}
        return await self.client.request(method, path, json=body, headers=headers)


async def new_centre(client: TestClient, name: str = "Test centre") -> uuid.UUID:
    async with client.server.app[SESSIONMAKER].begin() as session:
        centre = Centre(id=uuid.uuid4(), name=name)
        session.add(centre)
    return centre.id


async def sign_in_as(
    client: TestClient, role: Role, centre_id: uuid.UUID | None = None
) -> SignedIn:
    centre_id = centre_id or await new_centre(client)
    person = await make_person(client, role, centre_id)
    use_session(client, await session_token(client, person))
    home = {
        Role.ADMIN: "/admin",
        Role.STAFF: "/staff",
        Role.SUPERVISOR: "/supervisor",
        Role.PARENT: "/letterbox",
        Role.REFERRER: "/referrer",
    }[role]
    return SignedIn(client, person, await csrf_from(client, home))


async def admin_of_new_centre(client: TestClient) -> SignedIn:
    return await sign_in_as(client, Role.ADMIN)


async def accepted_family(admin: SignedIn, **changes: str) -> uuid.UUID:
    """Record a referral through the form and accept it; returns the family id."""
    response = await admin.form("/admin/referrals", {**REFERRAL_FORM, **changes})
    assert response.status == 303, await response.text()
    referral_path = response.headers["Location"].split("?")[0]
    response = await admin.form(referral_path + "/accept", {})
    assert response.status == 303, await response.text()
    location = response.headers["Location"].split("?")[0]
    assert location.startswith("/admin/families/")
    return uuid.UUID(location.rsplit("/", 1)[1])


async def one(client: TestClient, query: Any) -> Any:
    async with client.server.app[SESSIONMAKER]() as session:
        return await session.scalar(query)


async def all_of(client: TestClient, query: Any) -> list[Any]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(await session.scalars(query))


__all__ = ["select"]
