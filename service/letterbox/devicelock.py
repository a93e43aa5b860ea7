"""A centre device showing a child view goes nowhere else.

When staff start an opening session, the device gets a random token in a cookie (only its
hash is kept, on the session row). While that session is live, every request from the device
is checked here, in one place, before anyone is signed in or any route is looked at: only the
session's own child-view pages, the static files they load and the way out (which needs the
staff member's password) are let through. Everything else — staff pages, the admin area, the
parent's pages, calls, the API — is sent back to the child view. Leaving with the right
password or ending the session clears the token, and the device is an ordinary one again.
"""

from __future__ import annotations

import re
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import select

from service.appkeys import SESSIONMAKER, SETTINGS
from service.letterbox.opening import device_cookie_name, token_hash
from storage.models import OpeningSession

# The child view of one session: its pages, pictures, items JSON, replies and the way out.
_CHILD_PATH = re.compile(r"^(?:/api)?/child/sessions/(?P<session_id>[0-9a-fA-F-]{36})(?:/.*)?$")
# Static files (styles, scripts) the child view loads, and the health probe.
_ALWAYS = ("/static/", "/healthz")
# If the staff member's sign-in times out, signing in again needs a password too; after it
# the device lands back on the child view, never on a staff page.
_SIGN_IN = frozenset({"/sign-in", "/two-factor"})


async def locked_session(request: web.Request) -> uuid.UUID | None:
    """The live opening session this device is locked to, if any."""
    settings = request.app[SETTINGS]
    token = request.cookies.get(device_cookie_name(settings.secure_cookies))
    if not token:
        return None
    async with request.app[SESSIONMAKER]() as session:
        found: uuid.UUID | None = await session.scalar(
            select(OpeningSession.id).where(
                OpeningSession.device_token_hash == token_hash(token),
                OpeningSession.ended_at.is_(None),
            )
        )
    return found


def allowed_while_locked(path: str, session_id: uuid.UUID) -> bool:
    if path.startswith(_ALWAYS) or path in _SIGN_IN:
        return True
    match = _CHILD_PATH.match(path)
    if match is None:
        return False
    try:
        return uuid.UUID(match["session_id"]) == session_id
    except ValueError:
        return False


@web.middleware
async def device_lock_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    session_id = await locked_session(request)
    if session_id is not None and not allowed_while_locked(request.path, session_id):
        # 303 so a form post elsewhere also lands on the child view with a GET.
        raise web.HTTPSeeOther(f"/child/sessions/{session_id}")
    return await handler(request)
