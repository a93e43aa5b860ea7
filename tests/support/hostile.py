"""One real ``letterbox serve`` node for the hostile corpus: what the tests hold of it, how its
world is seeded, and the raw exchanges the hostile tests make with it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from service.app import create_app
from service.appkeys import KEYRING, SESSIONMAKER
from service.settings import Settings
from storage import record
from storage.models import Call, CallStatus
from tests.support.hostile_corpus import Person, Target
from tests.support.letterbox_world import World, make_world
from tests.support.postgres import PostgresServer
from tests.support.reliability import Node


@dataclass(frozen=True)
class HostileNode:
    node: Node
    target: Target
    call_id: uuid.UUID
    pg: PostgresServer
    database: str
    objects_dir: Path

    def count(self, table: str) -> int:
        return int(self.pg.psql(f"SELECT count(*) FROM {table}", database=self.database))

    def stored_files(self) -> list[Path]:
        if not self.objects_dir.exists():
            return []
        return [p for p in self.objects_dir.rglob("*") if p.is_file() and ".tmp" not in p.parts]

    def stored(self) -> tuple[int, int, int]:
        """Items, object rows and object files (the fuzzers may store real letters)."""
        return self.count("items"), self.count("stored_objects"), len(self.stored_files())

    def healthz(self) -> int:
        with socket.create_connection(("127.0.0.1", self.node.port), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return int(sock.recv(64).split(b" ")[1])


def seed_person(world_person: object, cookie_name: str) -> Person:
    return Person(f"{cookie_name}={world_person.token}", world_person.csrf)  # type: ignore[attr-defined]


async def seed_world(settings: Settings) -> tuple[World, uuid.UUID]:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        world = await make_world(app)
        now = datetime.now(UTC)
        log = record.RecordLog(sealer=record.KeyRingPayloadSealer(app[KEYRING]))
        actor = record.EventAuthor(world.admin.user_id, "admin")
        async with record.record_transaction(app[SESSIONMAKER], log, actor) as work:
            call = Call(
                family_id=world.family_id,
                child_id=world.child_id,
                supervisor_id=world.admin.user_id,
                scheduled_by=world.admin.user_id,
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=2),
                status=CallStatus.SCHEDULED,
            )
            work.session.add(call)
            await work.session.flush()
            await work.record(world.family_id, "call_scheduled", {"call_id": call.id})
            call_id = call.id
        return world, call_id
    finally:
        await runner.cleanup()


ANSWER_WITHIN = 60.0


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` while reading the answer: a server may answer (and close) before it
    has read a hostile body, and that answer must not be lost to a reset."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)

    def send() -> None:
        # The server may stop reading a hostile body: its answer is what counts. No half-close
        # after sending: aiohttp takes EOF as the client gone.
        with contextlib.suppress(OSError):
            sock.sendall(request)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = bytearray()
    deadline = time.monotonic() + ANSWER_WITHIN
    try:
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
            if b"\r\n\r\n" in received and _complete(received):
                break
    finally:
        sock.close()
        sender.join(timeout=ANSWER_WITHIN)
    return bytes(received)


def _complete(received: bytearray) -> bool:
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(answer: bytes) -> int:
    # aiohttp's parser answers a request it cannot parse as HTTP/1.0 400 and closes.
    assert answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), f"no HTTP answer: {answer[:200]!r}"
    return int(answer.split(b" ", 2)[1])


CLOSE_WITHIN = 20.0


async def join_as_parent(
    http: aiohttp.ClientSession, node: HostileNode
) -> aiohttp.ClientWebSocketResponse:
    target = node.target
    ws = await http.ws_connect(
        f"{node.node.url}/calls/{node.call_id}/signal",
        headers={"Cookie": target.parent.cookie, "Origin": target.origin},
        max_msg_size=0,
    )
    async with asyncio.timeout(CLOSE_WITHIN):
        while True:  # joined once the server says who is here
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            if json.loads(msg.data)["type"] == "state":
                return ws
