"""Gathering, reviewing and releasing what the centre holds about one person.

The material is gathered once, when the request starts, from the centre's own tables and
the family record, and sealed under the family key. It is worded then, once, in the subject's
language (a parent's own, the family's child language for a child): the reviewer reads the very
sentences the PDF and JSON release, and the copy never changes language after review. Every
other person's name is written as a placeholder (``{p0}``): shown as "[name withheld]" (in the
copy's language) unless the reviewer reveals it.

The words of letters and replies are copied too, with other people's personal data blacked out
by default: the names of the people the centre knows (the other parents, the other children,
staff, referrers), the family's sensitive terms and any contact details, found by the
letterbox's scanner (``service.letterbox.personal_spans``). The reviewer sees each blacked-out
part and may show one with a reason, or black it out again; the reason is sealed with the
request and the choice is recorded.
"""

from __future__ import annotations

import calendar
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Invalid, NotFound
from service.http.rules import Actor
from service.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, _, use_language
from service.letterbox import (
    BLACKED_OUT,
    black_out,
    child_observation_notes,
    family_sensitive_terms,
    held_text,
    personal_spans,
)
from service.localtime import day_in_words, local_time
from service.record import Names, describe
from service.services import Services
from storage import recordformat as rf
from storage.children import open_child, open_children, open_referral, open_relationship
from storage.models import (
    Call,
    CallStatus,
    Child,
    Direction,
    Family,
    FamilySender,
    Item,
    ItemKind,
    ItemStatus,
    OpeningSession,
    RecordEvent,
    Referral,
    ReferrerAccess,
    Role,
    SubjectAccessRequest,
    SubjectAccessStatus,
    User,
)
from storage.record import KeyRingPayloadSealer, open_payload

__all__ = [
    "BLACKED_OUT",
    "REASON_LIMIT",
    "WITHHELD",
    "Blacked",
    "Entry",
    "Material",
    "RequestSummary",
    "decide_span",
    "family_requests",
    "read_request",
    "release",
    "render_json",
    "start_request",
]

MATERIAL_PURPOSE: Final = "subject-access"
WITHHELD: Final = N_("[name withheld]")
REASON_LIMIT: Final = 500
_CENTRE_STAFF: Final = (Role.ADMIN, Role.STAFF, Role.SUPERVISOR)

# Whole sentences per kind, so a translator words each one (Welsh has no "a" to agree).
_SENT: Final = {
    ItemKind.LETTER: N_("A letter: {status}"),
    ItemKind.REPLY: N_("A reply: {status}"),
    ItemKind.DIGITAL_GIFT: N_("A digital gift: {status}"),
}
_SENT_FROM: Final = {
    ItemKind.LETTER: N_("A letter from {who}: {status}"),
    ItemKind.REPLY: N_("A reply from {who}: {status}"),
    ItemKind.DIGITAL_GIFT: N_("A digital gift from {who}: {status}"),
}
_ITEM_STATUS: Final = {
    ItemStatus.SUBMITTED: N_("sent"),
    ItemStatus.IN_REVIEW: N_("being checked"),
    ItemStatus.AWAITING_SECOND_APPROVAL: N_("waiting for a second check"),
    ItemStatus.APPROVED: N_("approved"),
    ItemStatus.RETURNED: N_("returned to the sender"),
    ItemStatus.REJECTED: N_("rejected"),
    ItemStatus.OPENED: N_("opened"),
}
_CALL_STATUS: Final = {
    CallStatus.SCHEDULED: N_("A video call: booked"),
    CallStatus.LIVE: N_("A video call: happening now"),
    CallStatus.ENDED: N_("A video call: finished"),
    CallStatus.CANCELLED: N_("A video call: cancelled"),
}


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
            return _("someone")
        for key, known in self.names.items():
            if known == name:
                return "{" + key + "}"
        key = f"p{len(self.names)}"
        self.names[key] = name
        return "{" + key + "}"


def _entry(when: datetime | None, text: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "when": None if when is None else when.astimezone(UTC).isoformat(),
        "text": text,
    }
    if body is not None:
        entry["body"] = body
    return entry


class _Others:
    """The people the centre knows in this family, other than the subject, with who they
    are; and the free texts with each mention of them (or contact details) as a span."""

    def __init__(self, people: list[tuple[str, str]], own_names: list[str]) -> None:
        self.people = people
        self.own_names = own_names
        self.count = 0

    def body(self, text: str) -> dict[str, Any] | None:
        if not text.strip():
            return None
        spans = []
        for found in personal_spans(text, self.people, self.own_names):
            spans.append(
                {
                    "key": f"s{self.count}",
                    "start": found.start,
                    "end": found.end,
                    "label": found.label,
                }
            )
            self.count += 1
        return {"text": text, "spans": spans}


async def _others(
    services: Services,
    session: AsyncSession,
    family: Family,
    *,
    subject_user: uuid.UUID | None = None,
    subject_child: uuid.UUID | None = None,
) -> _Others:
    people: list[tuple[str, str]] = []
    own: list[str] = []
    senders = (
        await session.execute(
            select(User.id, User.display_name)
            .join(FamilySender, FamilySender.user_id == User.id)
            .where(FamilySender.family_id == family.id)
        )
    ).all()
    for user_id, name in senders:
        if user_id == subject_user:
            own += name.split()
        else:
            people.append((name, "another parent" if subject_user else "a parent"))
    for kid in await open_children(session, services.keyring, family_ids=[family.id]):
        if kid.id == subject_child:
            own += kid.name.split()
        else:
            people.append((kid.name, "another child" if subject_child else "a child"))
    staff = await session.scalars(
        select(User.display_name).where(
            User.centre_id == family.centre_id, User.role.in_(_CENTRE_STAFF)
        )
    )
    people += [(name, "staff") for name in staff]
    referrals = await session.scalars(select(Referral).where(Referral.family_id == family.id))
    referrers = {
        (await open_referral(session, services.keyring, r)).referrer_name for r in referrals
    } | set(
        await session.scalars(
            select(User.display_name)
            .join(ReferrerAccess, ReferrerAccess.user_id == User.id)
            .where(ReferrerAccess.family_id == family.id)
        )
    )
    people += [(name, "referrer") for name in sorted(referrers)]
    people += [
        (term, "one of the family's sensitive words")
        for term in await family_sensitive_terms(services, session, family.id)
    ]
    return _Others(people, own)


async def _names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return dict(rows.all())


def _status(status: ItemStatus) -> str:
    return _(_ITEM_STATUS[status])


def _opened(opened_at: datetime | None, zone: tzinfo) -> str:
    day = day_in_words(opened_at, zone)
    return "" if day is None else _("; opened {day}").format(day=day)


async def _own_events(
    services: Services, session: AsyncSession, family: Family, user: User, people: _People
) -> list[dict[str, Any]]:
    """What the record says the parent did, in the timeline's own sentences; everyone else an
    event names (a child, a staff member) is a placeholder, withheld unless shown."""
    rows = list(
        await session.scalars(
            select(RecordEvent)
            .where(RecordEvent.family_id == family.id, RecordEvent.actor_id == user.id)
            .order_by(RecordEvent.seq)
        )
    )
    sealer = KeyRingPayloadSealer(services.keyring)
    payloads = [
        await open_payload(session, family.id, rf.parse_canonical(r.payload), sealer) for r in rows
    ]
    names = Names()
    for uid, name in (await _names(session, _user_ids(payloads))).items():
        names.users[str(uid)] = name if uid == user.id else people.ref(name)
    names.users[str(user.id)] = user.display_name
    for kid in await open_children(session, services.keyring, family_ids=[family.id]):
        names.children[str(kid.id)] = people.ref(kid.name)
    out = []
    for row, payload in zip(rows, payloads, strict=True):
        actor = names.person(user.id, row.actor_role)
        out.append(
            _entry(
                row.at,
                describe(row.kind, payload if isinstance(payload, dict) else {}, actor, names),
            )
        )
    return out


def _user_ids(payloads: list[Any]) -> set[uuid.UUID]:
    found = set()
    for payload in payloads:
        if not isinstance(payload, dict):
            continue
        for value in payload.values():
            if isinstance(value, str):
                try:
                    found.add(uuid.UUID(value))
                except ValueError:
                    continue
    return found


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
    others = await _others(services, session, family, subject_user=user.id)
    bodies = [others.body(await held_text(services, session, i.id)) for i in items]
    zone = services.settings.zone
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
                "title": _("What you sent"),
                "entries": [
                    _entry(
                        i.submitted_at,
                        _(_SENT[i.kind]).format(status=_status(i.status))
                        + _opened(i.opened_at, zone),
                        body,
                    )
                    for i, body in zip(items, bodies, strict=True)
                ],
            },
            {
                "title": _("What the family record says you did"),
                "entries": await _own_events(services, session, family, user, people),
            },
        ],
        "people": people.names,
    }


async def _gather_child(
    services: Services, session: AsyncSession, family: Family, child: Child
) -> dict[str, Any]:
    facts = await open_child(session, services.keyring, child)
    people = _People()
    others = await _others(services, session, family, subject_child=child.id)
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
    zone = services.settings.zone
    received, replies = [], []
    for i in items:
        who = people.ref(senders.get(i.sender_id))
        if i.direction is Direction.TO_CHILD:
            received.append(
                _entry(
                    i.submitted_at,
                    _(_SENT_FROM[i.kind]).format(who=who, status=_status(i.status))
                    + _opened(i.opened_at, zone),
                    others.body(await held_text(services, session, i.id)),
                )
            )
        elif i.kind is ItemKind.REPLY:
            replies.append(
                _entry(
                    i.submitted_at,
                    _("A reply, typed in by {who}: {status}").format(
                        who=who, status=_status(i.status)
                    ),
                    others.body(await held_text(services, session, i.id)),
                )
            )
    return {
        "subject": {
            "kind": "child",
            "name": facts.name,
            "birth_year": facts.birth_year,
            "case_reference": family.case_reference,
        },
        "sections": [
            {"title": _("Letters and gifts sent to you"), "entries": received},
            {"title": _("Your replies"), "entries": replies},
            {
                "title": _("Times you came to open your letters"),
                "entries": [
                    _entry(
                        s.started_at, _("With {who}").format(who=people.ref(staff.get(s.staff_id)))
                    )
                    for s in sessions
                ],
            },
            {
                "title": _("Your video calls"),
                "entries": [_entry(c.starts_at, _(_CALL_STATUS[c.status])) for c in calls],
            },
            {
                "title": _("What staff wrote about your sessions and calls"),
                "entries": [
                    _entry(at, _("An observation note"), others.body(text))
                    for at, text in await child_observation_notes(
                        services, session, family.id, child.id
                    )
                ],
            },
        ],
        "people": people.names,
    }


async def start_request(
    services: Services, actor: Actor, family_id: uuid.UUID, subject: str
) -> uuid.UUID:
    """``subject`` is ``child:<id>`` or ``parent:<id>`` of this family."""
    kind, _sep, raw = subject.partition(":")
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
            language = family.child_language
            with use_language(language):
                material = await _gather_child(services, session, family, child)
        elif kind == "parent":
            user = await session.get(User, subject_id)
            if user is None:
                raise NotFound()
            language = user.language
            with use_language(language):
                material = await _gather_parent(services, session, family, user)
        else:
            raise Invalid("Choose whose information this is.", field="subject")
        material["language"] = language if language in LANGUAGES else SOURCE_LANGUAGE
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
class Blacked:
    """One part of a letter blacked out by default: who it is, and the reviewer's choice."""

    key: str
    start: int
    end: int
    label: str
    words: str
    shown: bool
    reason: str


@dataclass(frozen=True)
class Entry:
    when: str
    text: str
    body: str
    spans: list[Blacked]

    def pieces(self) -> list[tuple[str, Blacked | None]]:
        """The body in order: plain runs, and each span with its choice (for the review)."""
        out: list[tuple[str, Blacked | None]] = []
        at = 0
        for span in self.spans:
            out.append((self.body[at : span.start], None))
            out.append((span.words, span))
            at = span.end
        out.append((self.body[at:], None))
        return [(words, span) for words, span in out if words or span]

    def released(self) -> str:
        """The body as it leaves the centre: every span not shown blacked out."""
        return black_out(self.body, [(s.start, s.end) for s in self.spans if not s.shown])


@dataclass(frozen=True)
class Material:
    id: uuid.UUID
    family_id: uuid.UUID
    status: SubjectAccessStatus
    due_on: date
    overdue: bool
    subject: dict[str, Any]
    sections: list[tuple[str, list[Entry]]]
    people: dict[str, str]  # placeholder -> name
    revealed: list[str]
    # The language the copy was worded in when gathered (the subject's).
    language: str = SOURCE_LANGUAGE
    zone: tzinfo = UTC

    @property
    def language_name(self) -> str:
        return LANGUAGES.get(self.language, self.language)

    def moment(self, entry: Entry) -> str:
        """When an entry happened, in the centre's zone and the copy's language."""
        if not entry.when:
            return ""
        with use_language(self.language):
            return local_time(datetime.fromisoformat(entry.when), self.zone, "%-d %B %Y, %H:%M")

    def shown(self, text: str) -> str:
        with use_language(self.language):
            withheld = _(WITHHELD)
        for key, name in self.people.items():
            text = text.replace("{" + key + "}", name if key in self.revealed else withheld)
        return text

    @property
    def spans(self) -> list[Blacked]:
        return [span for _, entries in self.sections for e in entries for span in e.spans]


def _entries(data: dict[str, Any], revealed: list[str]) -> list[tuple[str, list[Entry]]]:
    reasons = data.get("reasons", {})
    sections = []
    for section in data["sections"]:
        entries = []
        for e in section["entries"]:
            body = e.get("body") or {"text": "", "spans": []}
            text = body["text"]
            spans = [
                Blacked(
                    s["key"],
                    s["start"],
                    s["end"],
                    s["label"],
                    text[s["start"] : s["end"]],
                    s["key"] in revealed,
                    str(reasons.get(s["key"], "")) if s["key"] in revealed else "",
                )
                for s in body["spans"]
            ]
            entries.append(Entry(e["when"] or "", e["text"], text, spans))
        sections.append((section["title"], entries))
    return sections


async def _row(
    session: AsyncSession, family_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False
) -> SubjectAccessRequest:
    query = select(SubjectAccessRequest).where(
        SubjectAccessRequest.id == request_id, SubjectAccessRequest.family_id == family_id
    )
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound()
    return row


async def _open(services: Services, session: AsyncSession, row: SubjectAccessRequest) -> Any:
    return json.loads(
        await services.keyring.open_for_family(
            session, row.family_id, row.material_sealed, MATERIAL_PURPOSE
        )
    )


async def read_request(services: Services, family_id: uuid.UUID, request_id: uuid.UUID) -> Material:
    async with services.sessionmaker() as session:
        row = await _row(session, family_id, request_id)
        data = await _open(services, session, row)
    today = datetime.now(services.settings.zone).date()
    revealed = list(row.revealed)
    return Material(
        row.id,
        family_id,
        row.status,
        row.due_on,
        row.status is SubjectAccessStatus.IN_REVIEW and today > row.due_on,
        data["subject"],
        _entries(data, revealed),
        data["people"],
        revealed,
        str(data.get("language", SOURCE_LANGUAGE)),
        services.settings.zone,
    )


async def decide_span(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    request_id: uuid.UUID,
    key: str,
    *,
    show: bool,
    reason: str = "",
) -> None:
    """Show one blacked-out part (a reason is required) or black it out again. The reason is
    sealed with the request; the choice is recorded."""
    reason = reason.strip()
    if show and not reason:
        raise Invalid("Say why this part may be shown before showing it.", field="reason")
    if len(reason) > REASON_LIMIT:
        raise Invalid(
            _("The reason can be at most {limit} characters; it has {count}.").format(
                limit=REASON_LIMIT, count=len(reason)
            ),
            field="reason",
        )
    async with services.transaction(actor) as work:
        session = work.session
        row = await _row(session, family_id, request_id, lock=True)
        if row.status is not SubjectAccessStatus.IN_REVIEW:
            raise Conflict("This request is already released.", field="status")
        data = await _open(services, session, row)
        labels = {
            s["key"]: s["label"]
            for section in data["sections"]
            for e in section["entries"]
            for s in (e.get("body") or {"spans": []})["spans"]
        }
        if key not in labels:
            raise NotFound("That part is not in this request.")
        reasons = data.setdefault("reasons", {})
        revealed = set(row.revealed)
        if show:
            revealed.add(key)
            reasons[key] = reason
        else:
            revealed.discard(key)
            reasons.pop(key, None)
        row.revealed = sorted(revealed)
        row.material_sealed = await services.keyring.seal_for_family(
            session, family_id, json.dumps(data).encode("utf-8"), MATERIAL_PURPOSE
        )
        await session.flush()
        await work.record(
            family_id,
            "subject_access_span_decided",
            {"request_id": row.id, "span": key, "label": labels[key], "shown": show},
        )


async def release(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    request_id: uuid.UUID,
    revealed: list[str],
) -> None:
    """The reviewer's release: the names they chose to show (the parts of letters they chose
    to show stay shown), the rest stay withheld."""
    async with services.transaction(actor) as work:
        row = await _row(work.session, family_id, request_id, lock=True)
        if row.status is not SubjectAccessStatus.IN_REVIEW:
            raise Conflict("This request is already released.", field="status")
        spans = {key for key in row.revealed if str(key).startswith("s")}
        names = {key for key in revealed if key.startswith("p")}
        row.revealed = sorted(spans | names)
        row.status = SubjectAccessStatus.RELEASED
        row.reviewed_by, row.released_at = actor.user_id, datetime.now(UTC)
        await work.session.flush()
        await work.record(
            family_id,
            "subject_access_released",
            {"request_id": row.id, "names_revealed": len(names), "parts_shown": len(spans)},
        )


def render_json(material: Material) -> dict[str, Any]:
    """The machine-readable copy: what the PDF says, with the same names withheld and the
    same parts of letters blacked out."""
    return {
        "language": material.language,
        "subject": material.subject,
        "sections": [
            {
                "title": title,
                "entries": [
                    {"when": e.when, "text": material.shown(e.text)}
                    | ({"words": e.released()} if e.body else {})
                    for e in entries
                ],
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
        names = {f"child:{c.id}": _("{name} (child)").format(name=c.name) for c in children} | {
            f"parent:{uid}": _("{name} (parent)").format(name=name) for uid, name in senders
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
