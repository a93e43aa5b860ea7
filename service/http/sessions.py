"""Server-side sign-in sessions.

The cookie carries a random token; the database keeps only its SHA-256, so a database leak
does not hand out sessions. A new token at every sign-in; idle and absolute timeouts; every
session of a user can be ended at once (sign-out everywhere, password change, disable).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.appkeys import (
    ACTOR,
    LOOKUP_CONNECTION,
    LOOKUP_SHARING_ROUTES,
    READ_SESSIONS,
    READER,
    SETTINGS,
)
from service.http.access import Actor, check_family_early, family_to_fold
from service.settings import Settings
from storage.db import Queryable
from storage.models import AccountStatus, FamilySender, Role, User, WebSession

# Writing last_seen_at on every request would turn reads into writes; a minute is precise
# enough for a 30-minute idle timeout.
TOUCH_INTERVAL = timedelta(minutes=1)
# A password without the second factor opens only the code page, and only for a while.
SECOND_FACTOR_WINDOW = timedelta(minutes=10)


# Per request only: the session statement's answer to the parent rule (see load_actor).
APPROVED_SENDER = web.RequestKey("approved_sender", bool)

# Sent by a page's own background requests (draft saves): they do not count as activity.
BACKGROUND_HEADER = "Letterbox-Background"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_limit(settings: Settings, user: User) -> timedelta:
    return _idle_limit(settings, user.role)


def _idle_limit(settings: Settings, role: Role) -> timedelta:
    minutes = settings.staff_idle_minutes if role.is_centre_staff else settings.parent_idle_minutes
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
        await end_session(session, replacing)
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


async def end_session(session: Queryable, hashed: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == hashed))


async def end_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))


# Built once: every request runs it. Plain columns, not ORM objects: nothing here is changed
# through the ORM, and the request needs only these.
_SESSION_AND_USER = (
    select(
        WebSession.csrf_token,
        WebSession.second_factor_done,
        WebSession.created_at,
        WebSession.last_seen_at,
        User.id,
        User.role,
        User.centre_id,
        User.display_name,
        User.email,
        User.status,
        User.language,
    )
    .select_from(WebSession)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("hashed"))
)


# The same, with the parent rule for the route's family (access.may_access_family for a
# parent) answered in the same statement: one round trip less on a parent's family routes.
_SESSION_USER_AND_SENDER = _SESSION_AND_USER.add_columns(
    exists()
    .where(
        FamilySender.family_id == bindparam("family_id"),
        FamilySender.user_id == User.id,
        FamilySender.approved.is_(True),
    )
    .label("approved_sender")
)


async def load_actor(
    request: web.Request, connection: Queryable, family_to_fold: uuid.UUID | None = None
) -> Actor | None:
    """The signed-in person, or None. With ``family_to_fold``, whether they are an approved
    sender of that family is read in the same statement (``request[APPROVED_SENDER]``)."""
    settings = request.app[SETTINGS]
    token = request.cookies.get(settings.session_cookie_name)
    if not token or len(token) > 100:
        return None
    hashed = token_hash(token)
    now = datetime.now(UTC)
    if family_to_fold is None:
        row = (await connection.execute(_SESSION_AND_USER, {"hashed": hashed})).first()
    else:
        row = (
            await connection.execute(
                _SESSION_USER_AND_SENDER, {"hashed": hashed, "family_id": family_to_fold}
            )
        ).first()
    if row is None:
        return None
    if family_to_fold is not None:
        request[APPROVED_SENDER] = bool(row.approved_sender)
    half_signed_in = row.role.needs_second_factor and not row.second_factor_done
    expired = (
        row.status is not AccountStatus.ACTIVE
        or now - row.created_at > timedelta(hours=settings.session_absolute_hours)
        or now - row.last_seen_at > _idle_limit(settings, row.role)
        or (half_signed_in and now - row.created_at > SECOND_FACTOR_WINDOW)
    )
    # Single-statement writes: each commits by itself on the reading engine (PostgreSQL),
    # or with the transaction the read began (SQLite).
    if expired:
        await end_session(connection, hashed)
        await connection.commit()
        return None
    # A page saving a draft in the background is not the person at the keyboard: it must not
    # keep a phone left signed in from timing out.
    background = request.headers.get(BACKGROUND_HEADER) == "1"
    if now - row.last_seen_at > TOUCH_INTERVAL and not background:
        await connection.execute(
            update(WebSession).where(WebSession.token_hash == hashed).values(last_seen_at=now)
        )
        await connection.commit()
    return Actor(
        user_id=row.id,
        role=row.role,
        centre_id=row.centre_id,
        display_name=row.display_name,
        email=row.email,
        session_token_hash=hashed,
        csrf_token=row.csrf_token,
        second_factor_done=row.second_factor_done,
        language=row.language,
    )


def reads_in_lookup_connection(app: web.Application, route: web.AbstractRoute) -> None:
    """Let ``route``'s handler read on the connection that named the actor (``read_session``):
    one checkout a request instead of two. For short read-only views only: the connection is
    held until the handler returns. PostgreSQL only; on SQLite it would hold the write lock."""
    app.setdefault(LOOKUP_SHARING_ROUTES, set()).add(route)
    if route.method == "GET":
        for other in route.resource or ():
            if other.method == "HEAD":
                app[LOOKUP_SHARING_ROUTES].add(other)


@asynccontextmanager
async def read_session(request: web.Request) -> AsyncIterator[AsyncSession]:
    """A read-only ORM session (READ_SESSIONS) on the request's lookup connection when the
    session middleware holds one, else on a connection of its own."""
    held = request.get(LOOKUP_CONNECTION)
    maker = request.app[READ_SESSIONS]
    async with maker(bind=held) if held is not None else maker() as session:
        yield session


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/static/") or not request.cookies.get(
        request.app[SETTINGS].session_cookie_name
    ):
        return await handler(request)
    reader = request.app[READER]
    if reader.dialect.name == "sqlite" or request.match_info.route not in request.app.get(
        LOOKUP_SHARING_ROUTES, ()
    ):
        # One short connection names the actor and answers the route's family check
        # (access_middleware uses the answer), outside any transaction on PostgreSQL. It is
        # closed before the handler runs: on SQLite every transaction holds the write lock
        # (BEGIN IMMEDIATE), and a long handler must not hold a pooled connection.
        async with reader.connect() as connection:
            await _name_actor(request, connection)
        return await handler(request)
    async with reader.connect() as connection:
        await _name_actor(request, connection)
        request[LOOKUP_CONNECTION] = connection
        try:
            return await handler(request)
        finally:
            del request[LOOKUP_CONNECTION]


async def _name_actor(request: web.Request, connection: AsyncConnection) -> None:
    try:
        await _name_actor_on(request, connection)
    except DBAPIError as exc:
        # A pooled connection that died since its last use (the pool does not ping one used
        # a moment ago, see storage.db): the error has invalidated the pool, so a second try
        # runs on a fresh connection. Only lookups and idempotent writes ran.
        if not exc.connection_invalidated:
            raise
        request.pop(ACTOR, None)
        await connection.invalidate()
        await connection.rollback()
        await _name_actor_on(request, connection)


async def _name_actor_on(request: web.Request, connection: AsyncConnection) -> None:
    request.pop(APPROVED_SENDER, None)
    actor = await load_actor(request, connection, family_to_fold(request))
    if actor is not None:
        request[ACTOR] = actor
        await check_family_early(connection, request, actor, request.get(APPROVED_SENDER))
