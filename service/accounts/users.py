"""Account life cycle: create (invited), set a password, enrol two-factor, reset, disable.

Every change that weakens or replaces a credential ends every session of that user."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import passwords, totp
from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.errors import Conflict, Invalid
from service.http.access import Actor
from service.http.sessions import end_all_sessions
from service.security_log import Kind, log_security_event
from service.settings import Settings
from storage.keyring import KeyRing
from storage.models import AccountStatus, RecoveryCode, Role, TokenPurpose, User

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    normal = normalise_email(email)
    if len(normal) > 320 or not _EMAIL.fullmatch(normal):
        raise Invalid("Please enter a full e-mail address, like name@example.org.", field="email")
    return normal


def _actor_id(actor: Actor | User | None) -> uuid.UUID | None:
    if actor is None:
        return None
    return actor.user_id if isinstance(actor, Actor) else actor.id


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    normal = normalise_email(email)
    if not normal or len(normal) > 320:
        return None
    return await session.scalar(select(User).where(User.email == normal))


async def create_user(
    session: AsyncSession,
    keyring: KeyRing,
    *,
    centre_id: uuid.UUID,
    email: str,
    display_name: str,
    role: Role,
    actor: Actor | User | None = None,
) -> User:
    """A new account, status invited, no password (the invite link sets it)."""
    normal = check_email(email)
    name = display_name.strip()
    if not name or len(name) > 200:
        raise Invalid("Please give a name of up to 200 characters.", field="display_name")
    if await user_by_email(session, normal) is not None:
        raise Invalid("There is already an account with that e-mail address.", field="email")
    user = User(
        id=uuid.uuid4(),
        centre_id=centre_id,
        email=normal,
        display_name=name,
        role=role,
        status=AccountStatus.INVITED,
        password_hash=None,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    await session.flush()
    await log_security_event(
        session,
        Kind.USER_CREATED,
        user_id=user.id,
        actor_id=_actor_id(actor),
        detail={"role": role.value},
    )
    return user


async def store_password_hash(
    session: AsyncSession, user_id: uuid.UUID, password_hash: str, *, activate: bool = False
) -> None:
    """Store an already computed hash (so a view can hash before taking a database lock)."""
    values: dict[str, object] = {
        "password_hash": password_hash,
        "password_changed_at": datetime.now(UTC),
    }
    await session.execute(update(User).where(User.id == user_id).values(**values))
    if activate:
        await session.execute(
            update(User)
            .where(User.id == user_id, User.status == AccountStatus.INVITED)
            .values(status=AccountStatus.ACTIVE)
        )


async def set_password(
    session: AsyncSession, settings: Settings, user: User, password: str
) -> None:
    """Check the policy, store the new hash, activate an invited account, and end every
    session of the user (the caller may start a fresh one for this browser)."""
    passwords.check_password_policy(password)
    if user.status is AccountStatus.DISABLED:
        raise Conflict("This account is disabled. Please contact the centre.")
    first = user.password_hash is None
    user.password_hash = await passwords.hash_password(settings, password)
    user.password_changed_at = datetime.now(UTC)
    if user.status is AccountStatus.INVITED:
        user.status = AccountStatus.ACTIVE
    await end_all_sessions(session, user.id)
    await log_security_event(
        session, Kind.PASSWORD_SET if first else Kind.PASSWORD_CHANGED, user_id=user.id
    )


async def enrol_totp_secret(keyring: KeyRing, user: User, secret: str | None = None) -> str:
    """Store ``secret`` (or a new one) as the user's TOTP secret, sealed; returns it.

    The enrolment page confirms a code before calling this; demo seeding calls it directly."""
    chosen = secret or totp.new_secret()
    user.totp_secret_sealed = totp.seal_secret(keyring, user.id, chosen)
    user.totp_last_step = None
    return chosen


async def disable_user(
    session: AsyncSession, user: User, actor: Actor | User | None, *, ip: str | None = None
) -> None:
    user.status = AccountStatus.DISABLED
    user.disabled_at = datetime.now(UTC)
    await end_all_sessions(session, user.id)
    await log_security_event(
        session, Kind.USER_DISABLED, user_id=user.id, actor_id=_actor_id(actor), ip=ip
    )


async def change_role(
    session: AsyncSession, user: User, role: Role, actor: Actor | User | None
) -> None:
    """A new role takes effect on a fresh sign-in: every session ends."""
    old = user.role
    user.role = role
    await end_all_sessions(session, user.id)
    await log_security_event(
        session,
        Kind.ROLE_CHANGED,
        user_id=user.id,
        actor_id=_actor_id(actor),
        detail={"from": old.value, "to": role.value},
    )


async def reset_access(
    session: AsyncSession, user: User, actor: Actor | User | None, *, ip: str | None = None
) -> str:
    """An admin's reset: password and two-factor cleared, every session ended, the account
    back to invited. Returns the raw token of a new 7-day invite link (``/invite/{token}``)."""
    if user.status is AccountStatus.DISABLED:
        raise Conflict("This account is disabled; it cannot be reset.")
    user.password_hash = None
    user.totp_secret_sealed = None
    user.totp_last_step = None
    user.status = AccountStatus.INVITED
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await end_all_sessions(session, user.id)
    raw = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
    await log_security_event(
        session, Kind.ACCESS_RESET, user_id=user.id, actor_id=_actor_id(actor), ip=ip
    )
    return raw


async def provision_demo_user(
    session: AsyncSession,
    settings: Settings,
    keyring: KeyRing,
    *,
    centre_id: uuid.UUID,
    email: str,
    display_name: str,
    role: Role,
    password: str,
    totp_secret: str | None,
) -> User:
    """A ready-to-use account for demo seeding: active, password set, TOTP enrolled with the
    given secret (so the demo instructions can print it)."""
    user = await create_user(
        session, keyring, centre_id=centre_id, email=email, display_name=display_name, role=role
    )
    await set_password(session, settings, user, password)
    if totp_secret is not None:
        await enrol_totp_secret(keyring, user, totp_secret)
    return user
