"""Helpers for account and access tests: a small world of two centres and their people,
sessions made directly in the database, and the real sign-in forms."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyotp
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from yarl import URL

from service.accounts.users import provision_demo_user
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from service.http.sessions import start_session
from storage.children import seal_child_with_key, seal_relationship_with_key
from storage.keys import new_data_key
from storage.models import (
    Call,
    CallStatus,
    Centre,
    Child,
    ContactLevel,
    Direction,
    Family,
    FamilySender,
    GiftStatus,
    Grant,
    GrantScope,
    Item,
    ItemKind,
    ItemPart,
    ItemStatus,
    OpeningSession,
    PartKind,
    PhysicalGift,
    ReferrerAccess,
    Role,
    TranslatorAssignment,
    User,
)
from tests.support.seeding import seeding_sessionmaker

ORIGIN = "http://127.0.0.1"
PASSWORD = "correct horse battery staple"
ROLES = (
    Role.ADMIN,
    Role.STAFF,
    Role.SUPERVISOR,
    Role.PARENT,
    Role.REFERRER,
    Role.INTERPRETER,
    Role.TRANSLATOR,
)


@dataclass
class Person:
    user_id: uuid.UUID
    email: str
    role: Role
    centre_id: uuid.UUID
    totp_secret: str | None


@dataclass
class FamilyRows:
    family_id: uuid.UUID
    child_id: uuid.UUID
    item_id: uuid.UUID
    call_id: uuid.UUID
    opening_session_id: uuid.UUID
    gift_id: uuid.UUID
    part_id: uuid.UUID


@dataclass
class World:
    centre_id: uuid.UUID
    other_centre_id: uuid.UUID
    people: dict[Role, Person] = field(default_factory=dict)
    # own: the people's family; same_centre: a family of their centre they are not linked
    # to; other_centre: a family of another centre.
    families: dict[str, FamilyRows] = field(default_factory=dict)


def app_of(client: TestClient) -> object:
    return client.server.app


async def make_person(
    client: TestClient,
    role: Role,
    centre_id: uuid.UUID,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    two_factor: bool | None = None,
) -> Person:
    app = client.server.app
    with_totp = role.needs_second_factor if two_factor is None else two_factor
    secret = pyotp.random_base32() if with_totp else None
    email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.org"
    async with app[SESSIONMAKER].begin() as session:
        user = await provision_demo_user(
            session,
            app[SETTINGS],
            app[KEYRING],
            centre_id=centre_id,
            email=email,
            display_name=f"Test {role.value}",
            role=role,
            password=password,
            totp_secret=secret,
        )
        return Person(user.id, user.email, role, centre_id, secret)


async def _family(
    session: object, centre_id: uuid.UUID, staff_id: uuid.UUID, sender_id: uuid.UUID
) -> FamilyRows:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    family = Family(
        centre_id=centre_id,
        case_reference=f"CASE-{uuid.uuid4().hex[:10]}",
        contact_level=ContactLevel.SUPERVISED,
    )
    session.add(family)
    await session.flush()
    # This family has no key: the child's details are sealed under a throw-away one.
    child = Child(
        family_id=family.id,
        details_sealed=seal_child_with_key(new_data_key(), family.id, "Sam", 2016),
    )
    session.add(child)
    await session.flush()
    item = Item(
        family_id=family.id,
        direction=Direction.TO_CHILD,
        kind=ItemKind.LETTER,
        sender_id=sender_id,
        child_id=child.id,
        status=ItemStatus.SUBMITTED,
    )
    now = datetime.now(UTC)
    call = Call(
        family_id=family.id,
        child_id=child.id,
        supervisor_id=staff_id,
        scheduled_by=staff_id,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=1),
        status=CallStatus.SCHEDULED,
    )
    opening = OpeningSession(family_id=family.id, child_id=child.id, staff_id=staff_id)
    gift = PhysicalGift(
        family_id=family.id,
        from_user_id=sender_id,
        description_sealed=b"sealed",
        status=GiftStatus.RECEIVED,
        received_by=staff_id,
    )
    session.add_all([item, call, opening, gift])
    await session.flush()
    part = ItemPart(item_id=item.id, position=0, kind=PartKind.TEXT, media_type="text/plain")
    session.add(part)
    await session.flush()
    return FamilyRows(family.id, child.id, item.id, call.id, opening.id, gift.id, part.id)


async def make_world(client: TestClient) -> World:
    app = client.server.app
    async with app[SESSIONMAKER].begin() as session:
        centre = Centre(name="Centre A")
        other = Centre(name="Centre B")
        session.add_all([centre, other])
        await session.flush()
        world = World(centre.id, other.id)
    for role in ROLES:
        world.people[role] = await make_person(client, role, world.centre_id)
    stranger = await make_person(client, Role.STAFF, world.other_centre_id)
    staff = world.people[Role.STAFF].user_id
    parent = world.people[Role.PARENT].user_id
    async with seeding_sessionmaker(app).begin() as session:
        world.families["own"] = await _family(session, world.centre_id, staff, parent)
        world.families["same_centre"] = await _family(session, world.centre_id, staff, parent)
        world.families["other_centre"] = await _family(
            session, world.other_centre_id, stranger.user_id, stranger.user_id
        )
        own = world.families["own"].family_id
        session.add(
            FamilySender(
                family_id=own,
                user_id=parent,
                # These families have no key: sealed under a throw-away one.
                relationship_sealed=seal_relationship_with_key(new_data_key(), own, "father"),
            )
        )
        session.add(
            ReferrerAccess(
                family_id=own,
                user_id=world.people[Role.REFERRER].user_id,
                granted_by=world.people[Role.ADMIN].user_id,
                expires_at=datetime.now(UTC) + timedelta(days=30),
            )
        )
        # The interpreter is booked on the own family's call, and on nothing else.
        session.add(
            Grant(
                user_id=world.people[Role.INTERPRETER].user_id,
                scope_kind=GrantScope.CALL,
                scope_id=world.families["own"].call_id,
                granted_by=world.people[Role.ADMIN].user_id,
            )
        )
        # The translator moderates the own family's items, and nothing else.
        session.add(
            TranslatorAssignment(
                user_id=world.people[Role.TRANSLATOR].user_id,
                family_id=own,
                assigned_by=world.people[Role.ADMIN].user_id,
            )
        )
    return world


async def session_token(
    client: TestClient, person: Person, *, second_factor_done: bool = True
) -> str:
    """A signed-in session made directly in the database (for tests about access, not
    about signing in)."""
    app = client.server.app
    async with app[SESSIONMAKER].begin() as session:
        user = await session.get(User, person.user_id)
        assert user is not None
        return await start_session(
            session, user, second_factor_done=second_factor_done, ip="127.0.0.1", user_agent="t"
        )


def use_session(client: TestClient, token: str | None) -> None:
    jar = client.session.cookie_jar
    jar.clear()
    if token is not None:
        name = client.server.app[SETTINGS].session_cookie_name
        jar.update_cookies({name: token}, URL(str(client.make_url("/"))))


def cookie(client: TestClient, name: str) -> str | None:
    for morsel in client.session.cookie_jar:
        if morsel.key == name:
            return morsel.value
    return None


def session_cookie(client: TestClient) -> str | None:
    return cookie(client, client.server.app[SETTINGS].session_cookie_name)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from(client: TestClient, path: str) -> str:
    response = await client.get(path, allow_redirects=False)
    text = await response.text()
    found = _CSRF.search(text)
    assert found, f"no csrf_token on {path} ({response.status})"
    return found.group(1)


def form_field(text: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', text)
    assert found, f"no field {name}"
    return found.group(1)


async def post_form(
    client: TestClient,
    path: str,
    data: dict[str, str],
    *,
    token: str | None = None,
    page: str | None = None,
) -> ClientResponse:
    if token is None:
        token = await csrf_from(client, page or path)
    return await client.post(
        path,
        data={**data, "csrf_token": token},
        headers={"Origin": ORIGIN},
        allow_redirects=False,
    )


async def next_code(client: TestClient, person: Person) -> str:
    """A code the server will accept now: later than the last one used (codes are single
    use), within the one-step tolerance."""
    assert person.totp_secret is not None
    async with client.server.app[SESSIONMAKER]() as session:
        last = await session.scalar(select(User.totp_last_step).where(User.id == person.user_id))
    step = int(time.time() // 30) - 1
    if last is not None and step <= last:
        step = last + 1
    assert step <= int(time.time() // 30) + 1, "used up this minute's codes"
    return pyotp.TOTP(person.totp_secret).at(step * 30)


async def sign_in(client: TestClient, person: Person, password: str = PASSWORD) -> ClientResponse:
    """The real forms: password, then (centre staff) the authenticator code."""
    response = await post_form(client, "/sign-in", {"email": person.email, "password": password})
    if response.status != 303 or person.totp_secret is None:
        return response
    assert response.headers["Location"].startswith("/two-factor")
    return await post_form(client, "/two-factor", {"code": await next_code(client, person)})
