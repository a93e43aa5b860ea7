"""Centre staff accounts: admins, staff, supervisors and translators. Created invited; the
invite e-mail leads to setting a password and enrolling two-factor (service.accounts). A
translator's account reaches nothing until an admin assigns them a family
(``service.centre.translators``)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import INVITE_LIFETIME, create_user, disable_user, issue_token, send_invite
from service.errors import Conflict, NotFound
from service.http.access import Actor
from service.schema import text
from service.services import Services
from storage.models import AccountStatus, Role, TokenPurpose, User


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    TRANSLATOR = "translator"


# The accounts the people page lists and may disable.
PEOPLE_ROLES = (Role.ADMIN, Role.STAFF, Role.SUPERVISOR, Role.TRANSLATOR)


@dataclass(frozen=True)
class StaffInput:
    """A new centre account: an admin, a member of staff, a supervisor or a translator."""

    email: str = field(metadata=text(3, 320, "E-mail address", email=True))
    display_name: str = field(metadata=text(1, 200, "Full name"))
    role: StaffRole = field(metadata={"description": "What they do at the centre"})


@dataclass(frozen=True)
class PersonView:
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    status: AccountStatus
    created_at: datetime
    disabled_at: datetime | None


def person_view(user: User) -> PersonView:
    return PersonView(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        status=user.status,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
    )


async def list_staff(services: Services, actor: Actor) -> list[PersonView]:
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(User)
            .where(
                User.centre_id == actor.centre_id,
                User.role.in_(PEOPLE_ROLES),
            )
            .order_by(User.status == AccountStatus.DISABLED, User.display_name)
        )
        return [person_view(u) for u in rows]


async def create_staff(services: Services, actor: Actor, data: StaffInput) -> PersonView:
    """Create an invited account and e-mail its invite link (set password, enrol 2FA)."""
    async with services.sessionmaker() as session, session.begin():
        user = await create_user(
            session,
            services.keyring,
            centre_id=actor.centre_id,
            email=data.email,
            display_name=data.display_name,
            role=Role(data.role.value),
            actor=actor,
        )
        token = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
        view = person_view(user)
    await send_invite(services, view.email, token)
    return view


async def _centre_staff(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    user = await session.scalar(
        select(User).where(
            User.id == user_id,
            User.centre_id == actor.centre_id,
            User.role.in_(PEOPLE_ROLES),
        )
    )
    if user is None:
        raise NotFound("We could not find that person.")
    return user


async def disable_staff(services: Services, actor: Actor, user_id: uuid.UUID) -> PersonView:
    """Disable an account: it can no longer sign in, and every session of it ends now."""
    if user_id == actor.user_id:
        raise Conflict("You cannot disable your own account. Ask another admin.")
    async with services.sessionmaker() as session, session.begin():
        user = await _centre_staff(session, actor, user_id)
        if user.status is not AccountStatus.DISABLED:
            await disable_user(session, user, actor)
        return person_view(user)
