"""A small world for letterbox tests: a centre, a family with a child, a parent, moderators.

People are signed in by creating their server-side sessions directly (service.http.sessions),
and every request carries the cookie, the site's Origin and the CSRF token explicitly.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import func, select

from service.accounts.passwords import hash_password
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS, VAULT
from service.http.sessions import start_session, token_hash
from service.letterbox.intake import SENSITIVE_TERM_PURPOSE
from storage.children import seal_child_with_key, seal_relationship
from storage.models import (
    AccountStatus,
    Centre,
    Child,
    ContactLevel,
    Family,
    FamilySender,
    Item,
    Role,
    SensitiveTerm,
    StoredObject,
    User,
    WebSession,
)

ORIGIN = "http://127.0.0.1"
STAFF_PASSWORD = "blue-kettle-on-the-hob"
ALL_CHANNELS = ["letters", "photos", "gifts", "video"]


@dataclass
class Person:
    user_id: uuid.UUID
    role: Role
    cookie_name: str
    token: str
    csrf: str
    cookies: dict[str, str] = field(default_factory=dict)

    def headers(self, **extra: str) -> dict[str, str]:
        jar = {self.cookie_name: self.token, **self.cookies}
        return {
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "Origin": ORIGIN,
            "X-CSRF-Token": self.csrf,
            "Accept": "application/json",
            **extra,
        }


@dataclass
class World:
    app: web.Application
    centre_id: uuid.UUID
    family_id: uuid.UUID
    child_id: uuid.UUID
    parent: Person
    staff: Person
    staff2: Person
    admin: Person


async def sign_in(app: web.Application, user_id: uuid.UUID) -> Person:
    settings = app[SETTINGS]
    async with app[SESSIONMAKER]() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None
        token = await start_session(
            session,
            user,
            second_factor_done=user.role.needs_second_factor,
            ip=None,
            user_agent="tests",
        )
        await session.flush()
        row = await session.get(WebSession, token_hash(token))
        assert row is not None
        csrf = row.csrf_token
    return Person(user_id, user.role, settings.session_cookie_name, token, csrf)


async def _user(app: web.Application, centre_id: uuid.UUID, role: Role, name: str) -> uuid.UUID:
    password_hash = await hash_password(app[SETTINGS], STAFF_PASSWORD)
    async with app[SESSIONMAKER]() as session, session.begin():
        user = User(
            id=uuid.uuid4(),
            centre_id=centre_id,
            email=f"{name}-{uuid.uuid4().hex[:8]}@example.org",
            display_name=name,
            role=role,
            status=AccountStatus.ACTIVE,
            password_hash=password_hash,
            created_at=datetime.now(UTC),
        )
        session.add(user)
    return user.id


async def make_world(
    client: TestClient | web.Application,
    *,
    level: ContactLevel = ContactLevel.SUPPORTED,
    second_approval: bool = False,
    terms: Sequence[str] = (),
    centre_id: uuid.UUID | None = None,
) -> World:
    app = client if isinstance(client, web.Application) else client.server.app
    assert app is not None
    keyring = app[KEYRING]
    async with app[SESSIONMAKER]() as session, session.begin():
        if centre_id is None:
            centre = Centre(id=uuid.uuid4(), name="Test centre", created_at=datetime.now(UTC))
            session.add(centre)
            await session.flush()
            centre_id = centre.id
        family = Family(
            id=uuid.uuid4(),
            centre_id=centre_id,
            case_reference=f"CASE-{uuid.uuid4().hex[:8]}",
            contact_level=level,
            channels=ALL_CHANNELS,
            requires_second_approval=second_approval,
        )
        session.add(family)
        await session.flush()
        key = await keyring.create_family_key(session, family.id)
        child = Child(
            id=uuid.uuid4(),
            family_id=family.id,
            details_sealed=seal_child_with_key(key, family.id, "Sam", 2016),
        )
        session.add(child)
        for term in terms:
            session.add(
                SensitiveTerm(
                    family_id=family.id,
                    term_sealed=await keyring.seal_for_family(
                        session, family.id, term.encode(), SENSITIVE_TERM_PURPOSE
                    ),
                )
            )
        family_id, child_id = family.id, child.id
    parent_id = await _user(app, centre_id, Role.PARENT, "Parent")
    async with app[SESSIONMAKER]() as session, session.begin():
        session.add(
            FamilySender(
                family_id=family_id,
                user_id=parent_id,
                relationship_sealed=await seal_relationship(
                    session, app[KEYRING], family_id, "father"
                ),
            )
        )
    staff_id = await _user(app, centre_id, Role.STAFF, "Moderator One")
    staff2_id = await _user(app, centre_id, Role.STAFF, "Moderator Two")
    admin_id = await _user(app, centre_id, Role.ADMIN, "Admin")
    return World(
        app,
        centre_id,
        family_id,
        child_id,
        await sign_in(app, parent_id),
        await sign_in(app, staff_id),
        await sign_in(app, staff2_id),
        await sign_in(app, admin_id),
    )


def letter_form(text: str, files: Sequence[tuple[str, bytes]] = ()) -> FormData:
    form = FormData(default_to_multipart=True)
    form.add_field("text", text)
    for name, data in files:
        form.add_field("files", data, filename=name, content_type="application/octet-stream")
    return form


async def send_letter(
    client: TestClient,
    world: World,
    text: str,
    files: Sequence[tuple[str, bytes]] = (),
    **headers: str,
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/api/families/{world.family_id}/items",
        data=letter_form(text, files),
        headers=world.parent.headers(**headers),
    )
    return response.status, await response.json()


async def count_rows(app: web.Application) -> tuple[int, int]:
    async with app[SESSIONMAKER]() as session:
        items = await session.scalar(select(func.count()).select_from(Item))
        objects = await session.scalar(select(func.count()).select_from(StoredObject))
    return int(items or 0), int(objects or 0)


async def read_stored(app: web.Application, object_id: uuid.UUID) -> tuple[StoredObject, bytes]:
    async with app[SESSIONMAKER]() as session:
        stored = await session.get(StoredObject, object_id)
        assert stored is not None
        return stored, await app[VAULT].read_bytes(session, stored)


def picture(
    size: tuple[int, int] = (200, 120), colour: tuple[int, int, int] = (240, 200, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


DEVICE_COOKIE = "letterbox-child"


async def start_opening_session(client: TestClient, world: World) -> tuple[str, Person]:
    """Staff start an opening session for the child; returns its id and the centre device (the
    staff member's sign-in plus the device cookie). The test client's own cookie jar is
    emptied: the device cookie belongs to that device only, and everyone else's requests in a
    test come from other devices."""
    response = await client.post(
        f"/api/families/{world.family_id}/opening-sessions",
        json={"child_id": str(world.child_id)},
        headers=world.staff.headers(),
    )
    assert response.status == 201, await response.text()
    device = replace(world.staff, cookies={DEVICE_COOKIE: response.cookies[DEVICE_COOKIE].value})
    client.session.cookie_jar.clear()
    return str((await response.json())["session_id"]), device
