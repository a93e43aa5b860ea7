"""The call's own clock, notes, and what the call pages hand the browser."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import CALLS, SESSIONMAKER
from storage.models import Call, CallStatus, ContactLevel, ObservationNote, RecordEvent
from tests.support.calls import Signal, book_call, cookie_header, make_world, person_headers
from tests.support.synthetic_calls import wait_until


@pytest.fixture
async def signals() -> AsyncIterator[list[Signal]]:
    made: list[Signal] = []
    try:
        yield made
    finally:
        for signal in made:
            await signal.close()


async def open_signal(
    client: TestClient, call_id: object, token: str, into: list[Signal]
) -> Signal:
    ws = await client.ws_connect(
        f"/calls/{call_id}/signal", headers=cookie_header(client.server.app, token)
    )
    signal = Signal(ws)
    into.append(signal)
    await wait_until(lambda: bool(signal.of_type("state")) or signal.closed_at is not None)
    return signal


async def test_window_end_warns_then_ends_the_call(
    client: TestClient, signals: list[Signal]
) -> None:
    app = client.server.app
    world = await make_world(app)
    app[CALLS].warning_lead = timedelta(seconds=2)
    call_id = await book_call(
        app, world, starts_in=timedelta(minutes=-1), lasts=timedelta(minutes=1, seconds=4)
    )
    parent = await open_signal(client, call_id, world.cookies["parent"], signals)
    supervisor = await open_signal(client, call_id, world.cookies["supervisor"], signals)

    warning = await parent.wait_for("ending-soon", within=30)
    assert warning == {"type": "ending-soon", "minutes": 1}
    assert not parent.of_type("ended")
    await parent.wait_for("ended", within=30)
    await supervisor.wait_for("ended", within=30)
    await parent.wait_closed()
    assert parent.of_type("ended") == [{"type": "ended", "reason": "window_ended"}]
    assert parent.close_code == 4410

    async with app[SESSIONMAKER]() as session:
        call = await session.get(Call, call_id)
        assert call is not None and call.status is CallStatus.ENDED
        assert call.end_reason == "window_ended"
        events = (
            await session.scalars(
                select(RecordEvent)
                .where(RecordEvent.payload.contains(str(call_id)))
                .order_by(RecordEvent.seq)
            )
        ).all()
    kinds = [(e.kind, e.actor_role) for e in events]
    assert ("call_warned", "system") in kinds
    assert kinds[-1] == ("call_ended", "system")
    assert kinds.index(("call_warned", "system")) < len(kinds) - 1


async def test_supervisor_note_is_kept_sealed_for_supervised_families(
    client: TestClient, signals: list[Signal]
) -> None:
    app = client.server.app
    world = await make_world(app, level=ContactLevel.SUPERVISED)
    call_id = await book_call(app, world)
    supervisor = await open_signal(client, call_id, world.cookies["supervisor"], signals)
    await supervisor.send({"type": "note", "text": "Sam laughed at the puppet show."})
    await supervisor.wait_for("note-saved")
    async with app[SESSIONMAKER]() as session:
        note = await session.scalar(
            select(ObservationNote).where(ObservationNote.call_id == call_id)
        )
        assert note is not None
        assert b"puppet" not in note.text_sealed
        kinds = (await session.scalars(select(RecordEvent.kind))).all()
        assert "observation_note_added" in kinds


async def test_supported_family_cannot_get_call_notes(
    client: TestClient, signals: list[Signal]
) -> None:
    app = client.server.app
    world = await make_world(app, level=ContactLevel.SUPPORTED)
    call_id = await book_call(app, world)
    supervisor = await open_signal(client, call_id, world.cookies["supervisor"], signals)
    await supervisor.send({"type": "note", "text": "An observation"})
    await supervisor.wait_closed()
    assert supervisor.close_code == 4403
    async with app[SESSIONMAKER]() as session:
        assert await session.scalar(select(ObservationNote.id)) is None


def page_ice_servers(html: str) -> object:
    found = re.search(r'data-ice-servers="([^"]*)"', html)
    assert found is not None
    return json.loads(found.group(1).replace("&#34;", '"').replace("&quot;", '"'))


@pytest.mark.parametrize(
    ("person", "script"),
    [("parent", "parent.js"), ("staff", "child.js"), ("supervisor", "supervisor.js")],
)
async def test_each_participant_gets_their_own_page_with_no_ice_servers_by_default(
    client: TestClient, person: str, script: str
) -> None:
    app = client.server.app
    world = await make_world(app)
    call_id = await book_call(app, world)
    response = await client.get(
        f"/calls/{call_id}/join", headers=await person_headers(client, world, call_id, person)
    )
    assert response.status == 200
    html = await response.text()
    assert f"/static/js/calls/{script}" in html
    assert page_ice_servers(html) == []  # explicit and empty: never a default STUN server
    assert "camera=(self)" in response.headers["Permissions-Policy"]
    assert "<script>" not in html and "style=" not in html


async def test_other_familys_parent_cannot_open_the_call_page(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call_id = await book_call(app, world)
    response = await client.get(
        f"/calls/{call_id}/join", headers=cookie_header(app, world.cookies["other_parent"])
    )
    assert response.status == 404
