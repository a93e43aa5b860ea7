"""CSRF defence for every state-changing request: an Origin (or Referer) check, then a
synchronizer token.

Signed-in users carry the token of their server-side session; before sign-in a random token
sits in a SameSite=Strict cookie and must be echoed (double submit). Forms send it as the
``csrf_token`` field; scripts send the ``X-CSRF-Token`` header (uploads must, because their
streamed bodies are not read here). GET and HEAD never change state, so they are not checked.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from service.appkeys import ACTOR, SETTINGS
from service.errors import Forbidden
from service.http.access import Actor
from service.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
ANON_COOKIE_KEY = web.RequestKey("anonymous_csrf", str)


def anonymous_cookie_name(settings: Settings) -> str:
    return "__Host-letterbox-csrf" if settings.secure_cookies else "letterbox-csrf"


def csrf_token_for(request: web.Request) -> str:
    """The token a page must embed; creates the anonymous one if needed."""
    actor: Actor | None = request.get(ACTOR)
    if actor is not None:
        return actor.csrf_token
    existing: str | None = request.get(ANON_COOKIE_KEY)
    if existing is None:
        settings = request.app[SETTINGS]
        existing = request.cookies.get(anonymous_cookie_name(settings)) or ""
        if len(existing) < 32 or len(existing) > 100:
            existing = secrets.token_urlsafe(32)
        request[ANON_COOKIE_KEY] = existing
    return existing


def _same_origin(request: web.Request, settings: Settings) -> bool:
    expected = settings.public_origin
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == expected
    referer = request.headers.get("Referer")
    if referer is not None:
        return referer == expected or referer.startswith(expected + "/")
    return False


async def _submitted_token(request: web.Request) -> str | None:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()  # cached: the handler reads the same parsed form
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if request.method not in SAFE_METHODS:
        if not _same_origin(request, settings):
            raise Forbidden(
                "This request did not come from the Letterbox site. Please go back, reload "
                "the page and try again.",
                code="bad_origin",
            )
        expected = csrf_token_for(request)
        submitted = await _submitted_token(request)
        # Before sign-in ``expected`` is the cookie's own value (or a fresh random one when
        # there is no cookie), so this is the double-submit check.
        if submitted is None or not hmac.compare_digest(submitted.encode(), expected.encode()):
            raise Forbidden(
                "This form has expired. Please go back, reload the page and try again.",
                code="csrf_failed",
            )
    response = await handler(request)
    fresh = request.get(ANON_COOKIE_KEY)
    if (
        fresh is not None
        and request.get(ACTOR) is None
        and fresh != request.cookies.get(anonymous_cookie_name(settings))
    ):
        response.set_cookie(
            anonymous_cookie_name(settings),
            fresh,
            path="/",
            secure=settings.secure_cookies,
            httponly=True,
            samesite="Strict",
        )
    return response
