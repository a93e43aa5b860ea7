"""Booking in-centre visits and recording who arrived and left when.

A handover's adults are staggered: the resident parent is due at the planned time and must
have left before the visiting parent is due, ``stagger_minutes`` later (at least five; the
schema refuses less). Recorded times that show the two adults in the centre together are
kept as they happened (the record is the truth) and marked for staff to see.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Final

from sqlalchemy import select

from service.errors import Forbidden, Invalid, NotFound
from service.http.rules import Actor
from service.i18n import N_, _
from service.services import Services
from storage import record
from storage.models import CentreVisit, ContactLevel, Family, VisitKind

__all__ = [
    "PEOPLE",
    "AttendanceInput",
    "VisitInput",
    "VisitView",
    "book_visit",
    "family_visits",
    "read_visit",
    "record_attendance",
]

NOTE_PURPOSE: Final = "visit-note"
MIN_STAGGER: Final = 5
MAX_STAGGER: Final = 120
PARTIES: Final = {
    "resident": N_("the resident parent"),
    "visiting": N_("the visiting parent"),
    "child": N_("the child"),
}
# The same parties as a list offers them, each a whole label of its own.
PARTY_CHOICES: Final = {
    "resident": N_("The resident parent"),
    "visiting": N_("The visiting parent"),
    "child": N_("The child"),
}
# (column prefix, words): whose arrival and departure each visit records.
PEOPLE: Final = (
    ("resident", N_("Resident parent")),
    ("visiting", N_("Visiting parent")),
    ("child", N_("Child")),
)


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class VisitInput:
    kind: VisitKind
    planned_at: datetime
    stagger_minutes: int
    party: str | None

    @classmethod
    def parse(cls, form: Mapping[str, Any], zone: tzinfo) -> VisitInput:
        try:
            kind = VisitKind(_text(form, "kind"))
        except ValueError:
            raise Invalid("Choose a session, a handover or a pre-visit.", field="kind") from None
        when = _text(form, "planned_at")
        try:
            planned = datetime.fromisoformat(when).replace(tzinfo=zone)
        except ValueError:
            raise Invalid(
                "Give the day and time (centre time), for example 2026-12-05T10:00.",
                field="planned_at",
            ) from None
        stagger = 0
        if kind is VisitKind.HANDOVER:
            text = _text(form, "stagger_minutes") or "15"
            if not text.isdigit() or not MIN_STAGGER <= int(text) <= MAX_STAGGER:
                raise Invalid(
                    _(
                        "The gap between the two adults is {least} to {most} minutes, so that "
                        "they never meet."
                    ).format(least=MIN_STAGGER, most=MAX_STAGGER),
                    field="stagger_minutes",
                )
            stagger = int(text)
        party = _text(form, "party") or None
        if kind is VisitKind.PRE_VISIT and party not in PARTIES:
            raise Invalid("Say whose pre-visit it is.", field="party")
        return cls(kind, planned, stagger, party if kind is VisitKind.PRE_VISIT else None)


@dataclass(frozen=True)
class AttendanceInput:
    times: Mapping[str, time | None]  # "resident_arrived" ... -> time on the visit's day
    notes: str

    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> AttendanceInput:
        times: dict[str, time | None] = {}
        for person, words in PEOPLE:
            for event, refusal in (
                ("arrived", N_("{who} arrived: write the time as HH:MM, for example 10:15.")),
                ("left", N_("{who} left: write the time as HH:MM, for example 10:15.")),
            ):
                name = f"{person}_{event}"
                text = _text(form, name)
                if not text:
                    times[name] = None
                    continue
                try:
                    times[name] = time.fromisoformat(text)
                except ValueError:
                    raise Invalid(_(refusal).format(who=_(words)), field=name) from None
        notes = _text(form, "notes")
        if len(notes) > 4000:
            raise Invalid("Notes are at most 4,000 characters.", field="notes")
        return cls(times, notes)


async def book_visit(
    services: Services, actor: Actor, family_id: uuid.UUID, visit: VisitInput
) -> uuid.UUID:
    async with services.transaction(actor) as work:
        family = await work.session.scalar(
            select(Family).where(Family.id == family_id, Family.centre_id == actor.centre_id)
        )
        if family is None:
            raise NotFound()
        row = CentreVisit(
            family_id=family_id,
            contact_level=family.contact_level,
            kind=visit.kind,
            party=visit.party,
            planned_at=visit.planned_at,
            stagger_minutes=visit.stagger_minutes,
            recorded_by=actor.user_id,
        )
        work.session.add(row)
        await work.session.flush()
        await work.record(
            family_id,
            "visit_booked",
            {
                "visit_id": row.id,
                "kind": visit.kind.value,
                "party": visit.party,
                "planned_at": visit.planned_at.isoformat(),
                "stagger_minutes": visit.stagger_minutes,
            },
        )
        return row.id


async def record_attendance(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    visit_id: uuid.UUID,
    attendance: AttendanceInput,
) -> None:
    """Who arrived and left when, on the visit's day; notes for supervised contact only."""
    zone = services.settings.zone
    async with services.transaction(actor) as work:
        row = await work.session.scalar(
            select(CentreVisit)
            .where(CentreVisit.id == visit_id, CentreVisit.family_id == family_id)
            .with_for_update()
        )
        if row is None:
            raise NotFound()
        if attendance.notes and row.contact_level is not ContactLevel.SUPERVISED:
            raise Forbidden(
                "This family has supported contact: only dates and times are kept, no notes.",
                field="notes",
                code="supported_contact",
            )
        day = row.planned_at.astimezone(zone).date()
        payload: dict[str, Any] = {"visit_id": row.id, "kind": row.kind.value}
        for name, value in attendance.times.items():
            at = None if value is None else datetime.combine(day, value, tzinfo=zone)
            setattr(row, f"{name}_at", at)
            payload[name] = None if at is None else at.isoformat()
        if attendance.notes:
            row.notes_sealed = await services.keyring.seal_for_family(
                work.session, family_id, attendance.notes.encode("utf-8"), NOTE_PURPOSE
            )
            payload["notes"] = record.Sealed(attendance.notes)
        payload["adults_met"] = _met(row)
        await work.session.flush()
        await work.record(family_id, "visit_attendance", payload)


def _met(row: CentreVisit) -> bool:
    """Whether the two adults' recorded times overlap (a handover that went wrong)."""
    a1, l1, a2, l2 = (
        row.resident_arrived_at,
        row.resident_left_at,
        row.visiting_arrived_at,
        row.visiting_left_at,
    )
    if a1 is None or a2 is None:
        return False
    end1 = l1 or datetime.max.replace(tzinfo=a1.tzinfo)
    end2 = l2 or datetime.max.replace(tzinfo=a2.tzinfo)
    return a1 < end2 and a2 < end1


@dataclass(frozen=True)
class VisitView:
    id: uuid.UUID
    kind: VisitKind
    party: str | None
    planned_at: datetime
    resident_due: datetime
    visiting_due: datetime
    stagger_minutes: int
    times: Mapping[str, datetime | None]
    adults_met: bool
    has_notes: bool


def _view(r: CentreVisit) -> VisitView:
    return VisitView(
        r.id,
        r.kind,
        r.party,
        r.planned_at,
        r.planned_at,
        r.planned_at + timedelta(minutes=r.stagger_minutes),
        r.stagger_minutes,
        {f"{p}_{e}": getattr(r, f"{p}_{e}_at") for p, _ in PEOPLE for e in ("arrived", "left")},
        _met(r),
        r.notes_sealed is not None,
    )


@dataclass(frozen=True)
class FamilyVisits:
    family_id: uuid.UUID
    case_reference: str
    supervised: bool
    visits: list[VisitView]


async def family_visits(services: Services, family_id: uuid.UUID) -> FamilyVisits:
    async with services.sessionmaker() as session:
        family = await session.get(Family, family_id)
        if family is None:
            raise NotFound()
        rows = await session.scalars(
            select(CentreVisit)
            .where(CentreVisit.family_id == family_id)
            .order_by(CentreVisit.planned_at.desc())
            .limit(200)
        )
        visits = [_view(r) for r in rows]
        return FamilyVisits(
            family.id,
            family.case_reference,
            family.contact_level is ContactLevel.SUPERVISED,
            visits,
        )


async def read_visit(services: Services, family_id: uuid.UUID, visit_id: uuid.UUID) -> VisitView:
    """One visit of the family, as ``family_visits`` shows it."""
    async with services.sessionmaker() as session:
        row = await session.scalar(
            select(CentreVisit).where(
                CentreVisit.id == visit_id, CentreVisit.family_id == family_id
            )
        )
        if row is None:
            raise NotFound("We could not find that visit.")
        return _view(row)
