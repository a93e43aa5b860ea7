"""The app shell: health, the one error shape, security headers, the migration guard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from storage import db
from tests.support.postgres import PostgresServer, unique_name
from tests.support.settings import make_settings


async def test_healthz_answers_ok_with_json_when_database_answers(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_answers_503_with_json_when_database_goes_away(
    aiohttp_client: AiohttpClient, pg: PostgresServer, pg_template: str, tmp_path: Path
) -> None:
    name = unique_name("letterbox_gone")
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    try:
        client = await aiohttp_client(create_app(make_settings(pg.url(name), tmp_path)))
        assert (await client.get("/healthz")).status == 200
        pg.psql(f"DROP DATABASE {name} WITH (FORCE)")
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["status"] == "unavailable"
    finally:
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_api_errors_use_one_json_shape(client: TestClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status == 404
    body = await response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == "not_found"


async def test_browser_errors_get_a_plain_language_page(client: TestClient) -> None:
    response = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status == 404
    text = await response.text()
    assert "Page not found" in text
    assert "Traceback" not in text
    assert response.headers["X-Request-Id"] in text


async def test_sign_in_page_is_served_with_labelled_fields(client: TestClient) -> None:
    response = await client.get("/sign-in")
    assert response.status == 200
    page = await response.text()
    assert '<label for="email">' in page and '<label for="password">' in page


@pytest.mark.parametrize("path", ["/healthz", "/sign-in", "/no-such-page", "/static/css/site.css"])
async def test_security_headers_are_on_every_response(client: TestClient, path: str) -> None:
    response = await client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


async def test_app_refuses_to_start_on_unmigrated_database(
    pg: PostgresServer, tmp_path: Path
) -> None:
    for url, cleanup in _empty_databases(pg, tmp_path):
        runner = web.AppRunner(create_app(make_settings(url, tmp_path / "data")))
        try:
            with pytest.raises(db.NotMigrated, match="letterbox db upgrade"):
                await runner.setup()
        finally:
            await runner.cleanup()
            cleanup()


def _empty_databases(pg: PostgresServer, tmp_path: Path) -> list[tuple[str, Callable[[], object]]]:
    name = unique_name("letterbox_empty")
    pg.psql(f"CREATE DATABASE {name}")
    return [
        (f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", lambda: None),
        (pg.url(name), lambda: pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
    ]
