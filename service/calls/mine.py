"""A parent's calls: upcoming and past, each in plain words, and when "Join" goes live.

The parent may open a call's page from ``JOIN_EARLY`` before its window until the window
ends (the registry refuses a join outside it); the home page and "My calls" show the same
moment, so a "Join" button is never offered for a call that would refuse it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from service import statuses
from service.calls.registry import JOIN_EARLY, MISSED
from service.http.rules import Actor
from service.i18n import N_, _
from service.localtime import local_time
from service.services import Services
from storage.children import child_names
from storage.models import Call, CallStatus, FamilySender

PAST_LIMIT = 20
# A date format with a word of its own: the translator moves "at".
_STARTS = N_("%A %-d %B at %H:%M")


@dataclass(frozen=True)
class ParentCall:
    call_id: uuid.UUID
    family_id: uuid.UUID
    child_name: str
    starts_at: datetime
    ends_at: datetime
    when_text: str
    status: str
    status_text: str
    joinable: bool
    """The "Join" button is live now."""
    join_from: datetime
    join_from_text: str
    join_url: str
    upcoming: bool


def _parent_call(call: Call, child: str | None, now: datetime, services: Services) -> ParentCall:
    zone = services.settings.zone
    window_over = now >= call.ends_at
    open_status = call.status in (CallStatus.SCHEDULED, CallStatus.LIVE)
    joinable = open_status and not window_over and now >= call.starts_at - JOIN_EARLY
    state = statuses.call_state(
        call.status,
        joinable=joinable,
        window_over=window_over,
        took_place=call.status is CallStatus.ENDED and call.end_reason != MISSED,
    )
    return ParentCall(
        call_id=call.id,
        family_id=call.family_id,
        child_name=child or "",
        starts_at=call.starts_at,
        ends_at=call.ends_at,
        when_text=_("{starts} to {ends}").format(
            starts=local_time(call.starts_at, zone, _(_STARTS)),
            ends=local_time(call.ends_at, zone, "%H:%M"),
        ),
        status=state.value,
        status_text=statuses.CALL_WORDS[state],
        joinable=joinable,
        join_from=call.starts_at - JOIN_EARLY,
        join_from_text=local_time(call.starts_at - JOIN_EARLY, zone, "%H:%M"),
        join_url=f"/calls/{call.id}/join",
        upcoming=open_status and not window_over,
    )


async def calls_for_parent(
    services: Services, actor: Actor, *, now: datetime | None = None
) -> list[ParentCall]:
    """The parent's calls in the families they may send to: upcoming first (soonest first),
    then the most recent past ones."""
    now = now or datetime.now(UTC)
    async with services.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Call)
                .join(
                    FamilySender,
                    (FamilySender.family_id == Call.family_id)
                    & (FamilySender.user_id == actor.user_id)
                    & FamilySender.approved.is_(True),
                )
                .order_by(Call.starts_at.desc())
                .limit(200)
            )
        ).all()
        names = await child_names(session, services.keyring, (call.child_id for (call,) in rows))
    calls = [
        _parent_call(call, names.get(call.child_id) if call.child_id else None, now, services)
        for (call,) in rows
    ]
    upcoming = sorted((c for c in calls if c.upcoming), key=lambda c: c.starts_at)
    past = [c for c in calls if not c.upcoming][:PAST_LIMIT]
    return [*upcoming, *past]
