"""The web shell's front door and the context every page template gets."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from service.accounts.views import home_for
from service.appkeys import ACTOR, CONTENT_DESTROYED, SETTINGS
from service.http.access import PUBLIC, Actor, add_route
from service.http.csrf import csrf_token_for
from service.i18n import LANGUAGES, current_language
from service.i18n.catalogues import script_translations
from service.notify import CONTACT_BOOK
from service.statuses import CALL_WORDS, PARENT_WORDS


async def base_context(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    actor: Actor | None = request.get(ACTOR)
    return {
        "centre_name": settings.centre_name,
        "development": not settings.production,
        "actor": actor,
        "csrf_token": csrf_token_for(request),
        # The one status vocabulary (service.statuses), for every page that names a state.
        "parent_words": PARENT_WORDS,
        "call_words": CALL_WORDS,
        # How to reach the centre: in every page's footer, and beside every "contact the
        # centre" (kept in memory: a page may be rendered while its handler holds a session).
        "contact": book.current() if (book := request.app.get(CONTACT_BOOK)) else None,
        "content_destroyed": request.get(CONTENT_DESTROYED),
        # The page's language for ``<html lang>``, and the switch signed-out pages show.
        "language": current_language(),
        "script_messages": script_translations(current_language()),
        # Each language's link keeps the page's own query (an invitation's token, say).
        "language_links": {
            code: (name, str(request.rel_url.update_query(lang=code)))
            for code, name in LANGUAGES.items()
        },
    }


@web.middleware
async def page_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp_jinja2's ``context_processors_middleware``, skipped on ``/api/`` routes: they
    answer JSON, their errors too (``service.http.errors.wants_json``), so a page context
    (language links, script messages, a CSRF token) would be built for nothing."""
    if request.path.startswith("/api/"):
        return await handler(request)
    return await aiohttp_jinja2.context_processors_middleware(request, handler)


async def front_door(request: web.Request) -> web.StreamResponse:
    actor: Actor | None = request.get(ACTOR)
    if actor is None:
        raise web.HTTPSeeOther("/sign-in")
    if actor.needs_second_factor and not actor.second_factor_done:
        raise web.HTTPSeeOther("/two-factor")
    raise web.HTTPSeeOther(home_for(actor.role))


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/", front_door, PUBLIC)
