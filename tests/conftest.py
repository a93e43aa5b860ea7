"""Shared fixtures: real PostgreSQL and SQLite for every database test, the real app.

Every test that takes ``database_url`` (directly or through ``settings``/``client``) runs
twice: once on SQLite and once on PostgreSQL, each on a fresh, migrated database.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.settings import Settings
from storage import db
from tests.support.postgres import PostgresServer, PostgresUnavailable, postgres_server, unique_name
from tests.support.settings import make_settings

pytest_plugins = ["tests.support.s3_fixtures"]

BACKENDS = ("sqlite", "postgresql")

_report: dict[str, str] = {}


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            _report["postgresql"] = server.origin
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is required for the test suite: {exc}", pytrace=False)


async def _migrate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg: PostgresServer) -> Iterator[str]:
    """A migrated database that each test's database is cloned from (fast: no re-migration)."""
    name = unique_name("letterbox_tmpl")
    pg.psql(f"CREATE DATABASE {name}")
    try:
        asyncio.run(_migrate(pg.url(name)))
        yield name
    finally:
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "letterbox.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "db" / "letterbox.db"
        target.parent.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("pg")
    template: str = request.getfixturevalue("pg_template")
    name = unique_name("letterbox_test")
    server.psql(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield server.url(name)
    finally:
        server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, settings: Settings) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(create_app(settings))


def pytest_report_header() -> list[str]:
    return ["letterbox: database tests run on SQLite and PostgreSQL"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = dict.fromkeys(BACKENDS, 0)
    for report in terminalreporter.getreports("passed"):
        for backend in BACKENDS:
            if (
                f"[{backend}" in report.nodeid
                or f"-{backend}]" in report.nodeid
                or f"-{backend}-" in report.nodeid
            ):
                counts[backend] += 1
    terminalreporter.write_sep("-", "letterbox test services")
    for backend in BACKENDS:
        where = (
            _report.get(backend, "embedded file per test")
            if backend == "postgresql"
            else "file per test"
        )
        terminalreporter.write_line(f"{backend}: {counts[backend]} tests passed ({where})")
    for line in _report.get("extra", "").splitlines():
        terminalreporter.write_line(line)
