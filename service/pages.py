"""Public pages of the web shell: the front door and the sign-in form."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from service.appkeys import ACTOR, SETTINGS
from service.http.access import PUBLIC, add_route
from service.http.csrf import csrf_token_for


async def base_context(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return {
        "centre_name": settings.centre_name,
        "development": not settings.production,
        "actor": request.get(ACTOR),
        "csrf_token": csrf_token_for(request),
    }


async def front_door(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/sign-in")


@aiohttp_jinja2.template("accounts/sign_in.html")
async def sign_in_page(request: web.Request) -> dict[str, Any]:
    return {"next": request.query.get("next", "/")}


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/", front_door, PUBLIC)
    add_route(app, "GET", "/sign-in", sign_in_page, PUBLIC)
