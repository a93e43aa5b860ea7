"""Helpers for call tests: a centre with a family, its people and their sessions, a booked call,
and a signalling socket that keeps every message it receives."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.accounts.passwords import hash_password
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from service.calls.device import device_cookie_name
from service.calls.media import ConnectResult, Role
from service.http.sessions import start_session, token_hash
from storage import record
from storage.children import seal_child_with_key, seal_relationship_with_key
from storage.keyring import KeyRing
from storage.models import (
    AccountStatus,
    Call,
    CallStatus,
    Centre,
    Child,
    ContactLevel,
    Family,
    FamilySender,
    Grant,
    GrantScope,
    RecordEvent,
    User,
    WebSession,
)
from storage.models import Role as AccountRole
from tests.support.seeding import seeding_sessionmaker
from tests.support.synthetic_calls import SyntheticParticipant, wait_until


@dataclass
class CallWorld:
    centre_id: uuid.UUID
    family_id: uuid.UUID
    child_id: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> user id
    emails: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)  # name -> session token
    csrf: dict[str, str] = field(default_factory=dict)  # name -> the session's CSRF token
    devices: dict[uuid.UUID, str] = field(default_factory=dict)  # call id -> locked device token


# The world's staff member types this at the centre device to lock it to a call.
STAFF_PASSWORD = "a kettle of fish and chips"

PEOPLE: dict[str, AccountRole] = {
    "parent": AccountRole.PARENT,
    "staff": AccountRole.STAFF,  # opens the child's page on the centre device
    "supervisor": AccountRole.SUPERVISOR,
    "admin": AccountRole.ADMIN,
    "other_parent": AccountRole.PARENT,  # approved sender of another family
    "interpreter": AccountRole.INTERPRETER,  # reaches only the calls granted (grant_call)
}


async def make_world(
    app: web.Application, *, level: ContactLevel = ContactLevel.SUPERVISED
) -> CallWorld:
    sessionmaker: async_sessionmaker[AsyncSession] = seeding_sessionmaker(app)
    keyring: KeyRing = app[KEYRING]
    tag = uuid.uuid4().hex[:8]
    async with sessionmaker.begin() as session:
        centre = Centre(name="Centre")
        session.add(centre)
        await session.flush()
        families = []
        for n in range(2):
            family = Family(
                centre_id=centre.id,
                case_reference=f"LB-{tag}-{n}",
                contact_level=level,
                channels=["letters", "video"],
            )
            session.add(family)
            families.append(family)
        await session.flush()
        keys = [await keyring.create_family_key(session, family.id) for family in families]
        child = Child(
            family_id=families[0].id,
            details_sealed=seal_child_with_key(keys[0], families[0].id, "Sam", 2017),
        )
        session.add(child)
        await session.flush()
        world = CallWorld(centre.id, families[0].id, child.id)
        for name, role in PEOPLE.items():
            user = User(
                centre_id=centre.id,
                email=f"{name}-{tag}@example.org",
                display_name=name.replace("_", " ").title(),
                role=role,
                status=AccountStatus.ACTIVE,
                password_hash=(
                    await hash_password(app[SETTINGS], STAFF_PASSWORD)
                    if role is AccountRole.STAFF
                    else None
                ),
            )
            session.add(user)
            await session.flush()
            world.users[name] = user.id
            world.emails[name] = user.email
            if role is AccountRole.PARENT:
                family = families[0] if name == "parent" else families[1]
                session.add(
                    FamilySender(
                        family_id=family.id,
                        user_id=user.id,
                        relationship_sealed=seal_relationship_with_key(
                            keys[families.index(family)], family.id, "parent"
                        ),
                    )
                )
            token = await start_session(
                session,
                user,
                second_factor_done=role.needs_second_factor,
                ip="127.0.0.1",
                user_agent="tests",
            )
            world.cookies[name] = token
        await session.flush()
    async with sessionmaker() as session:
        for name, token in world.cookies.items():
            world.csrf[name] = str(
                await session.scalar(
                    select(WebSession.csrf_token).where(WebSession.token_hash == token_hash(token))
                )
            )
    return world


async def add_person(
    app: web.Application, world: CallWorld, name: str, role: AccountRole
) -> uuid.UUID:
    """Another signed-in account of the world's centre (e.g. a second interpreter)."""
    async with seeding_sessionmaker(app).begin() as session:
        user = User(
            centre_id=world.centre_id,
            email=f"{name}-{uuid.uuid4().hex[:8]}@example.org",
            display_name=name.replace("_", " ").title(),
            role=role,
            status=AccountStatus.ACTIVE,
        )
        session.add(user)
        await session.flush()
        token = await start_session(
            session,
            user,
            second_factor_done=role.needs_second_factor,
            ip="127.0.0.1",
            user_agent="tests",
        )
        world.users[name], world.emails[name], world.cookies[name] = user.id, user.email, token
    async with seeding_sessionmaker(app)() as session:
        world.csrf[name] = str(
            await session.scalar(
                select(WebSession.csrf_token).where(WebSession.token_hash == token_hash(token))
            )
        )
    return user.id


async def book_call(
    app: web.Application,
    world: CallWorld,
    *,
    starts_in: timedelta = timedelta(minutes=-1),
    lasts: timedelta = timedelta(minutes=30),
) -> uuid.UUID:
    """A booked call, written directly (the booking rules refuse a start in the past)."""
    now = datetime.now(UTC)
    log = record.RecordLog(sealer=record.KeyRingPayloadSealer(app[KEYRING]))
    actor = record.EventAuthor(world.users["admin"], "admin")
    async with record.record_transaction(app[SESSIONMAKER], log, actor) as work:
        call = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.users["supervisor"],
            scheduled_by=world.users["admin"],
            starts_at=now + starts_in,
            ends_at=now + starts_in + lasts,
            status=CallStatus.SCHEDULED,
        )
        work.session.add(call)
        await work.session.flush()
        await work.record(world.family_id, "call_scheduled", {"call_id": call.id})
        return call.id


async def grant_call(
    app: web.Application, world: CallWorld, call_id: uuid.UUID, person: str = "interpreter"
) -> None:
    """Book the world's interpreter (or ``person``) on a call (their grant), written directly."""
    async with app[SESSIONMAKER].begin() as session:
        session.add(
            Grant(
                user_id=world.users[person],
                scope_kind=GrantScope.CALL,
                scope_id=call_id,
                granted_by=world.users["admin"],
            )
        )


def cookie_header(app: web.Application, token: str, *, device: str | None = None) -> dict[str, str]:
    """A browser's cookies: the session, and the locked call device's cookie when it has one."""
    settings = app[SETTINGS]
    cookie = f"{settings.session_cookie_name}={token}"
    if device is not None:
        cookie += f"; {device_cookie_name(settings.secure_cookies)}={device}"
    return {"Cookie": cookie, "Origin": settings.public_origin}


async def open_call_device(
    base_url: str,
    app: web.Application,
    world: CallWorld,
    call_id: uuid.UUID,
    *,
    password: str = STAFF_PASSWORD,
) -> str:
    """Lock a centre device to the call as staff do: the staff session posts its password to
    ``/calls/{id}/device``; the answer's device cookie is the device (kept in ``world.devices``).

    Its own cookie-less client, so the device cookie never leaks into other people's requests.
    """
    if call_id in world.devices:
        return world.devices[call_id]
    name = device_cookie_name(app[SETTINGS].secure_cookies)
    headers = {**cookie_header(app, world.cookies["staff"]), "X-CSRF-Token": world.csrf["staff"]}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.post(
            f"{base_url.rstrip('/')}/calls/{call_id}/device",
            data={"csrf_token": world.csrf["staff"], "password": password},
            headers=headers,
            allow_redirects=False,
        ) as response,
    ):
        assert response.status == 303, (response.status, await response.text())
        cookie = response.cookies.get(name)
        assert cookie is not None and cookie.value, "no device cookie"
        world.devices[call_id] = cookie.value
    return cookie.value


async def child_headers(
    base_url: str, app: web.Application, world: CallWorld, call_id: uuid.UUID
) -> dict[str, str]:
    """The child's centre device: the staff session plus a device locked to this call."""
    device = await open_call_device(base_url, app, world, call_id)
    return cookie_header(app, world.cookies["staff"], device=device)


def base_url(client: Any) -> str:
    """The root URL of an ``aiohttp.test_utils.TestClient``'s server."""
    return str(client.make_url("/"))


async def person_headers(
    client: Any, world: CallWorld, call_id: uuid.UUID, person: str
) -> dict[str, str]:
    """``person``'s browser on a call, through a ``TestClient``: staff are the child, so they
    come from a device locked to the call; everyone else with their session alone."""
    app: web.Application = client.server.app
    if person == "staff":
        return await child_headers(base_url(client), app, world, call_id)
    return cookie_header(app, world.cookies[person])


class Signal:
    """A participant's signalling socket; a reader task keeps every message and the close.

    Like the call page, it sends a heartbeat every ``heartbeat`` seconds (None: never, a client
    that stopped); the server counts a silent supervisor as gone.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, heartbeat: float | None = 0.5) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_at: float | None = None
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read())
        self._beater = loop.create_task(self._beat(heartbeat)) if heartbeat else None

    async def _beat(self, interval: float) -> None:
        while not self.ws.closed:
            try:
                await self.ws.send_json({"type": "heartbeat"})
            except (ConnectionError, RuntimeError):
                return
            await asyncio.sleep(interval)

    def stop_heartbeat(self) -> None:
        if self._beater is not None:
            self._beater.cancel()

    async def _read(self) -> None:
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.messages.append(msg.json())
            elif msg.type is aiohttp.WSMsgType.CLOSE:
                self.close_reason = msg.extra
            elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
        self.close_code = self.ws.close_code
        self.closed_at = asyncio.get_running_loop().time()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def wait_for(self, kind: str, *, count: int = 1, within: float = 20.0) -> dict[str, Any]:
        await wait_until(lambda: len(self.of_type(kind)) >= count, within=within, what=f"{kind!r}")
        return self.of_type(kind)[count - 1]

    async def wait_closed(self, within: float = 20.0) -> None:
        await asyncio.wait_for(asyncio.shield(self._reader), within)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def join(self, participant: SyntheticParticipant) -> ConnectResult:
        count = len(self.of_type("answer"))
        await self.send({"type": "offer", "sdp": await participant.offer()})
        answer = await self.wait_for("answer", count=count + 1)
        result = ConnectResult(sdp=answer["sdp"], sources_by_mid=answer["sources"])
        await participant.accept(result)
        return result

    async def close(self) -> None:
        self.stop_heartbeat()
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)
        if self._beater is not None:
            await asyncio.gather(self._beater, return_exceptions=True)


ROLE_OF: dict[Role, str] = {
    "parent": "parent",
    "child": "staff",
    "supervisor": "supervisor",
    "interpreter": "interpreter",
}


@dataclass
class Party:
    signal: Signal
    client: SyntheticParticipant


class CallHarness:
    """A booked call in the real app and its participants: real signalling sockets, real aiortc
    peers. Everything it opened closes in :meth:`close`."""

    def __init__(self, client: Any, world: CallWorld, call_id: uuid.UUID) -> None:
        self.client = client  # aiohttp.test_utils.TestClient
        self.world = world
        self.call_id = call_id
        self.signals: list[Signal] = []
        self.peers: list[SyntheticParticipant] = []

    @property
    def app(self) -> web.Application:
        app: web.Application = self.client.server.app
        return app

    async def connect(
        self,
        person: str,
        *,
        origin: str | None = None,
        heartbeat: float | None = 0.5,
        locked: bool = True,
    ) -> Signal:
        """``person``'s socket; staff come from a device locked to the call (``locked=False``:
        an ordinary staff browser, which the server refuses as the child)."""
        if locked:
            headers = await person_headers(self.client, self.world, self.call_id, person)
        else:
            headers = cookie_header(self.app, self.world.cookies[person])
        if origin is not None:
            headers["Origin"] = origin
        ws = await self.client.ws_connect(f"/calls/{self.call_id}/signal", headers=headers)
        signal = Signal(ws, heartbeat=heartbeat)
        self.signals.append(signal)
        await wait_until(
            lambda: bool(signal.of_type("state")) or signal.closed_at is not None,
            what=f"{person} to join",
        )
        return signal

    async def join(self, role: Role, person: str | None = None) -> Party:
        signal = await self.connect(person or ROLE_OF[role])
        peer = SyntheticParticipant(role)
        self.peers.append(peer)
        await signal.join(peer)
        return Party(signal, peer)

    async def events(self) -> list[tuple[str, str]]:
        """(kind, payload) of this call's record events, in order."""
        async with self.app[SESSIONMAKER]() as session:
            rows = (
                await session.scalars(
                    select(RecordEvent)
                    .where(RecordEvent.payload.contains(str(self.call_id)))
                    .order_by(RecordEvent.seq)
                )
            ).all()
        return [(r.kind, r.payload) for r in rows]

    async def until_recorded(self, kind: str, within: float = 20.0) -> list[tuple[str, str]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            events = await self.events()
            if any(k == kind for k, _ in events):
                return events
            if loop.time() > deadline:
                raise AssertionError(f"no {kind} event after {within} s: {events}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.peers), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self.signals), return_exceptions=True)
