"""Calls in the JSON API: schedule, change, cancel, list and read.

Each handler makes the same calls as the booking pages (``service.calls.views``): one
function of ``service.calls.scheduling`` in a recorded transaction, then the parents'
e-mail. The routes themselves, with their access rules, are declared in ``routes.ROUTES``
beside every other API route; this module imports nothing of the API, so it stays a leaf.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiohttp import web

from service.calls import scheduling
from service.calls.scheduling import CallEmail, CallPlan, UpcomingCall
from service.errors import NotFound
from service.http.access import (
    CENTRE_ROLES,
    STAFF_ROLES,
    Actor,
    current_family,
    family_in_path,
    family_of_call,
    signed_in,
)
from service.schema import about, number
from service.services import Services
from storage.models import Call

# The pages' rules: staff and admins book; everyone of the centre may look.
BOOK = signed_in(STAFF_ROLES, family=family_in_path("family_id"))
CHANGE = signed_in(STAFF_ROLES, family=family_of_call("call_id"))
READ_ONE = signed_in(CENTRE_ROLES, family=family_of_call("call_id"))
READ_ALL = signed_in(CENTRE_ROLES)

# What every call operation answers: the view the calls page shows, with the ids a client
# needs to change the call.
CallView = UpcomingCall

# The reasons the cancel form offers, as an enumeration the OpenAPI document can list.
# (mypy cannot follow an enumeration built from a mapping, hence the ignore.)
CancelReason = StrEnum("CancelReason", {key: key for key in scheduling.CANCEL_REASONS})  # type: ignore[misc]


@dataclass(frozen=True)
class CallInput:
    """A call to book: which child, which supervisor, and the window. Times carry their
    zone (``2026-05-01T14:00Z`` or ``2026-05-01T15:00+01:00``)."""

    child_id: uuid.UUID = field(metadata=about("A child of the family"))
    supervisor_id: uuid.UUID = field(metadata=about("One of the centre's supervisors"))
    starts_at: datetime = field(metadata=about("When the call starts"))
    ends_at: datetime = field(metadata=about("When it ends: 10 minutes to 4 hours later"))

    def plan(self) -> CallPlan:
        return CallPlan(self.child_id, self.supervisor_id, self.starts_at, self.ends_at)


@dataclass(frozen=True)
class CallChangeInput:
    """The call's new child, supervisor and window, and the version last read: a change
    made meanwhile by someone else is refused (409) rather than overwritten."""

    child_id: uuid.UUID = field(metadata=about("A child of the family"))
    supervisor_id: uuid.UUID = field(metadata=about("One of the centre's supervisors"))
    starts_at: datetime = field(metadata=about("When the call starts"))
    ends_at: datetime = field(metadata=about("When it ends: 10 minutes to 4 hours later"))
    version: int = field(metadata=number(1, 2**31 - 1, "The call's version when you read it"))

    def plan(self) -> CallPlan:
        return CallPlan(self.child_id, self.supervisor_id, self.starts_at, self.ends_at)


@dataclass(frozen=True)
class CallCancelInput:
    """Why the call is cancelled, and the version last read. The parents are told only
    that it is cancelled, never why."""

    reason: CancelReason = field(metadata=about("Why the call is cancelled"))
    version: int = field(metadata=number(1, 2**31 - 1, "The call's version when you read it"))


def _call_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["call_id"])
    except ValueError:  # the family rule refuses it first; kept for a route without one
        raise NotFound("We could not find that call.") from None


async def _tell_parents_and_read(
    s: Services, a: Actor, call: Call, what: CallEmail
) -> UpcomingCall:
    async with s.sessionmaker() as session:
        await scheduling.notify_parents(session, s.mailer, s.settings, call, what)
        return await scheduling.read_call(session, s.keyring, a, call.id)


async def list_calls(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    async with s.sessionmaker() as session:
        return await scheduling.upcoming_calls(session, s.keyring, a)


async def get_call(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    async with s.sessionmaker() as session:
        return await scheduling.read_call(session, s.keyring, a, _call_id(r))


async def schedule_call(s: Services, a: Actor, r: web.Request, b: CallInput) -> Any:
    async with s.transaction(a) as work:
        call = await scheduling.schedule_call(work, a, current_family(r), b.plan())
    return await _tell_parents_and_read(s, a, call, "call_scheduled")


async def change_call(s: Services, a: Actor, r: web.Request, b: CallChangeInput) -> Any:
    async with s.transaction(a) as work:
        call = await scheduling.change_call(work, a, _call_id(r), b.plan(), version=b.version)
    return await _tell_parents_and_read(s, a, call, "call_changed")


async def cancel_call(s: Services, a: Actor, r: web.Request, b: CallCancelInput) -> Any:
    async with s.transaction(a) as work:
        call = await scheduling.cancel_call(
            work, _call_id(r), str(b.reason.value), version=b.version
        )
    return await _tell_parents_and_read(s, a, call, "call_cancelled")
