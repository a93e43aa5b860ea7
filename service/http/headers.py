"""Security headers on every response, including errors and static files."""

from __future__ import annotations

import re

from aiohttp import web

from service.appkeys import SETTINGS

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

# Camera and microphone only where a call runs (``/calls/{id}/join``); everywhere else
# nothing.
CALL_PAGE = re.compile(r"/calls/[^/]+/join")
NO_DEVICES = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CALL_DEVICES = "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    if "Content-Security-Policy" in headers:
        # A handler's own policy (a served file's ``sandbox``) stays; the site-wide one is sent
        # as well, and browsers enforce every policy they get, so the stricter of each holds.
        if CSP not in headers.getall("Content-Security-Policy"):
            headers.add("Content-Security-Policy", CSP)
    else:
        headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    on_call_page = CALL_PAGE.fullmatch(request.path) is not None
    headers["Permissions-Policy"] = CALL_DEVICES if on_call_page else NO_DEVICES
    if not request.path.startswith("/static/"):
        # Family data must never sit in a shared or back-button cache; sign-in pages carry
        # tokens. Static files are public and versioned, so they may be cached.
        headers["Cache-Control"] = "no-store"
    if request.app[SETTINGS].production:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
