"""The JSON API under ``/api/v1``: the centre operations of the admin pages, calling the
same domain functions, described by the OpenAPI document at ``/api/v1/openapi.json``.

A front door like the pages: it calls the capabilities' domain functions (``routes.ROUTES``
declares each route once: access, handler, documentation)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.typedefs import CleanupContext


def setup(app: web.Application) -> None:
    from service.api import openapi, routes
    from service.http.access import add_route, signed_in

    routes.add_routes(app)
    add_route(app, "GET", routes.OPENAPI_PATH, openapi.openapi_document, signed_in())


def cleanup_contexts() -> Sequence[CleanupContext]:
    return ()
