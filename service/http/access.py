"""Authorisation, in one place.

Every route is added with ``add_route`` and declares an ``Access``: who may call it, and
which family it concerns. One middleware enforces it before any handler runs; a route that
declares nothing is refused (and fails ``tests/accounts/test_route_matrix.py``). Whether a
user may touch a family is decided only by ``may_access_family``.

Some accounts see nothing by role: an interpreter reaches only what a ``Grant`` names (the
calls they are booked on), a translator only the families an admin assigned them to
(``TranslatorAssignment``). For them the family rule never applies; a route that lets them in
declares which grant it needs (``grant=`` for a call, ``assigned=True`` for the route's
family), and ``holds_grant`` or ``is_assigned`` decides.
"""

from __future__ import annotations

# The route types live in service.http.rules (a leaf); they are re-exported here because
# every capability declares its routes with them beside add_route.
__all__ = [
    "ALL_ROLES",
    "CENTRE_ROLES",
    "GRANT_ONLY_ROLES",
    "PUBLIC",
    "SECOND_FACTOR_ROLES",
    "STAFF_ROLES",
    "Access",
    "Actor",
    "FamilyLookup",
    "RefusalHook",
    "ScopeLookup",
    "add_route",
    "call_in_path",
    "current_actor",
    "current_family",
    "declare",
    "family_in_path",
    "family_of",
    "family_of_call",
    "family_of_item",
    "family_of_opening_session",
    "is_assigned",
    "may_access_family",
    "path_uuid",
    "signed_in",
]

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import bindparam, select

from service.appkeys import ACCESS_RULES, ACTOR, FAMILY_ID, SESSIONMAKER
from service.errors import Forbidden, NotFound, NotSignedIn
from service.http.rules import (
    ALL_ROLES,
    CENTRE_ROLES,
    GRANT_ONLY_ROLES,
    PUBLIC,
    SECOND_FACTOR_ROLES,
    STAFF_ROLES,
    Access,
    Actor,
    FamilyInPath,
    FamilyLookup,
    RefusalHook,
    ScopeLookup,
    call_in_path,
    family_in_path,
    family_of,
    family_of_call,
    family_of_item,
    family_of_opening_session,
    path_uuid,
    path_uuid_or_none,
    signed_in,
)
from storage.db import Queryable
from storage.models import (
    Family,
    FamilySender,
    Grant,
    GrantScope,
    ReferrerAccess,
    Role,
    TranslatorAssignment,
)

log = logging.getLogger(__name__)

# Built once: one of these runs on every request that names a family.
_FAMILY_CENTRE = select(Family.centre_id).where(Family.id == bindparam("family_id"))
_APPROVED_SENDER = select(FamilySender.id).where(
    FamilySender.family_id == bindparam("family_id"),
    FamilySender.user_id == bindparam("user_id"),
    FamilySender.approved.is_(True),
)
_REFERRER_GRANT = select(ReferrerAccess.id).where(
    ReferrerAccess.family_id == bindparam("family_id"),
    ReferrerAccess.user_id == bindparam("user_id"),
    ReferrerAccess.expires_at > bindparam("now"),
)


async def may_access_family(session: Queryable, actor: Actor, family_id: uuid.UUID) -> bool:
    """The one rule: centre people see their centre's families; parents the families they
    are approved senders for; referrers the families granted to them, until it expires."""
    if actor.role in CENTRE_ROLES:
        centre = await session.scalar(_FAMILY_CENTRE, {"family_id": family_id})
        return centre is not None and centre == actor.centre_id
    if actor.role is Role.PARENT:
        found = await session.scalar(
            _APPROVED_SENDER, {"family_id": family_id, "user_id": actor.user_id}
        )
        return found is not None
    if actor.role is Role.REFERRER:
        found = await session.scalar(
            _REFERRER_GRANT,
            {"family_id": family_id, "user_id": actor.user_id, "now": datetime.now(UTC)},
        )
        return found is not None
    return False


_GRANT = select(Grant.id).where(
    Grant.user_id == bindparam("user_id"),
    Grant.scope_kind == bindparam("scope_kind"),
    Grant.scope_id == bindparam("scope_id"),
)


async def holds_grant(
    session: Queryable, actor: Actor, scope: tuple[GrantScope, uuid.UUID]
) -> bool:
    """The grant rule: a grant-only account reaches exactly the things granted to it."""
    kind, key = scope
    found = await session.scalar(
        _GRANT, {"user_id": actor.user_id, "scope_kind": kind, "scope_id": key}
    )
    return found is not None


_ASSIGNED = select(TranslatorAssignment.id).where(
    TranslatorAssignment.user_id == bindparam("user_id"),
    TranslatorAssignment.family_id == bindparam("family_id"),
)


async def is_assigned(session: Queryable, actor: Actor, family_id: uuid.UUID) -> bool:
    """The translator rule: a translator reaches the families assigned to them, read on
    every request, so removing the assignment refuses the very next one."""
    if actor.role is not Role.TRANSLATOR:
        return False
    found = await session.scalar(_ASSIGNED, {"user_id": actor.user_id, "family_id": family_id})
    return found is not None


async def _granted_family(request: web.Request, actor: Actor, access: Access) -> uuid.UUID:
    """For a grant-only account: the family of a route it holds a grant for, else NotFound
    (the same answer as the family rule's, so ids are not to be probed)."""
    if access.family is None:
        raise NotFound()
    if actor.role is Role.TRANSLATOR:
        if not access.assigned:
            raise NotFound()
        async with request.app[SESSIONMAKER]() as session:
            family_id = await access.family(session, request)
            if family_id is None or not await is_assigned(session, actor, family_id):
                raise NotFound()
        return family_id
    scope = access.grant(request) if access.grant is not None else None
    if scope is None:
        raise NotFound()
    async with request.app[SESSIONMAKER]() as session:
        family_id = await access.family(session, request)
        if family_id is None or not await holds_grant(session, actor, scope):
            raise NotFound()
    return family_id


# --- declaring and enforcing --------------------------------------------------------------


def add_route(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    access: Access,
    *,
    name: str | None = None,
) -> web.AbstractRoute:
    route = app.router.add_route(method, path, handler, name=name)
    app[ACCESS_RULES][route] = access
    if method == "GET":
        # aiohttp adds HEAD beside GET; it needs the same rule.
        for other in route.resource or ():
            if other.method == "HEAD":
                app[ACCESS_RULES][other] = access
    return route


def declare(app: web.Application, resource: web.AbstractResource, access: Access) -> None:
    """For routes made by aiohttp helpers (static files)."""
    for route in resource:
        app[ACCESS_RULES][route] = access


def current_actor(request: web.Request) -> Actor:
    actor: Actor | None = request.get(ACTOR)
    if actor is None:
        raise NotSignedIn("Please sign in first.")
    return actor


def current_family(request: web.Request) -> uuid.UUID:
    family_id: uuid.UUID | None = request.get(FAMILY_ID)
    if family_id is None:
        raise RuntimeError("this route declared no family")
    return family_id


@dataclass(frozen=True)
class _FamilyCheck:
    """The family check of one request, run early in the session middleware's database
    session (see ``check_family_early``)."""

    actor: Actor
    family_id: uuid.UUID | None
    allowed: bool


# Per request only: never kept beyond the request it was made for.
_FAMILY_CHECK = web.RequestKey("family_check", _FamilyCheck)


def _declared_access(request: web.Request) -> Access | None:
    if request.match_info.http_exception is not None:
        return None
    return request.app[ACCESS_RULES].get(request.match_info.route)


def _blocked_by_second_factor(actor: Actor, access: Access) -> bool:
    return (
        actor.needs_second_factor
        and not actor.second_factor_done
        and not access.before_second_factor
    )


async def _check_family(
    session: Queryable, request: web.Request, actor: Actor, lookup: FamilyLookup
) -> _FamilyCheck:
    family_id = await lookup(session, request)
    allowed = family_id is not None and await may_access_family(session, actor, family_id)
    return _FamilyCheck(actor, family_id, allowed)


def family_to_fold(request: web.Request) -> uuid.UUID | None:
    """The family whose parent rule (an approved sender) the session lookup can answer in its
    own statement: the route's family when its path names it and parents may use the route.
    The answer is read with the session, on every request, like any other family check."""
    access = _declared_access(request)
    if (
        access is None
        or access.roles is None
        or Role.PARENT not in access.roles
        or not isinstance(access.family, FamilyInPath)
    ):
        return None
    return path_uuid_or_none(request, access.family.name)


async def check_family_early(
    session: Queryable, request: web.Request, actor: Actor, approved_sender: bool | None = None
) -> None:
    """Run the route's family check in ``session``: the session middleware calls this in the
    database session that found the actor, so a request opens one database session less.
    ``approved_sender``: the parent rule for ``family_to_fold(request)``, when the session
    lookup answered it (None: it did not).

    Only the answer is kept, on this request; ``access_middleware`` still makes every decision
    in its own order, and runs the check itself when no answer is there. Routes whose
    refusal comes earlier (public, other roles, second factor missing) are not checked."""
    access = _declared_access(request)
    if (
        access is None
        or access.public
        or access.family is None
        or access.roles is None
        or actor.role not in access.roles
        or actor.role in GRANT_ONLY_ROLES
        or _blocked_by_second_factor(actor, access)
    ):
        return
    if actor.role is Role.PARENT and approved_sender is not None:
        family_id = family_to_fold(request)
        request[_FAMILY_CHECK] = _FamilyCheck(
            actor, family_id, family_id is not None and approved_sender
        )
        return
    request[_FAMILY_CHECK] = await _check_family(session, request, actor, access.family)


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception  # 404/405 before anyone's data is touched
    route = request.match_info.route
    access = request.app[ACCESS_RULES].get(route)
    if access is None:
        # A programming error: the route's details are for the log, not for the person.
        log.error("route %s %s declares no access rule", request.method, route.resource)
        raise Forbidden("You do not have access to that page.")
    if access.public:
        return await handler(request)
    actor = request.get(ACTOR)
    if actor is None:
        raise NotSignedIn("Please sign in first.")
    if _blocked_by_second_factor(actor, access):
        if request.method == "GET" and not request.path.startswith("/api/"):
            raise web.HTTPSeeOther("/two-factor")
        raise Forbidden("Finish signing in with your authenticator code first.")
    if access.roles is None or actor.role not in access.roles:
        raise Forbidden("You do not have access to that page.")
    if access.family is not None and actor.role in GRANT_ONLY_ROLES:
        request[FAMILY_ID] = await _granted_family(request, actor, access)
    elif access.family is not None:
        checked = request.get(_FAMILY_CHECK)
        if checked is None or checked.actor is not actor:
            async with request.app[SESSIONMAKER]() as session:
                checked = await _check_family(session, request, actor, access.family)
        if not checked.allowed or checked.family_id is None:
            if access.on_refused is not None and checked.family_id is not None:
                await access.on_refused(request, actor, checked.family_id)
            # Same answer whether the family exists or not: ids are not to be probed.
            raise NotFound()
        request[FAMILY_ID] = checked.family_id
    return await handler(request)


def setup(app: web.Application) -> None:
    app[ACCESS_RULES] = {}
