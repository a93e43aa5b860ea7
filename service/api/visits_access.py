"""Issue 20 in the JSON API, continued: in-centre visits, subject access and retention,
through the same domain functions and access rules as their pages (``service.visits``,
``service.subjectaccess``, ``service.retention``). The routes are declared in
``routes.ROUTES``; this module imports nothing of the API, so it stays a leaf.

Each answer is a small view of plain fields (days as ``YYYY-MM-DD`` text), as in
``plan_reports``; each input is turned into the form the domain's own parser reads, so the
pages and the API refuse the same things with the same words.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from aiohttp import web

from service.errors import NotFound
from service.http.access import (
    STAFF_ROLES,
    Actor,
    current_family,
    family_in_path,
    path_uuid,
    signed_in,
)
from service.retention import retention
from service.schema import about, items, number, text
from service.services import Services
from service.subjectaccess import requests
from service.subjectaccess.document import render_pdf
from service.visits import visits
from storage.models import RetentionKind, Role, SubjectAccessStatus, VisitKind

# The pages' rules: staff and admins book visits and record times (visits.views); admins start
# subject access requests, a moderator (staff or admin) reviews and releases them
# (subjectaccess.views); retention is for admins (retention.views).
VISITS: Final = signed_in(STAFF_ROLES, family=family_in_path("family_id"))
ACCESS_START: Final = signed_in({Role.ADMIN}, family=family_in_path("family_id"))
ACCESS_REVIEW: Final = signed_in(STAFF_ROLES, family=family_in_path("family_id"))
RETENTION: Final = signed_in({Role.ADMIN})
RETENTION_FAMILY: Final = signed_in({Role.ADMIN}, family=family_in_path("family_id"))


def _day(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


# --- in-centre visits ----------------------------------------------------------------------

# Whose pre-visit it is. (mypy cannot follow an enumeration built from a mapping.)
Party = StrEnum("Party", {key: key for key in visits.PARTIES})  # type: ignore[misc]


@dataclass(frozen=True)
class VisitInput:
    """A session, handover or pre-visit to book. A handover's visiting parent is due
    ``stagger_minutes`` after the resident parent, so the two never meet."""

    kind: VisitKind = field(metadata=about("session, handover or pre_visit"))
    planned_at: str = field(
        metadata=text(
            10,
            40,
            "Day and time in centre time, like 2026-12-05T10:00 (a time with a zone is "
            "turned into centre time)",
        )
    )
    stagger_minutes: int | None = field(
        default=None,
        metadata=number(
            visits.MIN_STAGGER,
            visits.MAX_STAGGER,
            "Handover: minutes between the two adults (15 when left out)",
        ),
    )
    party: Party | None = field(default=None, metadata=about("Pre-visit: for whom"))

    def form(self, services: Services) -> dict[str, str]:
        planned = self.planned_at
        try:
            parsed = datetime.fromisoformat(planned)
        except ValueError:
            pass  # the domain's parser names the field
        else:
            if parsed.tzinfo is not None:
                zone = services.settings.zone
                planned = parsed.astimezone(zone).replace(tzinfo=None).isoformat()
        return {
            "kind": self.kind.value,
            "planned_at": planned,
            "stagger_minutes": "" if self.stagger_minutes is None else str(self.stagger_minutes),
            "party": "" if self.party is None else str(self.party.value),
        }


def _clock(description: str) -> dict[str, Any]:
    return text(0, 8, description + ", HH:MM on the visit's day")


@dataclass(frozen=True)
class AttendanceInput:
    """Who arrived and left when: every time of the visit, as it now stands (one left out
    is cleared). Notes only for supervised contact; a supported family keeps dates and
    times only."""

    resident_arrived: str | None = field(default=None, metadata=_clock("Resident parent arrived"))
    resident_left: str | None = field(default=None, metadata=_clock("Resident parent left"))
    visiting_arrived: str | None = field(default=None, metadata=_clock("Visiting parent arrived"))
    visiting_left: str | None = field(default=None, metadata=_clock("Visiting parent left"))
    child_arrived: str | None = field(default=None, metadata=_clock("The child arrived"))
    child_left: str | None = field(default=None, metadata=_clock("The child left"))
    notes: str | None = field(
        default=None, metadata=text(0, 4000, "Notes (supervised contact only)")
    )

    def form(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class VisitJson:
    id: uuid.UUID
    kind: VisitKind
    party: str | None
    planned_at: datetime
    resident_due: datetime = field(metadata=about("When the resident parent is due"))
    visiting_due: datetime = field(
        metadata=about("When the visiting parent is due: the stagger after the resident parent")
    )
    stagger_minutes: int
    resident_arrived: datetime | None
    resident_left: datetime | None
    visiting_arrived: datetime | None
    visiting_left: datetime | None
    child_arrived: datetime | None
    child_left: datetime | None
    adults_met: bool = field(
        metadata=about("The recorded times show both adults at the centre together")
    )
    has_notes: bool


@dataclass(frozen=True)
class FamilyVisitsJson:
    family_id: uuid.UUID
    case_reference: str
    supervised: bool = field(metadata=about("Supervised contact; otherwise no notes are kept"))
    visits: list[VisitJson]


def _visit(v: visits.VisitView) -> VisitJson:
    t = v.times
    return VisitJson(
        v.id,
        v.kind,
        v.party,
        v.planned_at,
        v.resident_due,
        v.visiting_due,
        v.stagger_minutes,
        t["resident_arrived"],
        t["resident_left"],
        t["visiting_arrived"],
        t["visiting_left"],
        t["child_arrived"],
        t["child_left"],
        v.adults_met,
        v.has_notes,
    )


async def list_visits(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    found = await visits.family_visits(s, current_family(r))
    return FamilyVisitsJson(
        found.family_id, found.case_reference, found.supervised, [_visit(v) for v in found.visits]
    )


async def book_visit(s: Services, a: Actor, r: web.Request, b: VisitInput) -> Any:
    visit = visits.VisitInput.parse(b.form(s), s.settings.zone)
    visit_id = await visits.book_visit(s, a, current_family(r), visit)
    return _visit(await visits.read_visit(s, current_family(r), visit_id))


async def record_attendance(s: Services, a: Actor, r: web.Request, b: AttendanceInput) -> Any:
    family_id, visit_id = current_family(r), path_uuid(r, "visit_id")
    attendance = visits.AttendanceInput.parse(b.form())
    await visits.record_attendance(s, a, family_id, visit_id, attendance)
    return _visit(await visits.read_visit(s, family_id, visit_id))


# --- subject access ------------------------------------------------------------------------


class SubjectKind(StrEnum):
    CHILD = "child"
    PARENT = "parent"


class PartChoice(StrEnum):
    SHOW = "show"
    BLACK_OUT = "black_out"


@dataclass(frozen=True)
class SubjectAccessInput:
    """Whose information: a child of the family, or one of its parents (a sender)."""

    kind: SubjectKind = field(metadata=about("child or parent"))
    person_id: uuid.UUID = field(metadata=about("The child, or the parent's account"))


@dataclass(frozen=True)
class PartInput:
    """Show one blacked-out part of a letter (a reason is needed, and kept sealed with the
    request), or black it out again."""

    choice: PartChoice = field(metadata=about("show or black_out"))
    reason: str | None = field(
        default=None, metadata=text(0, requests.REASON_LIMIT, "Why this part may be shown")
    )


@dataclass(frozen=True)
class ReleaseInput:
    """The other people's names that may be shown (keys from ``names``); every other name
    stays withheld, and the parts of letters stay as chosen."""

    reveal: list[str] = field(
        default_factory=list, metadata=items(0, 1000, "Keys of names that may be shown")
    )


@dataclass(frozen=True)
class SubjectChoice:
    kind: SubjectKind
    person_id: uuid.UUID
    words: str


@dataclass(frozen=True)
class RequestJson:
    id: uuid.UUID
    subject: str
    requested_at: datetime
    due_on: str = field(metadata=about("The last day, one month after it started"))
    status: SubjectAccessStatus
    overdue: bool


@dataclass(frozen=True)
class SubjectAccessList:
    family_id: uuid.UUID
    case_reference: str
    people: list[SubjectChoice] = field(metadata=about("Whom a request can be for"))
    requests: list[RequestJson]


@dataclass(frozen=True)
class SubjectJson:
    kind: str
    name: str
    case_reference: str
    email: str | None
    relationship: str | None
    birth_year: int | None


@dataclass(frozen=True)
class PartJson:
    key: str
    start: int = field(metadata=about("Where the part starts in the entry's words (review)"))
    end: int
    label: str = field(metadata=about("Whose data it is, e.g. another child, a phone number"))
    words: str | None = field(metadata=about("The part's words; once released, only if shown"))
    shown: bool
    reason: str | None


@dataclass(frozen=True)
class EntryJson:
    when: str
    text: str = field(metadata=about("With other people's names withheld unless revealed"))
    words: str | None = field(
        metadata=about("A letter's or note's words: in full for the review, as released after")
    )
    parts: list[PartJson]


@dataclass(frozen=True)
class SectionJson:
    title: str
    entries: list[EntryJson]


@dataclass(frozen=True)
class NameJson:
    key: str
    name: str
    shown: bool


@dataclass(frozen=True)
class MaterialJson:
    id: uuid.UUID
    family_id: uuid.UUID
    status: SubjectAccessStatus
    due_on: str
    overdue: bool
    subject: SubjectJson
    sections: list[SectionJson]
    names: list[NameJson] = field(metadata=about("Other people named, withheld unless shown"))


@dataclass(frozen=True)
class CopyEntry:
    when: str
    text: str
    words: str | None


@dataclass(frozen=True)
class CopySection:
    title: str
    entries: list[CopyEntry]


@dataclass(frozen=True)
class SubjectAccessCopy:
    """The released machine-readable copy: what the PDF says, with the same names withheld
    and the same parts of letters blacked out."""

    subject: SubjectJson
    sections: list[CopySection]


def _subject(data: dict[str, Any]) -> SubjectJson:
    return SubjectJson(
        str(data.get("kind", "")),
        str(data.get("name", "")),
        str(data.get("case_reference", "")),
        data.get("email"),
        data.get("relationship"),
        data.get("birth_year"),
    )


def _material(m: requests.Material) -> MaterialJson:
    reviewing = m.status is SubjectAccessStatus.IN_REVIEW
    return MaterialJson(
        m.id,
        m.family_id,
        m.status,
        m.due_on.isoformat(),
        m.overdue,
        _subject(m.subject),
        [
            SectionJson(
                title,
                [
                    EntryJson(
                        e.when,
                        m.shown(e.text),
                        (e.body if reviewing else e.released()) or None,
                        [
                            PartJson(
                                p.key,
                                p.start,
                                p.end,
                                p.label,
                                p.words if reviewing or p.shown else None,
                                p.shown,
                                p.reason or None,
                            )
                            for p in e.spans
                        ],
                    )
                    for e in entries
                ],
            )
            for title, entries in m.sections
        ],
        [NameJson(key, name, key in m.revealed) for key, name in m.people.items()],
    )


async def list_requests(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    found = await requests.family_requests(s, current_family(r))
    people = []
    for value, words in found.people:
        kind, _, raw = value.partition(":")
        people.append(SubjectChoice(SubjectKind(kind), uuid.UUID(raw), words))
    return SubjectAccessList(
        found.family_id,
        found.case_reference,
        people,
        [
            RequestJson(q.id, q.subject, q.requested_at, q.due_on.isoformat(), q.status, q.overdue)
            for q in found.requests
        ],
    )


async def start_request(s: Services, a: Actor, r: web.Request, b: SubjectAccessInput) -> Any:
    family_id = current_family(r)
    request_id = await requests.start_request(s, a, family_id, f"{b.kind.value}:{b.person_id}")
    return _material(await requests.read_request(s, family_id, request_id))


async def get_request(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return _material(await requests.read_request(s, current_family(r), path_uuid(r, "request_id")))


async def decide_part(s: Services, a: Actor, r: web.Request, b: PartInput) -> Any:
    family_id, request_id = current_family(r), path_uuid(r, "request_id")
    await requests.decide_span(
        s,
        a,
        family_id,
        request_id,
        r.match_info["part"],
        show=b.choice is PartChoice.SHOW,
        reason=b.reason or "",
    )
    return _material(await requests.read_request(s, family_id, request_id))


async def release_request(s: Services, a: Actor, r: web.Request, b: ReleaseInput) -> Any:
    family_id, request_id = current_family(r), path_uuid(r, "request_id")
    await requests.release(s, a, family_id, request_id, b.reveal)
    return _material(await requests.read_request(s, family_id, request_id))


async def _released(s: Services, r: web.Request) -> requests.Material:
    material = await requests.read_request(s, current_family(r), path_uuid(r, "request_id"))
    if material.status is not SubjectAccessStatus.RELEASED:
        raise NotFound("The copy is ready once it has been reviewed and released.")
    return material


async def copy_json(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    data = requests.render_json(await _released(s, r))
    return SubjectAccessCopy(
        _subject(data["subject"]),
        [
            CopySection(
                section["title"],
                [CopyEntry(e["when"], e["text"], e.get("words")) for e in section["entries"]],
            )
            for section in data["sections"]
        ],
    )


async def copy_pdf(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    material = await _released(s, r)
    pdf = await asyncio.to_thread(render_pdf, material)
    name = f"subject-access-{material.subject.get('case_reference', '')}.pdf"
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- retention -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionJson:
    family_id: uuid.UUID
    case_reference: str
    rule: str = field(metadata=about("The rule in words, with (centre default) when it is"))
    own_kind: RetentionKind | None = field(
        metadata=about("The family's own rule; null: the centre's default")
    )
    own_years: int | None
    due_on: str | None = field(
        metadata=about("The first day its content may be destroyed; null: not yet known")
    )
    legal_hold: bool
    shredded: bool
    warning: bool = field(metadata=about("Due within a month, not held, not yet destroyed"))
    overdue: bool


@dataclass(frozen=True)
class RetentionRuleInput:
    """The family's rule and legal hold. ``kind`` null: the centre's default."""

    legal_hold: bool = field(metadata=about("Proceedings ongoing: nothing is destroyed"))
    kind: RetentionKind | None = field(default=None, metadata=about("null: the centre's default"))
    years: int | None = field(
        default=None,
        metadata=number(1, retention.MAX_YEARS, "Years after the case closed"),
    )

    def form(self) -> dict[str, str]:
        return {
            "kind": "default" if self.kind is None else self.kind.value,
            "years": "" if self.years is None else str(self.years),
            "legal_hold": "yes" if self.legal_hold else "no",
        }


@dataclass(frozen=True)
class LegalHoldInput:
    legal_hold: bool = field(metadata=about("Set (true) or release (false); the rule stays"))


@dataclass(frozen=True)
class CentreRetentionJson:
    """The centre's default rule for families without their own."""

    kind: RetentionKind
    years: int = field(
        metadata=number(1, retention.MAX_YEARS, "Years after closure (for years_after_closure)")
    )


def _retention(f: retention.FamilyRetention) -> RetentionJson:
    return RetentionJson(
        f.family_id,
        f.case_reference,
        f.rule,
        f.own_kind,
        f.own_years,
        _day(f.due_on),
        f.legal_hold,
        f.shredded,
        f.warning,
        f.overdue,
    )


async def list_retention(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return [_retention(f) for f in await retention.retention_overview(s, a)]


async def retention_warnings(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return [_retention(f) for f in await retention.retention_overview(s, a) if f.warning]


async def get_family_retention(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return _retention(await retention.family_retention(s, a, current_family(r)))


async def set_family_retention(s: Services, a: Actor, r: web.Request, b: RetentionRuleInput) -> Any:
    rule = retention.RuleInput.parse(b.form())
    await retention.set_family_rule(s, a, current_family(r), rule)
    return _retention(await retention.family_retention(s, a, current_family(r)))


async def set_legal_hold(s: Services, a: Actor, r: web.Request, b: LegalHoldInput) -> Any:
    await retention.set_legal_hold(s, a, current_family(r), b.legal_hold)
    return _retention(await retention.family_retention(s, a, current_family(r)))


async def get_centre_retention(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    kind, years = await retention.centre_default(s, a)
    return CentreRetentionJson(kind, years)


async def set_centre_retention(
    s: Services, a: Actor, r: web.Request, b: CentreRetentionJson
) -> Any:
    await retention.set_centre_default(s, a, b.kind, b.years)
    kind, years = await retention.centre_default(s, a)
    return CentreRetentionJson(kind, years)
