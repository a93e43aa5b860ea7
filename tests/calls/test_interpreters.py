"""Interpreters: booked by the centre on a call, they join that call and nothing else.

In the call (real aiortc peers through the app) the interpreter receives the parent, the child
and the supervisor, and the parent and the child receive the interpreter; a pause still cuts
only parent-to-child. Their account reaches only the calls a grant names: another call, the
family's pages and the moderation queue stay shut. Staff book them by e-mail on the booking
and edit pages, which invites a new interpreter account or reuses one, and never turns a staff
or parent account into an interpreter.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.appkeys import CALLS, SESSIONMAKER, SETTINGS
from service.calls.media import ConnectResult, Role
from storage.models import AccountStatus, Centre, Grant, GrantScope, RecordEvent, User
from storage.models import Role as AccountRole
from tests.support.accounts import PASSWORD, make_person, next_code, post_form
from tests.support.calls import (
    ROLE_OF,
    CallWorld,
    Signal,
    add_person,
    book_call,
    cookie_header,
    grant_call,
    make_world,
    person_headers,
)
from tests.support.synthetic_calls import SyntheticParticipant, wait_until


class Call:
    """Participants of one call, each a signalling socket and a real aiortc peer."""

    def __init__(self, client: TestClient, world: CallWorld, call_id: uuid.UUID) -> None:
        self.client = client
        self.world = world
        self.call_id = call_id
        self.signals: dict[Role, Signal] = {}
        self.peers: dict[Role, SyntheticParticipant] = {}

    async def join(self, role: Role) -> SyntheticParticipant:
        ws = await self.client.ws_connect(
            f"/calls/{self.call_id}/signal",
            headers=await person_headers(self.client, self.world, self.call_id, ROLE_OF[role]),
        )
        signal = Signal(ws)
        self.signals[role] = signal
        await signal.wait_for("state")
        # Three receiving pairs: everyone hears the interpreter, who hears all three.
        peer = SyntheticParticipant(role, receiving=3)
        self.peers[role] = peer
        await signal.send({"type": "offer", "sdp": await peer.offer()})
        answer = await signal.wait_for("answer")
        await peer.accept(ConnectResult(answer["sdp"], answer["sources"]))
        return peer

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.peers.values()), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self.signals.values()), return_exceptions=True)


@pytest.fixture
async def world(client: TestClient) -> CallWorld:
    return await make_world(client.server.app)


@pytest.fixture
async def call(client: TestClient, world: CallWorld) -> AsyncIterator[Call]:
    call_id = await book_call(client.server.app, world)
    await grant_call(client.server.app, world, call_id)
    made = Call(client, world, call_id)
    try:
        yield made
    finally:
        await made.close()


async def _events(client: TestClient, call_id: uuid.UUID) -> list[RecordEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(
            (
                await session.scalars(
                    select(RecordEvent)
                    .where(RecordEvent.payload.contains(str(call_id)))
                    .order_by(RecordEvent.seq)
                )
            ).all()
        )


async def test_booked_interpreter_sees_and_hears_everyone_and_everyone_receives_them(
    call: Call,
) -> None:
    interpreter = await call.join("interpreter")
    parent = await call.join("parent")
    child = await call.join("child")
    await call.join("supervisor")
    await call.signals["supervisor"].send({"type": "admit"})

    def enough(peer: SyntheticParticipant, source: Role) -> bool:
        return peer.frames_from(source) >= 10 and peer.frames_from(source, "audio") >= 20

    await wait_until(
        lambda: (
            all(enough(interpreter, s) for s in ("parent", "child", "supervisor"))
            and enough(parent, "interpreter")
            and enough(child, "interpreter")
            and enough(child, "parent")
        ),
        what="the interpreter's media both ways",
    )
    state = call.signals["supervisor"].of_type("state")[-1]
    assert "interpreter" in state["participants"]

    # No controls: an interpreter's pause or end closes their own socket and changes nothing.
    await call.signals["interpreter"].send({"type": "pause"})
    await call.signals["interpreter"].wait_closed()
    assert call.signals["interpreter"].close_code == 4403
    assert not call.signals["parent"].of_type("paused")

    events = await _events(call.client, call.call_id)
    joined = [e for e in events if e.kind == "call_joined"]
    assert any(
        e.actor_role == "interpreter" and e.actor_id == call.world.users["interpreter"]
        for e in joined
    ), [(e.kind, e.actor_role) for e in joined]


async def test_pause_cuts_only_parent_to_child_while_the_interpreter_hears_the_parent(
    call: Call,
) -> None:
    interpreter = await call.join("interpreter")
    parent = await call.join("parent")
    child = await call.join("child")
    await call.join("supervisor")
    await call.signals["supervisor"].send({"type": "admit"})
    await wait_until(
        lambda: child.frames_from("parent") >= 10 and interpreter.frames_from("parent") >= 10,
        what="parent media to the child and the interpreter",
    )

    await call.signals["supervisor"].send({"type": "pause"})
    await call.signals["parent"].wait_for("paused")

    def interpreter_traffic() -> tuple[int, int, int]:
        return (
            interpreter.frames_from("parent"),
            child.frames_from("interpreter"),
            parent.frames_from("interpreter"),
        )

    async def a_window_of_interpreter_traffic() -> None:
        start = interpreter_traffic()
        await wait_until(
            lambda: all(
                now >= then + 15 for now, then in zip(interpreter_traffic(), start, strict=True)
            ),
            what="the interpreter still hearing the parent, and heard by both, while paused",
        )

    # Frames already in flight when the pause was decided may still land (a loaded machine
    # delays them); after one window of the interpreter's traffic the route is settled, and
    # in the next window not one parent frame may reach the child.
    await a_window_of_interpreter_traffic()
    child_video, child_audio = child.frames_from("parent"), child.frames_from("parent", "audio")
    await a_window_of_interpreter_traffic()
    assert child.frames_from("parent") == child_video
    assert child.frames_from("parent", "audio") == child_audio


async def test_interpreter_is_refused_everywhere_but_the_calls_they_are_booked_on(
    client: TestClient, world: CallWorld
) -> None:
    app = client.server.app
    booked = await book_call(app, world)
    other = await book_call(app, world)
    await grant_call(app, world, booked)
    headers = cookie_header(app, world.cookies["interpreter"])
    html = {**headers, "Accept": "text/html"}

    page = await client.get(f"/calls/{booked}/join", headers=html)
    assert page.status == 200
    assert 'data-role="interpreter"' in await page.text()
    home = await client.get("/interpreter", headers=html)
    assert f"/calls/{booked}/join" in await home.text()
    assert str(other) not in await home.text()

    # Another call of the same family, its socket, and its pages.
    assert (await client.get(f"/calls/{other}/join", headers=html)).status == 404
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"/calls/{other}/signal", headers=headers)
    assert refused.value.status == 404
    for path in (
        "/calls",
        f"/calls/{booked}/edit",
        f"/calls/{booked}/device",
        f"/calls/new/{world.family_id}",
        "/staff",
        "/staff/moderation",
        "/api/moderation/queue",
        f"/staff/families/{world.family_id}/letterbox",
        f"/families/{world.family_id}/letterbox",
        "/supervisor",
        "/admin/families",
        "/letterbox",
    ):
        response = await client.get(path, headers=html, allow_redirects=False)
        assert response.status in (403, 404), (path, response.status)

    # Taking them off the call takes the call away.
    async with app[SESSIONMAKER].begin() as session:
        grant = await session.scalar(select(Grant).where(Grant.scope_id == booked))
        assert grant is not None
        await session.delete(grant)
    assert (await client.get(f"/calls/{booked}/join", headers=html)).status == 404


def _staff_form(world: CallWorld, **fields: str) -> dict[str, str]:
    return {"csrf_token": world.csrf["admin"], **fields}


def _local(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def test_staff_book_an_interpreter_by_email_inviting_a_new_account_then_reusing_it(
    client: TestClient, world: CallWorld
) -> None:
    app = client.server.app
    headers = {**cookie_header(app, world.cookies["admin"]), "Accept": "text/html"}
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    plan = {
        "child_id": str(world.child_id),
        "supervisor_id": str(world.users["supervisor"]),
        "starts_at": _local(starts),
        "ends_at": _local(starts + timedelta(hours=1)),
    }
    email = "ana.interpreter@languages.example"

    # A new address without a name says which field to fill.
    refused = await client.post(
        f"/calls/new/{world.family_id}",
        data=_staff_form(world, **plan, interpreter_email=email),
        headers=headers,
        allow_redirects=False,
    )
    assert refused.status == 422
    assert "Please give the interpreter&#39;s name" in await refused.text()

    booked = await client.post(
        f"/calls/new/{world.family_id}",
        data=_staff_form(world, **plan, interpreter_email=email, interpreter_name="Ana Lopes"),
        headers=headers,
        allow_redirects=False,
    )
    assert booked.status == 303, await booked.text()
    async with app[SESSIONMAKER]() as session:
        ana = await session.scalar(select(User).where(User.email == email))
        assert ana is not None
        assert ana.role is AccountRole.INTERPRETER
        assert ana.status is AccountStatus.INVITED
        first_call = await session.scalar(
            select(Grant.scope_id).where(
                Grant.user_id == ana.id, Grant.scope_kind == GrantScope.CALL
            )
        )
    assert first_call is not None
    # The invite e-mail (outbox on the embedded default) carries the link to set up the account.
    outbox: Path = app[SETTINGS].outbox_dir

    def invites() -> list[str]:
        found = []
        for path in outbox.glob("*.eml"):
            mail = message_from_bytes(path.read_bytes())
            if mail["To"] == email:
                found += [
                    str(part.get_payload(decode=True), "utf-8")
                    for part in mail.walk()
                    if part.get_content_maintype() == "text"
                ]
        return found

    await wait_until(lambda: bool(invites()), what="the interpreter's invite e-mail")
    assert any(re.search(r"/invite/[A-Za-z0-9_-]{20,}", body) for body in invites())

    # A second call: the edit page's interpreter form reuses the account.
    second = await book_call(app, world, starts_in=timedelta(days=3))
    added = await client.post(
        f"/calls/{second}/interpreters",
        data=_staff_form(world, interpreter_email=email.upper()),
        headers=headers,
        allow_redirects=False,
    )
    assert added.status == 303
    edit = await client.get(f"/calls/{second}/edit", headers=headers)
    assert "Ana Lopes" in await edit.text()
    async with app[SESSIONMAKER]() as session:
        assert await session.scalar(select(func.count()).where(User.email == email)) == 1
        grants = (
            await session.scalars(select(Grant.scope_id).where(Grant.user_id == ana.id))
        ).all()
    assert set(grants) == {first_call, second}

    # Staff's or a parent's address is never made into an interpreter.
    for person in ("staff", "parent"):
        wrong = await client.post(
            f"/calls/{second}/interpreters",
            data=_staff_form(world, interpreter_email=world.emails[person]),
            headers=headers,
            allow_redirects=False,
        )
        assert wrong.status == 422
        assert "not one of this centre&#39;s interpreters" in await wrong.text()
    async with app[SESSIONMAKER]() as session:
        staff = await session.get(User, world.users["staff"])
        assert staff is not None and staff.role is AccountRole.STAFF

    # Taking them off removes the grant; both changes are in the family record.
    removed = await client.post(
        f"/calls/{second}/interpreters/{ana.id}/remove",
        data=_staff_form(world),
        headers=headers,
        allow_redirects=False,
    )
    assert removed.status == 303
    async with app[SESSIONMAKER]() as session:
        left = (await session.scalars(select(Grant.scope_id).where(Grant.user_id == ana.id))).all()
    assert set(left) == {first_call}
    kinds = [e.kind for e in await _events(client, second)]
    assert kinds.count("call_interpreter_booked") == 1
    assert kinds.count("call_interpreter_removed") == 1


async def test_an_interpreter_signs_in_with_an_authenticator_code_like_staff(
    client: TestClient,
) -> None:
    app = client.server.app
    async with app[SESSIONMAKER].begin() as session:
        centre = Centre(name="Centre")
        session.add(centre)
        await session.flush()
    interpreter = await make_person(client, AccountRole.INTERPRETER, centre.id)
    assert interpreter.totp_secret is not None  # enrolled, like staff

    password_only = await post_form(
        client, "/sign-in", {"email": interpreter.email, "password": PASSWORD}
    )
    assert password_only.status == 303
    assert password_only.headers["Location"].startswith("/two-factor")
    # Half signed in: their home page waits for the code.
    early = await client.get("/interpreter", allow_redirects=False)
    assert early.status == 303 and early.headers["Location"] == "/two-factor"

    done = await post_form(client, "/two-factor", {"code": await next_code(client, interpreter)})
    assert done.status == 303
    assert done.headers["Location"] == "/interpreter"
    home = await client.get("/interpreter")
    assert home.status == 200
    assert "You are not booked on any call." in await home.text()


async def test_a_second_interpreter_is_refused_and_never_replaces_the_first(call: Call) -> None:
    app = call.client.server.app
    await add_person(app, call.world, "second_interpreter", AccountRole.INTERPRETER)
    await grant_call(app, call.world, call.call_id, "second_interpreter")
    first = await call.join("interpreter")
    parent = await call.join("parent")

    ws = await call.client.ws_connect(
        f"/calls/{call.call_id}/signal",
        headers=cookie_header(app, call.world.cookies["second_interpreter"]),
    )
    second = Signal(ws)
    try:
        await second.wait_closed()
    finally:
        await second.close()
    assert second.close_code == 4409
    assert second.close_reason == (
        "Another interpreter is already in this call. Please ask the centre which of you "
        "should interpret."
    )
    assert not second.of_type("state")

    # The first interpreter is still the one in the call, and still heard.
    live = app[CALLS].get(call.call_id)
    assert live is not None
    assert live.connections["interpreter"].actor.id == call.world.users["interpreter"]
    assert call.signals["interpreter"].close_code is None
    heard = parent.frames_from("interpreter")
    await wait_until(
        lambda: parent.frames_from("interpreter") >= heard + 15 and first.frames_from("parent") > 0,
        what="the first interpreter's media still flowing",
    )
    joined = [e for e in await _events(call.client, call.call_id) if e.kind == "call_joined"]
    assert call.world.users["second_interpreter"] not in {e.actor_id for e in joined}


async def test_taking_an_interpreter_off_mid_call_closes_their_socket_and_their_media(
    call: Call,
) -> None:
    app = call.client.server.app
    await call.join("interpreter")
    parent = await call.join("parent")
    await call.join("supervisor")
    await call.signals["supervisor"].send({"type": "admit"})
    await wait_until(lambda: parent.frames_from("interpreter") >= 10, what="the interpreter heard")

    interpreter_id = call.world.users["interpreter"]
    removed = await call.client.post(
        f"/calls/{call.call_id}/interpreters/{interpreter_id}/remove",
        data={"csrf_token": call.world.csrf["admin"]},
        headers=cookie_header(app, call.world.cookies["admin"]),
        allow_redirects=False,
    )
    assert removed.status == 303

    signal = call.signals["interpreter"]
    await signal.wait_closed()
    assert signal.close_code == 4403
    assert signal.close_reason == "You are no longer booked on this call."
    await wait_until(
        lambda: (
            "interpreter" not in call.signals["supervisor"].of_type("state")[-1]["participants"]
        ),
        what="the interpreter gone from the call",
    )
    live = app[CALLS].get(call.call_id)
    assert live is not None
    assert "interpreter" not in live.media.connected_roles()

    # Their media stops reaching the parent; the supervisor's still does.
    stopped_at = parent.frames_from("interpreter")
    supervisor_at = parent.frames_from("supervisor")
    await wait_until(
        lambda: parent.frames_from("supervisor") >= supervisor_at + 15,
        what="the supervisor's media after the removal",
    )
    assert parent.frames_from("interpreter") <= stopped_at + 2  # at most frames in flight

    kinds = [(e.kind, e.actor_role) for e in await _events(call.client, call.call_id)]
    assert ("call_interpreter_removed", "admin") in kinds
    assert ("call_left", "interpreter") in kinds
    # Coming back is refused: the grant went with the booking.
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await call.client.ws_connect(
            f"/calls/{call.call_id}/signal",
            headers=cookie_header(app, call.world.cookies["interpreter"]),
        )
    assert refused.value.status == 404


async def test_an_interpreter_taken_off_on_another_node_is_closed_by_this_nodes_sweep(
    call: Call,
) -> None:
    """The removal's request may reach a node that does not hold their socket: the grant is
    gone from the database, and the node running the call closes the socket on its sweep."""
    app = call.client.server.app
    await call.join("interpreter")
    await call.join("parent")
    assert await app[CALLS].dismiss_ungranted() == 0  # still booked: nothing happens
    assert call.signals["interpreter"].close_code is None

    async with app[SESSIONMAKER].begin() as session:  # as the other node's removal does
        grant = await session.scalar(select(Grant).where(Grant.scope_id == call.call_id))
        assert grant is not None
        await session.delete(grant)
    assert await app[CALLS].dismiss_ungranted() == 1

    signal = call.signals["interpreter"]
    await signal.wait_closed()
    assert signal.close_code == 4403
    assert signal.close_reason == "You are no longer booked on this call."
    await wait_until(
        lambda: "interpreter" not in call.signals["parent"].of_type("state")[-1]["participants"],
        what="the interpreter gone from the call",
    )
