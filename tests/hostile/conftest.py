"""One real ``letterbox serve`` node for the whole hostile corpus, on PostgreSQL and a local
encrypted store, with a centre, a family, signed-in people and a booked call.

The node is a separate process, so "the server stays up" means a real process that keeps
answering, and malformed HTTP reaches the real parser.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from service.app import create_app
from service.appkeys import KEYRING, SESSIONMAKER
from service.settings import Settings
from storage import record
from storage.models import Call, CallStatus
from tests.hostile.corpus import NODE_MAX_FILE_BYTES, NODE_MAX_FILES, Person, Target
from tests.letterbox.world import ORIGIN, World, make_world
from tests.reliability.support import Node, letterbox_env, new_master_key
from tests.support.postgres import PostgresServer, unique_name


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


def _person(world_person: object, cookie_name: str) -> Person:
    return Person(f"{cookie_name}={world_person.token}", world_person.csrf)  # type: ignore[attr-defined]


async def _seed(settings: Settings) -> tuple[World, uuid.UUID]:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        world = await make_world(app)
        now = datetime.now(UTC)
        log = record.RecordLog(sealer=record.KeyRingPayloadSealer(app[KEYRING]))
        actor = record.Actor(world.admin.user_id, "admin")
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


@pytest.fixture(scope="session")
def hostile_node(
    pg: PostgresServer, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileNode]:
    name = unique_name("letterbox_hostile")
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    workdir = tmp_path_factory.mktemp("hostile")
    env = letterbox_env(
        pg.url(name),
        workdir / "data",
        new_master_key(),
        max_file_bytes=str(NODE_MAX_FILE_BYTES),
        max_files=str(NODE_MAX_FILES),
        ice_host_address="127.0.0.1",
    )
    settings = Settings.from_env(env)
    node = Node("hostile", env, workdir / "node.log")
    try:
        world, call_id = asyncio.run(_seed(settings))
        node.start()
        cookie = settings.session_cookie_name
        target = Target(
            host=f"127.0.0.1:{node.port}",
            origin=ORIGIN,
            family_id=world.family_id,
            child_id=world.child_id,
            parent=_person(world.parent, cookie),
            staff=_person(world.staff, cookie),
            admin=_person(world.admin, cookie),
        )
        yield HostileNode(node, target, call_id, pg, name, settings.local_store_dir)
    finally:
        node.stop()
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
