"""What a call's life must survive: node restarts, nobody turning up, nodes that vanish, and
the ICE configuration each page and the relay get (short-lived TURN credentials only)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.app import create_app
from service.appkeys import CALLS, KEYRING, SESSIONMAKER
from service.calls.registry import CallRegistry
from service.settings import Settings
from storage import record
from storage.models import Call, CallStatus, RecordEvent
from tests.support.calls import Signal, book_call, cookie_header, make_world, person_headers
from tests.support.settings import make_settings
from tests.support.synthetic_calls import wait_until

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]
TURN_URL = "turn:turn.centre.example:3478"
TURN_SECRET = "a-turn-secret-only-the-server-knows"


@pytest.fixture
async def signals() -> AsyncIterator[list[Signal]]:
    made: list[Signal] = []
    try:
        yield made
    finally:
        for signal in made:
            await signal.close()


async def open_signal(
    client: TestClient, call_id: uuid.UUID, token: str, into: list[Signal]
) -> Signal:
    ws = await client.ws_connect(
        f"/calls/{call_id}/signal", headers=cookie_header(client.server.app, token)
    )
    signal = Signal(ws)
    into.append(signal)
    await wait_until(lambda: bool(signal.of_type("state")) or signal.closed_at is not None)
    return signal


async def events_of_call(app: web.Application, call_id: uuid.UUID) -> list[RecordEvent]:
    async with app[SESSIONMAKER]() as session:
        return list(
            (
                await session.scalars(
                    select(RecordEvent)
                    .where(RecordEvent.payload.contains(str(call_id)))
                    .order_by(RecordEvent.seq)
                )
            ).all()
        )


async def status_of(app: web.Application, call_id: uuid.UUID) -> CallStatus:
    return (await load_call(app, call_id)).status


async def until(
    probe: Callable[[], Awaitable[object]], expected: object, within: float = 20.0
) -> None:
    """Poll an async probe (a database read) until it returns ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (seen := await probe()) != expected:
        if loop.time() > deadline:
            raise AssertionError(f"after {within} s still {seen!r}, expected {expected!r}")
        await asyncio.sleep(0.05)


async def load_call(app: web.Application, call_id: uuid.UUID) -> Call:
    async with app[SESSIONMAKER]() as session:
        call = await session.get(Call, call_id)
    assert call is not None
    return call


async def test_end_of_window_warning_is_sent_once_even_across_a_node_restart(
    aiohttp_client: AiohttpClient, settings: Settings, signals: list[Signal]
) -> None:
    first = await aiohttp_client(create_app(settings))
    app = first.server.app
    world = await make_world(app)
    app[CALLS].warning_lead = timedelta(seconds=7)
    call_id = await book_call(
        app, world, starts_in=timedelta(minutes=-1), lasts=timedelta(minutes=1, seconds=9)
    )
    parent = await open_signal(first, call_id, world.cookies["parent"], signals)
    await parent.wait_for("ending-soon", within=30)
    warned_at = (await load_call(app, call_id)).warning_sent_at
    assert warned_at is not None

    # The node restarts before the window ends: a new process, the same database and node name.
    await first.close()
    await parent.wait_closed()
    second = await aiohttp_client(create_app(settings))
    again = second.server.app
    assert again[CALLS].warning_lead == timedelta(minutes=5)  # it would warn at once if it could
    rejoined = await open_signal(second, call_id, world.cookies["parent"], signals)
    # The rejoining page is told the call ends soon (its banner), but no second warning is made.
    assert (await rejoined.wait_for("ending-soon"))["type"] == "ending-soon"
    await rejoined.wait_for("ended", within=30)
    await rejoined.wait_closed()  # sockets close once the end is recorded
    assert rejoined.of_type("ended") == [{"type": "ended", "reason": "window_ended"}]

    events = await events_of_call(again, call_id)
    assert [e.kind for e in events].count("call_warned") == 1
    assert events[-1].kind == "call_ended" and events[-1].actor_role == "system"
    call = await load_call(again, call_id)
    assert call.warning_sent_at == warned_at
    assert call.status is CallStatus.ENDED and call.end_reason == "window_ended"


async def test_call_nobody_joined_is_closed_as_missed_after_its_window(
    client: TestClient, signals: list[Signal]
) -> None:
    app = client.server.app
    world = await make_world(app)
    missed = await book_call(
        app, world, starts_in=timedelta(minutes=-40), lasts=timedelta(minutes=30)
    )
    coming = await book_call(app, world, starts_in=timedelta(hours=2))

    app[CALLS].sweep_soon()  # the periodic sweep, woken instead of waiting its minute
    await until(lambda: status_of(app, missed), CallStatus.ENDED)
    call = await load_call(app, missed)
    assert call.end_reason == "missed" and call.ended_at is not None
    events = await events_of_call(app, missed)
    assert [(e.kind, e.actor_role) for e in events][-1] == ("call_missed", "system")
    assert (await load_call(app, coming)).status is CallStatus.SCHEDULED

    # Sweeping again (another node, the next minute) records nothing more.
    assert await app[CALLS].sweep() == 0
    assert [e.kind for e in await events_of_call(app, missed)].count("call_missed") == 1
    refused = await open_signal(client, missed, world.cookies["parent"], signals)
    await refused.wait_closed()
    assert refused.close_code == 4410 and not refused.of_type("answer")


async def test_live_call_whose_node_vanished_is_ended_by_the_sweep(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call_id = await book_call(
        app, world, starts_in=timedelta(minutes=-40), lasts=timedelta(minutes=30)
    )
    # A node took the call live (the parent joined), then crashed before its window ended.
    log = record.RecordLog(sealer=record.KeyRingPayloadSealer(app[KEYRING]))
    parent = record.EventAuthor(world.users["parent"], "parent")
    async with record.record_transaction(app[SESSIONMAKER], log, parent) as work:
        call = await work.session.get(Call, call_id)
        assert call is not None
        call.status = CallStatus.LIVE
        call.media_node = "a-node-that-crashed:8080"
        await work.record(world.family_id, "call_joined", {"call_id": call_id, "as": "parent"})
    assert await app[CALLS].sweep() == 1
    call = await load_call(app, call_id)
    assert call.status is CallStatus.ENDED and call.end_reason == "window_ended"
    events = await events_of_call(app, call_id)
    assert [(e.kind, e.actor_role) for e in events][-1] == ("call_ended", "system")


def page_ice_servers(html: str) -> Any:
    found = re.search(r'data-ice-servers="([^"]*)"', html)
    assert found is not None
    return json.loads(found.group(1).replace("&#34;", '"').replace("&quot;", '"'))


def expected_credential(username: str) -> str:
    digest = hmac.new(TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def check_turn_username(username: str, label: str) -> None:
    expiry, _, got_label = username.partition(":")
    assert re.fullmatch(label, got_label), username
    lifetime = int(expiry) - datetime.now(UTC).timestamp()
    assert 60 < lifetime <= 4 * 3600 + 60  # expires in hours, not never


@pytest.fixture
async def turn_client(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> TestClient:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        ice_host_address="127.0.0.1",
        turn_urls=TURN_URL,
        turn_secret=TURN_SECRET,
    )
    return await aiohttp_client(create_app(settings))


@pytest.mark.parametrize(
    ("person", "role"), [("parent", "parent"), ("staff", "child"), ("supervisor", "supervisor")]
)
async def test_call_page_gets_short_lived_turn_credentials_and_never_the_secret(
    turn_client: TestClient, person: str, role: str
) -> None:
    app = turn_client.server.app
    world = await make_world(app)
    call_id = await book_call(app, world)
    response = await turn_client.get(
        f"/calls/{call_id}/join", headers=await person_headers(turn_client, world, call_id, person)
    )
    assert response.status == 200
    html = await response.text()
    assert TURN_SECRET not in html
    (server,) = page_ice_servers(html)
    assert server["urls"] == [TURN_URL]
    check_turn_username(server["username"], f"{role}-{call_id.hex}")
    assert server["credential"] == expected_credential(server["username"])


async def test_relay_gets_short_lived_turn_credentials_made_per_call(
    turn_client: TestClient,
) -> None:
    registry: CallRegistry = turn_client.server.app[CALLS]
    (server,) = registry.media_ice_servers()
    assert server.urls == [TURN_URL]
    assert server.username is not None and server.credential is not None
    check_turn_username(server.username, r"media-[A-Za-z0-9._-]+")
    assert server.credential == expected_credential(server.username)
    assert TURN_SECRET not in (server.username, server.credential)
