"""Only a database or object-store outage answers 503 ("try again"); any other failure,
an ``OSError`` included, is a 500 that quotes the request id, so a bug never looks like an
outage that will pass."""

from __future__ import annotations

import shutil
from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import VAULT
from service.http.access import PUBLIC, add_route
from service.settings import Settings


async def _missing_template(request: web.Request) -> web.StreamResponse:
    # A bug: a file the code expects is not there.
    Path("/nonexistent/letterbox/template.html").read_text()  # noqa: ASYNC240 - fails at once
    return web.Response(text="unreachable")


async def _store_write(request: web.Request) -> web.StreamResponse:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"hello"

    await request.app[VAULT].objects.put("probe/object", chunks())
    return web.Response(text="stored")


def _app(settings: Settings) -> web.Application:
    app = create_app(settings)
    add_route(app, "GET", "/probe/bug", _missing_template, PUBLIC)
    add_route(app, "GET", "/probe/store", _store_write, PUBLIC)
    return app


async def test_an_unexpected_oserror_is_a_500_with_the_request_id_not_an_outage(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(_app(settings))
    response = await client.get("/probe/bug", headers={"Accept": "application/json"})
    assert response.status == 500
    assert "Retry-After" not in response.headers
    body = await response.json()
    assert body["error"] == "internal_error"
    assert response.headers["X-Request-Id"] in body["message"]


async def test_a_failing_object_store_disk_is_a_503_with_retry_after(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(_app(settings))
    assert (await client.get("/probe/store")).status == 200
    # The store's disk goes wrong: its working folder is no longer a folder.
    tmp = settings.local_store_dir / ".tmp"
    shutil.rmtree(tmp)
    tmp.write_text("not a folder")
    response = await client.get("/probe/store", headers={"Accept": "application/json"})
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["error"] == "unavailable"
