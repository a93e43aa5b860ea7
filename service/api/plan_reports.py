"""Issue 20 in the JSON API: the contact plan, supervised contact reports and safeguarding
concerns, through the same domain functions and access rules as their pages
(``service.plan``, ``service.reports``, ``service.concerns``). The routes are declared in
``routes.ROUTES``; this module imports nothing of the API, so it stays a leaf.

The domain's views carry dates, mappings and tuples the API's schema does not describe, so
each answer here is a small view of plain fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from service.concerns import concerns
from service.concerns.concerns import ConcernSource, SourceKind
from service.http.access import (
    CENTRE_ROLES,
    STAFF_ROLES,
    Actor,
    current_family,
    family_in_path,
    family_of_call,
    family_of_item,
    family_of_opening_session,
    path_uuid,
    signed_in,
)
from service.plan import plans
from service.reports import reports
from service.schema import about
from service.services import Services

PLAN_OF_FAMILY = signed_in(STAFF_ROLES, family=family_in_path("family_id"))
STAFF = signed_in(STAFF_ROLES)
CENTRE = signed_in(CENTRE_ROLES)
CALL = signed_in(CENTRE_ROLES, family=family_of_call("call_id"))
ITEM = signed_in(CENTRE_ROLES, family=family_of_item("item_id"))
OPENING = signed_in(CENTRE_ROLES, family=family_of_opening_session("session_id"))
FAMILY = signed_in(CENTRE_ROLES, family=family_in_path("family_id"))


# --- the contact plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    """The plan as the page's form has it: dates as YYYY-MM-DD, days as DD/MM."""

    starts_on: str = field(metadata=about("First day of the plan, YYYY-MM-DD"))
    review_on: str | None = field(default=None, metadata=about("Review date, YYYY-MM-DD"))
    ends_on: str | None = field(default=None, metadata=about("Last day, YYYY-MM-DD"))
    order_reference: str | None = field(default=None, metadata=about("The order's reference"))
    letters_every: int | None = field(default=None, metadata=about("One letter every N units"))
    letters_unit: str | None = field(default=None, metadata=about("days, weeks or months"))
    letters_dates: str | None = field(default=None, metadata=about("Or on days DD/MM, ..."))
    gifts_every: int | None = field(default=None, metadata=about("One gift every N units"))
    gifts_unit: str | None = field(default=None, metadata=about("days, weeks or months"))
    gifts_dates: str | None = field(default=None, metadata=about("Or on days DD/MM, ..."))
    video_every: int | None = field(default=None, metadata=about("One call every N units"))
    video_unit: str | None = field(default=None, metadata=about("days, weeks or months"))
    video_dates: str | None = field(default=None, metadata=about("Or on days DD/MM, ..."))
    avoid: str | None = field(default=None, metadata=about("Lines of DD/MM or DD/MM - DD/MM"))
    names_to_use: str | None = field(default=None, metadata=about("Names, comma separated"))
    names_never: str | None = field(
        default=None, metadata=about("Names never to use; they become sensitive terms")
    )

    def form(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v is not None and v != ""}


@dataclass(frozen=True)
class ChannelView:
    channel: str
    words: str
    state: str = field(metadata=about("due, sent, not started or ended"))
    window_from: str | None
    due_by: str | None
    sent_in_window: int
    missed: list[str] = field(metadata=about("Due-by days of windows with nothing sent"))


@dataclass(frozen=True)
class PlanView:
    has_plan: bool
    starts_on: str | None
    review_on: str | None
    ends_on: str | None
    order_reference: str | None
    channels: list[ChannelView]


def _day(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _plan_view(status: plans.PlanStatus) -> PlanView:
    plan = status.plan
    return PlanView(
        plan is not None,
        _day(plan.starts_on) if plan else None,
        _day(plan.review_on) if plan else None,
        _day(plan.ends_on) if plan else None,
        plan.order_reference if plan else None,
        [
            ChannelView(
                c.channel,
                c.words,
                c.state,
                _day(c.window_from),
                _day(c.due_by),
                c.sent_in_window,
                [d.isoformat() for d in c.missed],
            )
            for c in status.channels
        ],
    )


async def get_plan(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return _plan_view(await plans.plan_status(s, current_family(r)))


async def set_plan(s: Services, a: Actor, r: web.Request, b: PlanInput) -> Any:
    await plans.set_plan(s, a, current_family(r), plans.PlanInput.parse(b.form()))
    return _plan_view(await plans.plan_status(s, current_family(r)))


@dataclass(frozen=True)
class OverdueView:
    family_id: uuid.UUID
    case_reference: str
    channel: str
    words: str
    missed: list[str]


async def overdue(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return [
        OverdueView(
            o.family_id, o.case_reference, o.channel, o.words, [d.isoformat() for d in o.missed]
        )
        for o in await plans.overdue_list(s, a)
    ]


# --- reports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInput:
    """The report's boxes; see the writing page for what each holds."""

    present: str = field(metadata=about("Who was present"))
    aim: str = field(metadata=about("The aim of the session"))
    account: str = field(metadata=about("What happened (a factual account)"))
    arrival: str = field(metadata=about("The child on arrival"))
    leaving: str = field(metadata=about("The child on leaving"))
    safeguarding: str = field(metadata=about('Safeguarding, or "None"'))
    quotes: str | None = field(default=None, metadata=about("Direct quotes, where material"))
    concerns: str | None = field(default=None, metadata=about("Concerns"))


@dataclass(frozen=True)
class CheckInput:
    decision: str = field(metadata=about('"approve" or "return"'))
    comments: str | None = field(default=None, metadata=about("Needed to return it"))
    version: int | None = field(default=None, metadata=about("The report's version when read"))


@dataclass(frozen=True)
class ReportBox:
    heading: str
    text: str


@dataclass(frozen=True)
class ReportJson:
    id: uuid.UUID
    family_id: uuid.UUID
    status: str
    version: int
    case_reference: str
    started_at: datetime
    minutes: int
    venue: str
    author: str
    checker: str | None
    sha256: str | None
    boxes: list[ReportBox]


def _report(view: reports.ReportView) -> ReportJson:
    return ReportJson(
        view.id,
        view.family_id,
        view.status.value,
        view.version,
        view.header.case_reference,
        view.header.started_at,
        view.header.minutes,
        view.header.venue,
        view.author,
        view.checker,
        view.sha256,
        [ReportBox(h, t) for h, t in view.labelled()],
    )


async def write_report(s: Services, a: Actor, r: web.Request, b: ReportInput) -> Any:
    fields = reports.ReportFields.parse({k: v or "" for k, v in b.__dict__.items()})
    report_id = await reports.write_report(s, a, path_uuid(r, "call_id"), fields)
    # The call's family, as the access rule found it.
    return _report(await reports.read_report(s, a, current_family(r), report_id))


async def check_report(s: Services, a: Actor, r: web.Request, b: CheckInput) -> Any:
    view = await reports.check_report(
        s, a, current_family(r), path_uuid(r, "report_id"), b.decision, b.comments or "", b.version
    )
    return _report(view)


async def get_report(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return _report(await reports.read_report(s, a, current_family(r), path_uuid(r, "report_id")))


# --- concerns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcernInput:
    what: str = field(metadata=about("What was seen or heard that worries you"))


@dataclass(frozen=True)
class ConcernJson:
    id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    source: str
    item_withheld: bool
    raised_by: str
    raised_at: datetime
    status: str
    overdue: bool


def _concern(c: concerns.ConcernView) -> ConcernJson:
    return ConcernJson(
        c.id,
        c.family_id,
        c.case_reference,
        c.source.value,
        c.item_withheld,
        c.raised_by,
        c.raised_at,
        c.status.value,
        c.overdue,
    )


def _raise(kind: SourceKind, name: str) -> Any:
    async def call(s: Services, a: Actor, r: web.Request, b: ConcernInput) -> Any:
        concern_id = await concerns.raise_concern(
            s, a, ConcernSource(kind, path_uuid(r, name)), b.what
        )
        return _concern(await concerns.read_concern(s, a, current_family(r), concern_id))

    return call


raise_about_item = _raise(SourceKind.ITEM, "item_id")
raise_about_call = _raise(SourceKind.CALL, "call_id")
raise_about_session = _raise(SourceKind.SESSION, "session_id")


async def list_concerns(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return [_concern(c) for c in await concerns.concern_list(s, a)]
