"""Media nodes in the database: a dead owner's calls end with a recorded reason (its heartbeat
stopped, or it restarted after a crash), a clean stop ends nothing, and a forwarded socket is
never forwarded again (no loop, even when the owner's address points back at the forwarder).
The forwarding itself between real worker processes is in tests/reliability/test_workers.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER
from service.calls.forwarding import FORWARDED_BY, MediaNodes
from service.calls.registry import CLOSE_ENDED
from service.services import Services
from storage import record
from storage.models import Call, CallStatus, MediaNode, RecordEvent
from tests.support.calls import CallWorld, Signal, book_call, cookie_header, make_world

CLOSE_CONFLICT = 4409


async def live_call_on(app: web.Application, world: CallWorld, node: str) -> uuid.UUID:
    """A call a node took live (the parent joined there)."""
    call_id = await book_call(app, world)
    log = record.RecordLog(sealer=record.KeyRingPayloadSealer(app[KEYRING]))
    parent = record.EventAuthor(world.users["parent"], "parent")
    async with record.record_transaction(app[SESSIONMAKER], log, parent) as work:
        call = await work.session.get(Call, call_id)
        assert call is not None
        call.status, call.media_node = CallStatus.LIVE, node
        await work.record(world.family_id, "call_joined", {"call_id": call_id, "as": "parent"})
    return call_id


async def add_node(app: web.Application, node: str, url: str, seen: datetime) -> None:
    async with app[SESSIONMAKER].begin() as session:
        session.add(MediaNode(node=node, url=url, incarnation=uuid.uuid4().hex, seen_at=seen))


async def call_of(app: web.Application, call_id: uuid.UUID) -> Call:
    async with app[SESSIONMAKER]() as session:
        call = await session.get(Call, call_id)
    assert call is not None
    return call


async def last_event(app: web.Application, call_id: uuid.UUID) -> tuple[str, str | None]:
    async with app[SESSIONMAKER]() as session:
        events = (
            await session.scalars(
                select(RecordEvent)
                .where(RecordEvent.payload.contains(str(call_id)))
                .order_by(RecordEvent.seq)
            )
        ).all()
    return events[-1].kind, events[-1].actor_role


async def test_calls_of_a_node_whose_heartbeat_stopped_end_with_media_node_lost(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    now = datetime.now(UTC)
    await add_node(app, "lost-host#0", "http://127.0.0.1:9", now - timedelta(minutes=5))
    await add_node(app, "alive-host#0", "http://127.0.0.1:9", now)
    lost = await live_call_on(app, world, "lost-host#0")
    alive = await live_call_on(app, world, "alive-host#0")

    watcher = MediaNodes(Services.of(app), "watcher#0", "http://127.0.0.1:9")
    assert await watcher.end_dead_nodes_calls() == 1

    ended = await call_of(app, lost)
    assert ended.status is CallStatus.ENDED and ended.end_reason == "media_node_lost"
    assert await last_event(app, lost) == ("call_ended", "system")
    assert (await call_of(app, alive)).status is CallStatus.LIVE
    async with app[SESSIONMAKER]() as session:
        nodes = set((await session.scalars(select(MediaNode.node))).all())
    assert nodes == {"alive-host#0"}
    # A second watcher finds nothing left to end.
    assert await watcher.end_dead_nodes_calls() == 0


async def test_a_node_restarted_after_a_crash_ends_its_calls_but_not_after_a_clean_stop(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    services = Services.of(app)
    # The crashed predecessor's row is still there (only a clean stop removes it).
    await add_node(app, "host#1", "http://127.0.0.1:9", datetime.now(UTC))
    held = await live_call_on(app, world, "host#1")

    restarted = MediaNodes(services, "host#1", "http://127.0.0.1:9")
    await restarted.start()
    assert (await call_of(app, held)).end_reason == "media_node_lost"
    # A deploy: the node stops cleanly, and its calls survive the restart (people rejoin).
    kept = await live_call_on(app, world, "host#1")
    await restarted.stop()
    again = MediaNodes(services, "host#1", "http://127.0.0.1:9")
    await again.start()
    try:
        assert (await call_of(app, kept)).status is CallStatus.LIVE
    finally:
        await again.stop()


async def test_a_socket_is_forwarded_at_most_once_even_when_the_owner_points_back(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    # The owner's recorded address is this very server: a naive forwarder would loop.
    own_url = str(client.make_url("")).rstrip("/")
    await add_node(app, "elsewhere#0", own_url, datetime.now(UTC))
    call_id = await live_call_on(app, world, "elsewhere#0")

    for extra in ({}, {FORWARDED_BY: "a-client-pretending"}):
        headers = cookie_header(app, world.cookies["parent"]) | extra
        ws = await client.ws_connect(f"/calls/{call_id}/signal", headers=headers)
        signal = Signal(ws)
        try:
            await signal.wait_closed(within=30)
            assert signal.close_code == CLOSE_CONFLICT, (signal.close_code, signal.messages)
            assert signal.close_code != CLOSE_ENDED
            assert "another media server" in str(signal.close_reason)
        finally:
            await signal.close()
    assert (await call_of(app, call_id)).status is CallStatus.LIVE
