"""``GET /healthz``: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.appkeys import ENGINE


async def healthz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(3):
            async with request.app[ENGINE].connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (TimeoutError, SQLAlchemyError, OSError):
        return web.json_response({"status": "unavailable", "database": "not answering"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})
