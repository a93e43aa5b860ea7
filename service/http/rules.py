"""What a route requires and who is asking: the types every capability declares its routes
with. A leaf module: nothing here reads application state, so ``service.appkeys`` can name
these types without an import circle. ``service.http.access`` enforces them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from service.errors import NotFound
from storage.db import Queryable
from storage.models import Call, GrantScope, Item, OpeningSession, Role

CENTRE_ROLES = frozenset({Role.ADMIN, Role.STAFF, Role.SUPERVISOR})
STAFF_ROLES = frozenset({Role.ADMIN, Role.STAFF})
ALL_ROLES = frozenset(Role)
SECOND_FACTOR_ROLES = frozenset(r for r in Role if r.needs_second_factor)
# Accounts whose only access to family data is what a grant names, never the family rule:
# an interpreter the calls they are booked on, a translator the families assigned to them.
GRANT_ONLY_ROLES = frozenset({Role.INTERPRETER, Role.TRANSLATOR})


@dataclass(frozen=True)
class Actor:
    """The signed-in user behind a request."""

    user_id: uuid.UUID
    role: Role
    centre_id: uuid.UUID
    display_name: str
    email: str
    session_token_hash: str
    csrf_token: str
    second_factor_done: bool
    language: str = "en"

    @property
    def needs_second_factor(self) -> bool:
        return self.role.needs_second_factor


FamilyLookup = Callable[[Queryable, web.Request], Awaitable[uuid.UUID | None]]
# Told when the family rule refuses a signed-in actor on a route that wants such refusals
# kept (the call socket: another family's parent trying it goes to the security log).
RefusalHook = Callable[[web.Request, "Actor", uuid.UUID], Awaitable[None]]
# The one thing a route concerns, as a grant names it: (kind, id), or None if unnamed.
ScopeLookup = Callable[[web.Request], tuple[GrantScope, uuid.UUID] | None]


@dataclass(frozen=True)
class Access:
    """What a route requires. ``roles=None`` means public."""

    roles: frozenset[Role] | None
    family: FamilyLookup | None = None
    # Staff who signed in with a password but not yet the second factor may only reach
    # the two-factor pages.
    before_second_factor: bool = False
    # The grant that lets a grant-only account (an interpreter) in; None: they never are.
    grant: ScopeLookup | None = None
    on_refused: RefusalHook | None = None
    # A translator assigned to the route's family may in (``TranslatorAssignment``); on a
    # route without it they never are, whatever its roles say.
    assigned: bool = False

    @property
    def public(self) -> bool:
        return self.roles is None


PUBLIC = Access(roles=None)


def signed_in(
    roles: Iterable[Role] = ALL_ROLES,
    *,
    family: FamilyLookup | None = None,
    before_second_factor: bool = False,
    grant: ScopeLookup | None = None,
    on_refused: RefusalHook | None = None,
    assigned: bool = False,
) -> Access:
    return Access(frozenset(roles), family, before_second_factor, grant, on_refused, assigned)


# --- how a route names its family ------------------------------------------------------


def path_uuid_or_none(request: web.Request, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.match_info[name])
    except (KeyError, ValueError):
        return None


def path_uuid(request: web.Request, name: str) -> uuid.UUID:
    """The id named ``name`` in the path; a malformed one is "not found" like a missing one,
    so ids cannot be probed."""
    found = path_uuid_or_none(request, name)
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class FamilyInPath:
    """The family the path names: known without a query, so the session lookup may answer
    the family rule for it in its own statement (``access.family_to_fold``)."""

    name: str

    async def __call__(self, session: Queryable, request: web.Request) -> uuid.UUID | None:
        return path_uuid_or_none(request, self.name)


def family_in_path(name: str = "family_id") -> FamilyLookup:
    return FamilyInPath(name)


def family_of(model: Any, name: str) -> FamilyLookup:
    """The family of the row of ``model`` whose id is in the path as ``name``."""

    async def lookup(session: Queryable, request: web.Request) -> uuid.UUID | None:
        key = path_uuid_or_none(request, name)
        if key is None:
            return None
        return await session.scalar(select(model.family_id).where(model.id == key))

    return lookup


def family_of_item(name: str = "item_id") -> FamilyLookup:
    return family_of(Item, name)


def family_of_call(name: str = "call_id") -> FamilyLookup:
    return family_of(Call, name)


def family_of_opening_session(name: str = "session_id") -> FamilyLookup:
    return family_of(OpeningSession, name)


def call_in_path(name: str = "call_id") -> ScopeLookup:
    """The call named in the path, as a grant names it."""

    def lookup(request: web.Request) -> tuple[GrantScope, uuid.UUID] | None:
        key = path_uuid_or_none(request, name)
        return None if key is None else (GrantScope.CALL, key)

    return lookup
