"""Gives every request an id (echoed in ``X-Request-Id``) and logs one line per request."""

from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from service.appkeys import REQUEST_ID
from service.logs import request_id_var

log = logging.getLogger("letterbox.request")


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = secrets.token_hex(8)
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-Id"] = request_id
        raise
    finally:
        log.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    # The route pattern (/invite/{token}), never the path or the query:
                    # invite, reset and device links carry their tokens in both.
                    "route": _route_pattern(request),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                }
            },
        )
        request_id_var.reset(token)


def _route_pattern(request: web.Request) -> str:
    resource = request.match_info.route.resource
    if resource is None:
        return "(no route)"  # a 404 or 405: its path is whatever the client typed
    return resource.canonical
