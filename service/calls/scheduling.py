"""Scheduling video calls: book, change, cancel, and list what is coming up.

Staff and admins book a call for a family whose video channel is allowed and whose case is
active: the child, the time window, and a supervisor of the centre. Every change is a record
event (``call_scheduled``, ``call_changed``, ``call_cancelled``) in the same transaction, and the
family's approved parents get an e-mail that says only that a call was booked, changed or
cancelled and when: never the child's name or anything about where anyone is.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final, Literal

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Invalid, NotFound, Unavailable
from service.http.access import CENTRE_ROLES, Actor
from service.i18n import N_, _
from service.ics import CalendarEvent
from service.notify import KINDS, Mailer, UnsafeEmail
from service.settings import Settings
from storage.children import ChildFacts, child_names, open_children
from storage.keyring import KeyRing
from storage.models import (
    AccountStatus,
    Call,
    CallReminder,
    CallStatus,
    Channel,
    Child,
    Family,
    FamilySender,
    FamilyStatus,
    Role,
    User,
)
from storage.record import RecordedWork

log = logging.getLogger(__name__)

MIN_DURATION: Final = timedelta(minutes=10)
MAX_DURATION: Final = timedelta(hours=4)
# A booking a few minutes in the past (a slow form) is still a booking for "now".
PAST_TOLERANCE: Final = timedelta(minutes=5)
CANCEL_REASONS: Final = {
    "parent_unavailable": N_("The parent cannot attend"),
    "child_unavailable": N_("The child cannot attend"),
    "centre_unavailable": N_("The centre cannot host it"),
    "booked_in_error": N_("Booked in error"),
    "contact_suspended": N_("Contact is suspended"),
}
OPEN_STATUSES: Final = (CallStatus.SCHEDULED, CallStatus.LIVE)
CallEmail = Literal["call_scheduled", "call_changed", "call_cancelled", "call_reminder"]
# The reminder goes this long before the call; a booking (or a move) made closer to the call
# than this is its own reminder, so the parents do not get two e-mails in a row.
REMINDER_LEAD: Final = timedelta(hours=24)


@dataclass(frozen=True)
class CallPlan:
    """What staff choose when booking or changing a call. Times are aware datetimes."""

    child_id: uuid.UUID
    supervisor_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Notified:
    sent: int
    failed: int


@dataclass(frozen=True)
class UpcomingCall:
    id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str | None  # centre people only
    child_name: str | None  # centre people only
    supervisor_name: str | None  # centre people only
    starts_at: datetime
    ends_at: datetime
    status: CallStatus
    version: int
    child_id: uuid.UUID | None = None  # centre people only
    supervisor_id: uuid.UUID | None = None  # centre people only


def parse_time(value: str | None, field: str, zone: tzinfo) -> datetime:
    """A ``datetime-local`` form value (``2026-05-01T14:30``), read in the centre's time zone
    and returned in UTC."""
    if not value:
        raise Invalid("Please give a date and time.", field=field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("Please give a date and time like 2026-05-01T14:30.", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def parse_uuid(value: str | None, field: str, missing: str) -> uuid.UUID:
    """``missing``: the whole sentence asking for a choice, marked with ``N_``."""
    try:
        return uuid.UUID(value or "")
    except ValueError:
        raise Invalid(_(missing), field=field) from None


async def _family_for_calls(
    session: AsyncSession, family_id: uuid.UUID, centre_id: uuid.UUID
) -> Family:
    family = await session.get(Family, family_id)
    if family is None or family.centre_id != centre_id:
        raise NotFound("We could not find that family.")
    if family.status is not FamilyStatus.ACTIVE:
        raise Invalid("Calls can only be booked for an active case.", field="family_id")
    if Channel.VIDEO.value not in (family.channels or []):
        raise Invalid("Video calls are not allowed for this family.", field="family_id")
    return family


async def _check_plan(
    session: AsyncSession, family: Family, plan: CallPlan, *, now: datetime
) -> None:
    child = await session.get(Child, plan.child_id)
    if child is None or child.family_id != family.id:
        raise Invalid("Please choose a child of this family.", field="child_id")
    supervisor = await session.get(User, plan.supervisor_id)
    if (
        supervisor is None
        or supervisor.centre_id != family.centre_id
        or supervisor.role is not Role.SUPERVISOR
        or supervisor.status is not AccountStatus.ACTIVE
    ):
        raise Invalid("Please choose one of the centre's supervisors.", field="supervisor_id")
    if plan.starts_at.tzinfo is None or plan.ends_at.tzinfo is None:
        raise Invalid("Times must carry a time zone.", field="starts_at")
    if plan.starts_at < now - PAST_TOLERANCE:
        raise Invalid("The call cannot start in the past.", field="starts_at")
    duration = plan.ends_at - plan.starts_at
    if duration < MIN_DURATION:
        raise Invalid("A call lasts at least 10 minutes and ends after it starts.", field="ends_at")
    if duration > MAX_DURATION:
        raise Invalid("A call lasts at most 4 hours.", field="ends_at")


def _payload(call: Call) -> dict[str, object]:
    return {
        "call_id": call.id,
        "child_id": call.child_id,
        "supervisor_id": call.supervisor_id,
        "starts_at": call.starts_at,
        "ends_at": call.ends_at,
    }


async def schedule_call(
    work: RecordedWork, actor: Actor, family_id: uuid.UUID, plan: CallPlan
) -> Call:
    """Book a call (``call_scheduled``)."""
    session = work.session
    family = await _family_for_calls(session, family_id, actor.centre_id)
    await _check_plan(session, family, plan, now=datetime.now(UTC))
    call = Call(
        family_id=family.id,
        child_id=plan.child_id,
        supervisor_id=plan.supervisor_id,
        scheduled_by=actor.user_id,
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        status=CallStatus.SCHEDULED,
    )
    session.add(call)
    await session.flush()
    await _booking_may_be_the_reminder(session, call)
    await work.record(family.id, "call_scheduled", _payload(call))
    return call


async def _booking_may_be_the_reminder(session: AsyncSession, call: Call) -> None:
    now = datetime.now(UTC)
    if call.starts_at - REMINDER_LEAD > now:
        return
    if await session.get(CallReminder, (call.id, call.starts_at)) is None:
        session.add(CallReminder(call_id=call.id, starts_at=call.starts_at, sent_at=now))


async def _open_call(session: AsyncSession, call_id: uuid.UUID, version: int | None) -> Call:
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None:
        raise NotFound("We could not find that call.")
    if call.status is not CallStatus.SCHEDULED:
        raise Conflict("Only a call that has not started can be changed or cancelled.")
    if version is not None and call.version != version:
        raise Conflict("Someone else changed this call meanwhile. Please reload and try again.")
    return call


async def change_call(
    work: RecordedWork, actor: Actor, call_id: uuid.UUID, plan: CallPlan, *, version: int | None
) -> Call:
    """Change a booked call's child, supervisor or window (``call_changed``)."""
    session = work.session
    call = await _open_call(session, call_id, version)
    family = await _family_for_calls(session, call.family_id, actor.centre_id)
    await _check_plan(session, family, plan, now=datetime.now(UTC))
    call.child_id = plan.child_id
    call.supervisor_id = plan.supervisor_id
    call.starts_at = plan.starts_at
    call.ends_at = plan.ends_at
    await session.flush()
    await _booking_may_be_the_reminder(session, call)
    await work.record(call.family_id, "call_changed", _payload(call))
    return call


async def cancel_call(
    work: RecordedWork, call_id: uuid.UUID, reason: str, *, version: int | None
) -> Call:
    """Cancel a booked call (``call_cancelled``) with a reason from ``CANCEL_REASONS``."""
    if reason not in CANCEL_REASONS:
        raise Invalid("Please choose why the call is cancelled.", field="reason")
    call = await _open_call(work.session, call_id, version)
    call.status = CallStatus.CANCELLED
    call.end_reason = reason
    await work.session.flush()
    await work.record(call.family_id, "call_cancelled", {"call_id": call.id, "reason": reason})
    return call


async def notify_parents(
    session: AsyncSession,
    mailer: Mailer,
    settings: Settings,
    call: Call,
    what: CallEmail,
) -> Notified:
    """E-mail the family's approved, active parents that a call was booked, changed or
    cancelled, or that it is tomorrow.

    The e-mail says when, and links to the call page (for a cancelled call, the list of calls,
    behind sign-in); its calendar file holds the window, the centre's name and the join link;
    nothing else (``service.notify`` refuses any other content). Returns how many were sent
    and how many could not be; a mail outage is logged, not raised, because the change itself
    stands.
    """
    kind = KINDS[what]
    page = "/calls" if what == "call_cancelled" else f"/calls/{call.id}/join"
    calendar = CalendarEvent(
        call_id=call.id,
        starts_at=call.starts_at,
        ends_at=call.ends_at,
        link=f"{settings.public_url}/calls/{call.id}/join",
        sequence=call.version,
        cancelled=what == "call_cancelled",
    )
    # With each address its language: the mailer would otherwise look it up in a session of
    # its own while this one is open (on SQLite, a second writer waiting on the first).
    recipients = (
        await session.execute(
            select(User.email, User.language)
            .join(FamilySender, FamilySender.user_id == User.id)
            .where(
                FamilySender.family_id == call.family_id,
                FamilySender.approved.is_(True),
                User.status == AccountStatus.ACTIVE,
                User.role == Role.PARENT,
            )
        )
    ).all()
    sent = failed = 0
    for email, language in recipients:
        try:
            await mailer.send(
                to=email,
                language=language,
                subject=kind.subject,
                template=f"email/{kind.name}.txt",
                context={
                    "link": f"{settings.public_url}{page}",
                    "starts_at": call.starts_at,
                },
                calendar=calendar,
            )
            sent += 1
        except (Unavailable, UnsafeEmail):
            failed += 1
            log.warning("call e-mail not sent", extra={"call_id": str(call.id)}, exc_info=True)
    return Notified(sent, failed)


def _calls_query() -> Select[Call, str, str]:
    return (
        select(Call, Family.case_reference, User.display_name)
        .join(Family, Family.id == Call.family_id)
        .join(User, User.id == Call.supervisor_id)
    )


def _view(row: Row[Call, str, str], names: dict[uuid.UUID, str], centre: bool) -> UpcomingCall:
    call, case, supervisor = row
    child = names.get(call.child_id) if call.child_id else None
    return UpcomingCall(
        id=call.id,
        family_id=call.family_id,
        case_reference=case if centre else None,
        child_name=child if centre else None,
        supervisor_name=supervisor if centre else None,
        starts_at=call.starts_at,
        ends_at=call.ends_at,
        status=call.status,
        version=call.version,
        child_id=call.child_id if centre else None,
        supervisor_id=call.supervisor_id if centre else None,
    )


async def upcoming_calls(
    session: AsyncSession, keyring: KeyRing, actor: Actor, *, now: datetime | None = None
) -> list[UpcomingCall]:
    """Calls not yet over that ``actor`` may see: the centre's, or the parent's families'."""
    now = now or datetime.now(UTC)
    query = (
        _calls_query()
        .where(Call.status.in_(OPEN_STATUSES), Call.ends_at > now)
        .order_by(Call.starts_at)
        .limit(200)
    )
    centre = actor.role in CENTRE_ROLES
    if centre:
        query = query.where(Family.centre_id == actor.centre_id)
    elif actor.role is Role.PARENT:
        query = query.join(
            FamilySender,
            (FamilySender.family_id == Call.family_id)
            & (FamilySender.user_id == actor.user_id)
            & FamilySender.approved.is_(True),
        )
    else:
        return []
    rows = (await session.execute(query)).all()
    names = await child_names(session, keyring, (row[0].child_id for row in rows))
    return [_view(row, names, centre) for row in rows]


async def read_call(
    session: AsyncSession, keyring: KeyRing, actor: Actor, call_id: uuid.UUID
) -> UpcomingCall:
    """One call of the centre, whatever its state. The route's family rule has already
    decided that ``actor`` may see it; the centre is checked again so that a caller who
    skipped that rule still gets nothing."""
    row = (
        await session.execute(
            _calls_query().where(Call.id == call_id, Family.centre_id == actor.centre_id)
        )
    ).first()
    if row is None or actor.role not in CENTRE_ROLES:
        raise NotFound("We could not find that call.")
    names = await child_names(session, keyring, [row[0].child_id])
    return _view(row, names, centre=True)


async def bookable_families(session: AsyncSession, centre_id: uuid.UUID) -> Sequence[Family]:
    """Active families of the centre whose video channel is allowed."""
    families = (
        await session.scalars(
            select(Family)
            .where(Family.centre_id == centre_id, Family.status == FamilyStatus.ACTIVE)
            .order_by(Family.case_reference)
        )
    ).all()
    return [f for f in families if Channel.VIDEO.value in (f.channels or [])]


async def children_of(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID
) -> list[ChildFacts]:
    found = await open_children(session, keyring, family_ids=[family_id])
    return sorted(found, key=lambda c: c.name)


async def supervisors_of(session: AsyncSession, centre_id: uuid.UUID) -> Sequence[User]:
    return (
        await session.scalars(
            select(User)
            .where(
                User.centre_id == centre_id,
                User.role == Role.SUPERVISOR,
                User.status == AccountStatus.ACTIVE,
            )
            .order_by(User.display_name)
        )
    ).all()
