"""Interpreters on calls: booked by the centre, scoped to the calls they are booked on.

An interpreter has an account like staff (invited by e-mail, password and TOTP), with the role
``interpreter``, which on its own reaches nothing of the centre. What they may open is a
``Grant`` per call, written here when staff book them (``call_interpreter_booked`` in the
family record) and removed when staff take them off (``call_interpreter_removed``). The access
layer lets an interpreter into ``/calls/{id}/join`` and its socket only with such a grant
(``service.http.access.holds_grant``); in the call they see and hear everyone and have no
controls (``service.calls.media``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import INVITE_LIFETIME, create_user, issue_token, send_invite, user_by_email
from service.errors import Conflict, Invalid, NotFound
from service.http.access import Actor
from service.services import Services
from storage.models import (
    AccountStatus,
    Call,
    CallStatus,
    Grant,
    GrantScope,
    Role,
    TokenPurpose,
    User,
)
from storage.record import RecordedWork

OPEN = (CallStatus.SCHEDULED, CallStatus.LIVE)


@dataclass(frozen=True)
class Booked:
    interpreter: User
    invite_token: str | None  # set when a new account was invited: e-mail it after commit


async def _open_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None:
        raise NotFound("We could not find that call.")
    if call.status not in OPEN:
        raise Conflict("This call is over, so nobody can be booked on it.", code="call_ended")
    return call


async def book_interpreter(
    work: RecordedWork,
    services: Services,
    actor: Actor,
    call_id: uuid.UUID,
    email: str,
    display_name: str,
) -> Booked:
    """Book an interpreter on a call by e-mail: an existing interpreter of this centre is
    reused; an unknown address gets a new, invited interpreter account. An address that
    belongs to anyone else (staff, a parent) is refused, never turned into an interpreter."""
    session = work.session
    call = await _open_call(session, call_id)
    user = await user_by_email(session, email)
    token: str | None = None
    if user is None:
        if not display_name.strip():
            raise Invalid(
                "Please give the interpreter's name: this e-mail address has no account yet, "
                "so they will be invited.",
                field="interpreter_name",
            )
        try:
            user = await create_user(
                session,
                services.keyring,
                centre_id=actor.centre_id,
                email=email,
                display_name=display_name,
                role=Role.INTERPRETER,
                actor=actor,
            )
        except Invalid as exc:
            field = "interpreter_email" if exc.field == "email" else "interpreter_name"
            raise Invalid(exc.message, field=field) from None
        token = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
    elif user.role is not Role.INTERPRETER or user.centre_id != actor.centre_id:
        raise Invalid(
            "That e-mail address belongs to an account that is not one of this centre's "
            "interpreters. Please use the interpreter's own address.",
            field="interpreter_email",
        )
    elif user.status is AccountStatus.DISABLED:
        raise Invalid(
            "That interpreter's account is disabled. Please ask an admin.",
            field="interpreter_email",
        )
    elif user.status is AccountStatus.INVITED:
        # Not set up yet: a fresh invite link, like a referrer granted again.
        token = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
    already = await session.scalar(
        select(Grant.id).where(
            Grant.user_id == user.id,
            Grant.scope_kind == GrantScope.CALL,
            Grant.scope_id == call.id,
        )
    )
    if already is None:
        session.add(
            Grant(
                user_id=user.id,
                scope_kind=GrantScope.CALL,
                scope_id=call.id,
                granted_by=actor.user_id,
                granted_at=datetime.now(UTC),
            )
        )
        await session.flush()
        await work.record(
            call.family_id,
            "call_interpreter_booked",
            {"call_id": call.id, "interpreter_id": user.id},
        )
    return Booked(user, token)


async def send_booking_invite(services: Services, booked: Booked) -> None:
    """The invite e-mail of a newly made interpreter account (after the commit)."""
    if booked.invite_token is not None:
        await send_invite(services, booked.interpreter.email, booked.invite_token)


async def remove_interpreter(
    work: RecordedWork, call_id: uuid.UUID, interpreter_id: uuid.UUID
) -> None:
    """Take an interpreter off a call: their grant goes, so the call no longer opens for them."""
    session = work.session
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None:
        raise NotFound("We could not find that call.")
    removed = await session.execute(
        delete(Grant)
        .where(
            Grant.user_id == interpreter_id,
            Grant.scope_kind == GrantScope.CALL,
            Grant.scope_id == call.id,
        )
        .returning(Grant.id)
    )
    if removed.first() is None:
        raise NotFound("That interpreter is not booked on this call.")
    await work.record(
        call.family_id,
        "call_interpreter_removed",
        {"call_id": call.id, "interpreter_id": interpreter_id},
    )


async def interpreters_of(session: AsyncSession, call_id: uuid.UUID) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(Grant, Grant.user_id == User.id)
        .where(Grant.scope_kind == GrantScope.CALL, Grant.scope_id == call_id)
        .order_by(User.display_name)
    )
    return list(rows)


async def calls_of_interpreter(session: AsyncSession, actor: Actor) -> list[Call]:
    """The open calls this interpreter is booked on: what their home page lists."""
    rows = await session.scalars(
        select(Call)
        .join(Grant, (Grant.scope_id == Call.id) & (Grant.scope_kind == GrantScope.CALL))
        .where(Grant.user_id == actor.user_id, Call.status.in_(OPEN))
        .order_by(Call.starts_at)
    )
    return list(rows)
