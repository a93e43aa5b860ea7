"""Choosing the language of a request.

A signed-in person reads their own language (asked at the invitation, changed on "My
account"). Before signing in, the page follows the switch the person pressed (a cookie) and
otherwise the browser's ``Accept-Language``. The child's view sets the child's language
itself (``set_language``), since the device is signed in as a member of staff.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from service.appkeys import ACTOR
from service.i18n.catalogues import LANGUAGES, SOURCE_LANGUAGE
from service.i18n.context import set_language

LANGUAGE_COOKIE = "letterbox_lang"
_SWITCH_PARAMETER = "lang"


def negotiate(accept_language: str) -> str:
    """The best of our languages for an ``Accept-Language`` header (RFC 9110 §12.5.4)."""
    best, best_weight = SOURCE_LANGUAGE, 0.0
    for position, entry in enumerate(accept_language.split(",")[:20]):
        tag, _, params = entry.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        # Earlier entries win ties, as browsers list them in the person's order.
        weight -= position * 1e-6
        if primary in LANGUAGES and weight > best_weight:
            best, best_weight = primary, weight
    return best


def signed_out_language(request: web.Request) -> str:
    chosen = request.query.get(_SWITCH_PARAMETER) or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("Accept-Language", ""))


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After the session: the signed-in person's language, else the signed-out choice.

    The switch (``?lang=cy`` on any page) and the signed-in person's language are remembered
    in a cookie for the signed-out pages.
    """
    actor = request.get(ACTOR)
    language = getattr(actor, "language", None) if actor is not None else None
    set_language(language if language in LANGUAGES else signed_out_language(request))
    response = await handler(request)
    # The switch, or a signed-in person's own language: the browser remembers it, so the
    # sign-in page after a time-out speaks to them in it.
    switched = request.query.get(_SWITCH_PARAMETER) or language
    remember = isinstance(switched, str) and switched in LANGUAGES
    if remember and request.cookies.get(LANGUAGE_COOKIE) != switched and not response.prepared:
        response.set_cookie(
            LANGUAGE_COOKIE,
            str(switched),
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )
    return response


@web.middleware
async def early_language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Before the session is read: error pages raised that early follow the browser."""
    set_language(signed_out_language(request))
    return await handler(request)
