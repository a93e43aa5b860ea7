"""Server-side sign-in sessions.

The cookie carries a random token; the database keeps only its SHA-256, so a database leak
does not hand out sessions. A new token at every sign-in; idle and absolute timeouts; every
session of a user can be ended at once (sign-out everywhere, password change, disable).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.appkeys import ACTOR, SESSIONMAKER, SETTINGS
from service.http.access import Actor
from service.settings import Settings
from storage.models import AccountStatus, User, WebSession

# Writing last_seen_at on every request would turn reads into writes; a minute is precise
# enough for a 30-minute idle timeout.
TOUCH_INTERVAL = timedelta(minutes=1)
# A password without the second factor opens only the code page, and only for a while.
SECOND_FACTOR_WINDOW = timedelta(minutes=10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_limit(settings: Settings, user: User) -> timedelta:
    minutes = (
        settings.staff_idle_minutes if user.role.is_centre_staff else settings.parent_idle_minutes
    )
    return timedelta(minutes=minutes)


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str) -> None:
    response.set_cookie(
        settings.session_cookie_name,
        token,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Strict",
    )


def clear_session_cookie(response: web.StreamResponse, settings: Settings) -> None:
    response.del_cookie(
        settings.session_cookie_name,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Strict",
    )


async def start_session(
    session: AsyncSession,
    user: User,
    *,
    second_factor_done: bool,
    ip: str | None,
    user_agent: str | None,
    replacing: str | None = None,
) -> str:
    """Create a session for ``user`` and return the cookie token. ``replacing`` (the hash of
    the session the browser had before) is deleted: a new id at every sign-in step."""
    if replacing is not None:
        await session.execute(delete(WebSession).where(WebSession.token_hash == replacing))
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            second_factor_done=second_factor_done,
            created_at=now,
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    return token


async def end_session(session: AsyncSession, hashed: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == hashed))


async def end_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))


async def load_actor(request: web.Request) -> Actor | None:
    settings = request.app[SETTINGS]
    token = request.cookies.get(settings.session_cookie_name)
    if not token or len(token) > 100:
        return None
    hashed = token_hash(token)
    now = datetime.now(UTC)
    async with request.app[SESSIONMAKER]() as session:
        row = (
            await session.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == hashed)
            )
        ).first()
        if row is None:
            return None
        web_session, user = row
        half_signed_in = user.role.is_centre_staff and not web_session.second_factor_done
        expired = (
            user.status is not AccountStatus.ACTIVE
            or now - web_session.created_at > timedelta(hours=settings.session_absolute_hours)
            or now - web_session.last_seen_at > idle_limit(settings, user)
            or (half_signed_in and now - web_session.created_at > SECOND_FACTOR_WINDOW)
        )
        # The read above began the session's transaction; these writes join it.
        if expired:
            await end_session(session, hashed)
            await session.commit()
            return None
        if now - web_session.last_seen_at > TOUCH_INTERVAL:
            await session.execute(
                update(WebSession).where(WebSession.token_hash == hashed).values(last_seen_at=now)
            )
            await session.commit()
        return Actor(
            user_id=user.id,
            role=user.role,
            centre_id=user.centre_id,
            display_name=user.display_name,
            email=user.email,
            session_token_hash=hashed,
            csrf_token=web_session.csrf_token,
            second_factor_done=web_session.second_factor_done,
        )


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/static/"):
        actor = await load_actor(request)
        if actor is not None:
            request[ACTOR] = actor
    return await handler(request)
