"""One real ``letterbox serve`` node for the whole hostile corpus, on PostgreSQL and a local
encrypted store, with a centre, a family, signed-in people and a booked call.

The node is a separate process, so "the server stays up" means a real process that keeps
answering, and malformed HTTP reaches the real parser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from service.settings import Settings
from tests.support.hostile import HostileNode, seed_person, seed_world
from tests.support.hostile_corpus import NODE_MAX_FILE_BYTES, NODE_MAX_FILES, Target
from tests.support.letterbox_world import ORIGIN
from tests.support.postgres import PostgresServer, unique_name
from tests.support.reliability import Node, letterbox_env, new_master_key


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
        world, call_id = asyncio.run(seed_world(settings))
        node.start()
        cookie = settings.session_cookie_name
        target = Target(
            host=f"127.0.0.1:{node.port}",
            origin=ORIGIN,
            family_id=world.family_id,
            child_id=world.child_id,
            parent=seed_person(world.parent, cookie),
            staff=seed_person(world.staff, cookie),
            admin=seed_person(world.admin, cookie),
        )
        yield HostileNode(node, target, call_id, pg, name, settings.local_store_dir)
    finally:
        node.stop()
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
