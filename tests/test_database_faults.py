"""PostgreSQL going away under a running app: a clear 503, then recovery without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import ACTOR, READER, SETTINGS
from service.http.sessions import _name_actor
from storage import db
from tests.support.postgres import PostgresCluster, PostgresServer, throwaway_cluster, unique_name
from tests.support.settings import make_settings


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster this test may stop and start; the shared one must stay up for others."""
    with throwaway_cluster() as cluster:
        yield cluster


async def _app_on(
    server: PostgresServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> TestClient:
    name = unique_name("letterbox_fault")
    server.psql(f"CREATE DATABASE {name}")
    engine = db.create_engine(server.url(name))
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()
    return await aiohttp_client(create_app(make_settings(server.url(name), tmp_path / "data")))


async def _get(client: TestClient, accept: str) -> tuple[int, str, dict[str, str]]:
    # A session cookie makes the request touch the database before any handler runs.
    response = await client.get(
        "/",
        headers={"Accept": accept, "Cookie": "letterbox-dev=" + "x" * 43},
        allow_redirects=False,
    )
    return response.status, await response.text(), dict(response.headers)


async def test_requests_get_503_while_database_is_down_and_recover_when_it_returns(
    own_cluster: PostgresCluster, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    client = await _app_on(own_cluster.server, aiohttp_client, tmp_path)
    status, _, _ = await _get(client, "application/json")
    assert status == 303  # healthy: the unknown session is ignored, "/" redirects to sign-in

    await asyncio.to_thread(own_cluster.stop)
    status, body, headers = await _get(client, "application/json")
    assert status == 503
    assert '"error": "unavailable"' in body and "try again" in body
    assert headers["Retry-After"] == "5"
    status, body, _ = await _get(client, "text/html")
    assert status == 503 and "Traceback" not in body and "try again" in body
    assert (await client.get("/healthz")).status == 503

    await asyncio.to_thread(own_cluster.start)
    async with asyncio.timeout(60):
        while (await client.get("/healthz")).status != 200:
            await asyncio.sleep(0.2)
    status, _, _ = await _get(client, "application/json")
    assert status == 303


async def test_terminated_backends_are_replaced_transparently(
    pg: PostgresServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    client = await _app_on(pg, aiohttp_client, tmp_path)
    for _ in range(3):
        assert (await _get(client, "application/json"))[0] == 303
    database = client.app[SETTINGS].database_url.rsplit("/", 1)[1]
    killed = pg.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )
    assert int(killed) >= 1
    # The pool notices the dead connections (asyncpg saw their sockets close) and opens new
    # ones: no 5xx at all.
    for _ in range(5):
        assert (await _get(client, "application/json"))[0] == 303


async def test_a_lookup_on_a_connection_that_died_unnoticed_is_retried_on_a_fresh_one(
    pg: PostgresServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    client = await _app_on(pg, aiohttp_client, tmp_path)
    for _ in range(3):
        assert (await _get(client, "application/json"))[0] == 303
    database = client.app[SETTINGS].database_url.rsplit("/", 1)[1]
    pg.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )
    # No await since the kill: asyncpg has not seen the sockets close, and a connection used
    # a moment ago is not pinged, so the lookup's first statement meets a dead backend.
    request = make_mocked_request(
        "GET", "/", headers={"Cookie": "letterbox-dev=" + "x" * 43}, app=client.app
    )
    async with client.app[READER].connect() as connection:
        await _name_actor(request, connection)  # raises without the retry
        assert ACTOR not in request
