"""Gathering, reviewing and releasing what the centre holds about one person.

The material is gathered once, when the request starts, from the centre's own tables and
the family record, and sealed under the family key. Every other person's name is written as
a placeholder (``{p0}``): shown as "[name withheld]" unless the reviewer reveals it. Content
of letters is not copied here; what happened to each item is.
"""

from __future__ import annotations

import calendar
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Invalid, NotFound
from service.http.rules import Actor
from service.services import Services
from storage.children import open_child, open_children, open_relationship
from storage.models import (
    Call,
    Child,
    Direction,
    Family,
    FamilySender,
    Item,
    ItemKind,
    OpeningSession,
    RecordEvent,
    SubjectAccessRequest,
    SubjectAccessStatus,
    User,
)

__all__ = [
    "WITHHELD",
    "Material",
    "RequestSummary",
    "family_requests",
    "read_request",
    "release",
    "render_json",
    "start_request",
]

MATERIAL_PURPOSE: Final = "subject-access"
WITHHELD: Final = "[name withheld]"


def one_month_after(day: date) -> date:
    month = day.month % 12 + 1
    year = day.year + (1 if day.month == 12 else 0)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class _People:
    """Other people's names as placeholders."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def ref(self, name: str | None) -> str:
        if not name:
            return "someone"
        for key, known in self.names.items():
            if known == name:
                return "{" + key + "}"
        key = f"p{len(self.names)}"
        self.names[key] = name
        return "{" + key + "}"


def _entry(when: datetime | None, text: str) -> dict[str, Any]:
    return {"when": None if when is None else when.astimezone(UTC).isoformat(), "text": text}


async def _names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return dict(rows.all())


async def _gather_parent(
    services: Services, session: AsyncSession, family: Family, user: User
) -> dict[str, Any]:
    people = _People()
    link = await session.scalar(
        select(FamilySender).where(
            FamilySender.family_id == family.id, FamilySender.user_id == user.id
        )
    )
    if link is None:
        raise NotFound("That person is not a sender of this family.")
    items = list(
        await session.scalars(
            select(Item)
            .where(Item.family_id == family.id, Item.sender_id == user.id)
            .order_by(Item.submitted_at)
        )
    )
    events = list(
        await session.scalars(
            select(RecordEvent)
            .where(RecordEvent.family_id == family.id, RecordEvent.actor_id == user.id)
            .order_by(RecordEvent.seq)
        )
    )
    return {
        "subject": {
            "kind": "parent",
            "name": user.display_name,
            "email": user.email,
            "relationship": await open_relationship(session, services.keyring, link),
            "case_reference": family.case_reference,
        },
        "sections": [
            {
                "title": "What you sent",
                "entries": [
                    _entry(
                        i.submitted_at,
                        f"A {i.kind.value.replace('_', ' ')}: {i.status.value.replace('_', ' ')}"
                        + (f"; opened {i.opened_at:%d %B %Y}" if i.opened_at else ""),
                    )
                    for i in items
                ],
            },
            {
                "title": "What the family record says you did",
                "entries": [_entry(e.at, e.kind.replace("_", " ")) for e in events],
            },
        ],
        "people": people.names,
    }


async def _gather_child(
    services: Services, session: AsyncSession, family: Family, child: Child
) -> dict[str, Any]:
    facts = await open_child(session, services.keyring, child)
    people = _People()
    items = list(
        await session.scalars(
            select(Item)
            .where(
                Item.family_id == family.id, or_(Item.child_id == child.id, Item.child_id.is_(None))
            )
            .order_by(Item.submitted_at)
        )
    )
    senders = await _names(session, {i.sender_id for i in items})
    sessions = list(
        await session.scalars(
            select(OpeningSession)
            .where(OpeningSession.child_id == child.id)
            .order_by(OpeningSession.started_at)
        )
    )
    staff = await _names(session, {s.staff_id for s in sessions})
    calls = list(
        await session.scalars(
            select(Call).where(Call.child_id == child.id).order_by(Call.starts_at)
        )
    )
    received, replies = [], []
    for i in items:
        who = people.ref(senders.get(i.sender_id))
        if i.direction is Direction.TO_CHILD:
            received.append(
                _entry(
                    i.submitted_at,
                    f"A {i.kind.value.replace('_', ' ')} from {who}: {i.status.value.replace('_', ' ')}"
                    + (f"; opened {i.opened_at:%d %B %Y}" if i.opened_at else ""),
                )
            )
        elif i.kind is ItemKind.REPLY:
            replies.append(_entry(i.submitted_at, f"A reply, typed in by {who}: {i.status.value}"))
    return {
        "subject": {
            "kind": "child",
            "name": facts.name,
            "birth_year": facts.birth_year,
            "case_reference": family.case_reference,
        },
        "sections": [
            {"title": "Letters and gifts sent to you", "entries": received},
            {"title": "Your replies", "entries": replies},
            {
                "title": "Times you came to open your letters",
                "entries": [
                    _entry(s.started_at, f"With {people.ref(staff.get(s.staff_id))}")
                    for s in sessions
                ],
            },
            {
                "title": "Your video calls",
                "entries": [_entry(c.starts_at, f"A call: {c.status.value}") for c in calls],
            },
        ],
        "people": people.names,
    }


async def start_request(
    services: Services, actor: Actor, family_id: uuid.UUID, subject: str
) -> uuid.UUID:
    """``subject`` is ``child:<id>`` or ``parent:<id>`` of this family."""
    kind, _, raw = subject.partition(":")
    try:
        subject_id = uuid.UUID(raw)
    except ValueError:
        raise Invalid("Choose whose information this is.", field="subject") from None
    async with services.transaction(actor) as work:
        session = work.session
        family = await session.scalar(
            select(Family).where(Family.id == family_id, Family.centre_id == actor.centre_id)
        )
        if family is None:
            raise NotFound()
        if kind == "child":
            child = await session.scalar(
                select(Child).where(Child.id == subject_id, Child.family_id == family_id)
            )
            if child is None:
                raise NotFound("That child is not in this family.")
            material = await _gather_child(services, session, family, child)
        elif kind == "parent":
            user = await session.get(User, subject_id)
            if user is None:
                raise NotFound()
            material = await _gather_parent(services, session, family, user)
        else:
            raise Invalid("Choose whose information this is.", field="subject")
        today = datetime.now(services.settings.zone).date()
        row = SubjectAccessRequest(
            family_id=family_id,
            subject_user_id=subject_id if kind == "parent" else None,
            subject_child_id=subject_id if kind == "child" else None,
            requested_by=actor.user_id,
            due_on=one_month_after(today),
            status=SubjectAccessStatus.IN_REVIEW,
            material_sealed=await services.keyring.seal_for_family(
                session, family_id, json.dumps(material).encode("utf-8"), MATERIAL_PURPOSE
            ),
            revealed=[],
        )
        session.add(row)
        await session.flush()
        await work.record(
            family_id,
            "subject_access_started",
            {"request_id": row.id, "subject": kind, "due_on": row.due_on.isoformat()},
        )
        return row.id


@dataclass(frozen=True)
class Material:
    id: uuid.UUID
    family_id: uuid.UUID
    status: SubjectAccessStatus
    due_on: date
    overdue: bool
    subject: dict[str, Any]
    sections: list[tuple[str, list[tuple[str, str]]]]  # title, [(when, text)]
    people: dict[str, str]  # placeholder -> name
    revealed: list[str]

    def shown(self, text: str) -> str:
        for key, name in self.people.items():
            text = text.replace("{" + key + "}", name if key in self.revealed else WITHHELD)
        return text


async def read_request(services: Services, family_id: uuid.UUID, request_id: uuid.UUID) -> Material:
    async with services.sessionmaker() as session:
        row = await session.scalar(
            select(SubjectAccessRequest).where(
                SubjectAccessRequest.id == request_id,
                SubjectAccessRequest.family_id == family_id,
            )
        )
        if row is None:
            raise NotFound()
        data = json.loads(
            await services.keyring.open_for_family(
                session, family_id, row.material_sealed, MATERIAL_PURPOSE
            )
        )
    today = datetime.now(services.settings.zone).date()
    return Material(
        row.id,
        family_id,
        row.status,
        row.due_on,
        row.status is SubjectAccessStatus.IN_REVIEW and today > row.due_on,
        data["subject"],
        [
            (s["title"], [(e["when"] or "", e["text"]) for e in s["entries"]])
            for s in data["sections"]
        ],
        data["people"],
        list(row.revealed),
    )


async def release(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    request_id: uuid.UUID,
    revealed: list[str],
) -> None:
    """The reviewer's release: the names they chose to show, the rest stay withheld."""
    async with services.transaction(actor) as work:
        row = await work.session.scalar(
            select(SubjectAccessRequest)
            .where(
                SubjectAccessRequest.id == request_id,
                SubjectAccessRequest.family_id == family_id,
            )
            .with_for_update()
        )
        if row is None:
            raise NotFound()
        if row.status is not SubjectAccessStatus.IN_REVIEW:
            raise Conflict("This request is already released.", field="status")
        row.revealed = sorted(set(revealed))
        row.status = SubjectAccessStatus.RELEASED
        row.reviewed_by, row.released_at = actor.user_id, datetime.now(UTC)
        await work.session.flush()
        await work.record(
            family_id,
            "subject_access_released",
            {"request_id": row.id, "names_revealed": len(row.revealed)},
        )


def render_json(material: Material) -> dict[str, Any]:
    """The machine-readable copy: what the PDF says, with the same names withheld."""
    return {
        "subject": material.subject,
        "sections": [
            {
                "title": title,
                "entries": [{"when": w, "text": material.shown(t)} for w, t in entries],
            }
            for title, entries in material.sections
        ],
    }


@dataclass(frozen=True)
class RequestSummary:
    id: uuid.UUID
    subject: str
    requested_at: datetime
    due_on: date
    status: SubjectAccessStatus
    overdue: bool


@dataclass(frozen=True)
class FamilyRequests:
    family_id: uuid.UUID
    case_reference: str
    people: list[tuple[str, str]]  # (subject value, words)
    requests: list[RequestSummary]


async def family_requests(services: Services, family_id: uuid.UUID) -> FamilyRequests:
    today = datetime.now(services.settings.zone).date()
    async with services.sessionmaker() as session:
        family = await session.get(Family, family_id)
        if family is None:
            raise NotFound()
        children = await open_children(session, services.keyring, family_ids=[family_id])
        senders = (
            await session.execute(
                select(User.id, User.display_name)
                .join(FamilySender, FamilySender.user_id == User.id)
                .where(FamilySender.family_id == family_id)
            )
        ).all()
        rows = list(
            await session.scalars(
                select(SubjectAccessRequest)
                .where(SubjectAccessRequest.family_id == family_id)
                .order_by(SubjectAccessRequest.requested_at.desc())
            )
        )
        names = {f"child:{c.id}": f"{c.name} (child)" for c in children} | {
            f"parent:{uid}": f"{name} (parent)" for uid, name in senders
        }
    return FamilyRequests(
        family_id,
        family.case_reference,
        list(names.items()),
        [
            RequestSummary(
                r.id,
                names.get(
                    f"child:{r.subject_child_id}"
                    if r.subject_child_id
                    else f"parent:{r.subject_user_id}",
                    "someone",
                ),
                r.requested_at,
                r.due_on,
                r.status,
                r.status is SubjectAccessStatus.IN_REVIEW and today > r.due_on,
            )
            for r in rows
        ],
    )
