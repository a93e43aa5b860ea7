"""Any worker accepts any call: signalling for a call that lives on another media node is
forwarded there by the app itself, so neither a proxy nor the browser needs to know where a
call lives.

Each media node (one ``letterbox serve`` worker) records itself in ``media_nodes``: its name,
its internal address (``settings.internal_url``: loopback on one host, ``LETTERBOX_INTERNAL_HOST``
across hosts) and a heartbeat. A call is pinned to the node of its first join
(``Call.media_node``). When a participant's socket reaches another node, the registry refuses
the join (``wrong_media_node``) and :func:`forward` opens the same WebSocket on the owner's
internal address with the participant's cookies and Origin, then copies messages both ways.
The owner checks the session, the family rule and the Origin again, exactly as for a direct
connection: the forwarder is given no trust. A forwarded socket is never forwarded again
(``FORWARDED_BY``), so a disagreement about the owner cannot loop.

A node that dies is noticed two ways, and its live calls end with ``media_node_lost`` (a
``call_ended`` event with that reason, and the participants' sockets closed):

- restarted under the same name (the parent of ``--workers`` restarts a dead worker), it finds
  its predecessor's row still there (a clean stop removes it) and ends the calls it held;
- never coming back (a host lost), its heartbeat stops: every other node's watch ends its
  calls once ``seen_at`` is ``NODE_DEAD_AFTER`` old.

A clean stop (a deploy) removes the row and ends nothing: the participants rejoin when the
node is back, and a call whose node never returns is closed by the sweep after its window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

import aiohttp
from aiohttp import WSMsgType, web
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from service.background import Repeating
from service.calls.registry import CLOSE_GOING_AWAY, CallRegistry
from service.services import Services
from storage import record
from storage.models import Call, CallStatus, MediaNode

log = logging.getLogger(__name__)

#: Marks a socket opened by another node: it is served here or refused, never sent on.
FORWARDED_BY: Final = "X-Letterbox-Forwarded-By"
#: How often a node renews its heartbeat and looks for dead nodes' calls.
NODE_HEARTBEAT: Final = 5.0
#: A node whose heartbeat is this old is dead: its calls end.
NODE_DEAD_AFTER: Final = timedelta(seconds=30)
NODE_LOST: Final = "media_node_lost"
#: Headers the owner needs to check the participant as if they had come to it directly.
_PASSED_HEADERS: Final = ("Cookie", "Origin", "User-Agent", "X-Forwarded-For")


class MediaNodes:
    """This node's row in ``media_nodes``: registered at start, renewed, removed at a clean
    stop; and the watch that ends dead nodes' calls."""

    def __init__(self, services: Services, node: str, url: str) -> None:
        self.services = services
        self.node = node
        self.url = url
        self.incarnation = uuid.uuid4().hex
        self._beating: Repeating | None = None

    async def start(self) -> None:
        async with self.services.sessionmaker.begin() as session:
            previous = await session.get(MediaNode, self.node, with_for_update=True)
            crashed = previous is not None
        if crashed:
            # Our predecessor died without a clean stop: its relays are gone with it.
            ended = await end_calls_of(self.services, self.node)
            log.warning("media node %s restarted after a crash: %d calls ended", self.node, ended)
        await self._beat()
        self._beating = Repeating("media-node", NODE_HEARTBEAT, self._beat_and_watch)

    async def _beat(self) -> None:
        now = datetime.now(UTC)
        values = {"url": self.url, "incarnation": self.incarnation, "seen_at": now}
        async with self.services.sessionmaker.begin() as session:
            dialect = (await session.connection()).dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            await session.execute(
                insert(MediaNode)
                .values(node=self.node, **values)
                .on_conflict_do_update(index_elements=[MediaNode.node], set_=values)
            )

    async def _beat_and_watch(self) -> None:
        await self._beat()
        await self.end_dead_nodes_calls()

    async def end_dead_nodes_calls(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        async with self.services.sessionmaker() as session:
            dead = (
                await session.scalars(
                    select(MediaNode.node).where(
                        MediaNode.seen_at < now - NODE_DEAD_AFTER, MediaNode.node != self.node
                    )
                )
            ).all()
        ended = 0
        for node in dead:
            lost = await end_calls_of(self.services, node)
            ended += lost
            async with self.services.sessionmaker.begin() as session:
                await session.execute(
                    delete(MediaNode).where(
                        MediaNode.node == node, MediaNode.seen_at < now - NODE_DEAD_AFTER
                    )
                )
            log.warning("media node %s stopped answering: %d of its calls ended", node, lost)
        return ended

    async def stop(self) -> None:
        """A clean stop: the row goes, so a restart under this name ends nothing."""
        if self._beating is not None:
            await self._beating.stop()
        with contextlib.suppress(Exception):
            async with self.services.sessionmaker.begin() as session:
                await session.execute(
                    delete(MediaNode).where(
                        MediaNode.node == self.node, MediaNode.incarnation == self.incarnation
                    )
                )


async def end_calls_of(services: Services, node: str) -> int:
    """End, with ``media_node_lost``, every live call pinned to ``node`` (whose relays are
    gone). Each call in its own transaction under a row lock, so two nodes doing this at once
    end it once."""
    async with services.sessionmaker() as session:
        ids = (
            await session.scalars(
                select(Call.id).where(Call.media_node == node, Call.status == CallStatus.LIVE)
            )
        ).all()
    ended = 0
    for call_id in ids:
        async with record.record_transaction(
            services.sessionmaker, services.record_log, record.EventAuthor.system()
        ) as work:
            call = await work.session.get(Call, call_id, with_for_update=True)
            if call is None or call.status is not CallStatus.LIVE or call.media_node != node:
                continue
            call.status = CallStatus.ENDED
            call.ended_at = datetime.now(UTC)
            call.end_reason = NODE_LOST
            await work.record(
                call.family_id, "call_ended", {"call_id": call_id, "reason": NODE_LOST}
            )
        ended += 1
    return ended


async def owner_address(services: Services, call_id: uuid.UUID) -> str | None:
    """The internal address of the live node owning ``call_id``, if there is one."""
    async with services.sessionmaker() as session:
        row = (
            await session.execute(
                select(MediaNode.url, MediaNode.seen_at)
                .join(Call, Call.media_node == MediaNode.node)
                .where(Call.id == call_id)
            )
        ).first()
    if row is None or row.seen_at < datetime.now(UTC) - NODE_DEAD_AFTER:
        return None
    return str(row.url)


async def forward(
    request: web.Request, client: web.WebSocketResponse, registry: CallRegistry, max_msg_size: int
) -> bool:
    """Serve ``client`` (already prepared) by relaying it to the call's owner. False when it
    cannot be forwarded (already forwarded once, no live owner, the owner unreachable): the
    caller then refuses the socket as before."""
    if FORWARDED_BY in request.headers:
        return False
    call_id = uuid.UUID(request.match_info["call_id"])
    url = await owner_address(registry.services, call_id)
    if url is None:
        return False
    headers = {name: request.headers[name] for name in _PASSED_HEADERS if name in request.headers}
    headers[FORWARDED_BY] = registry.node
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        try:
            upstream = await http.ws_connect(
                url + request.path, headers=headers, max_msg_size=max_msg_size
            )
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("call %s: its node at %s is unreachable (%s)", call_id, url, exc)
            return False
        async with upstream:
            await _relay(client, upstream)
    return True


async def _relay(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    async def to_owner() -> None:
        async for msg in client:
            if msg.type is WSMsgType.TEXT:
                await upstream.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await upstream.send_bytes(msg.data)
            else:
                break
        await upstream.close(code=client.close_code or 1000)

    async def to_client() -> None:
        while True:
            msg = await upstream.receive()
            if msg.type is WSMsgType.TEXT:
                await client.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await client.send_bytes(msg.data)
            else:
                break
        reason = msg.extra if msg.type is WSMsgType.CLOSE and isinstance(msg.extra, str) else ""
        # The owner's own close code (ended, replaced, refused) reaches the browser unchanged;
        # an owner that vanished is a restart to the page, which reconnects.
        code = upstream.close_code if msg.type is WSMsgType.CLOSE else None
        await client.close(
            code=code or CLOSE_GOING_AWAY,
            message=(reason or "the call's server went away").encode()[:120],
        )

    tasks = [asyncio.create_task(to_owner()), asyncio.create_task(to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not client.closed:
            await client.close(code=CLOSE_GOING_AWAY, message=b"the call's server went away")
