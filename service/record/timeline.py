"""The family timeline: record events read back in order, in plain language.

Staff and admins read it on the timeline page; the court export (``service.record.export``)
groups the same entries per contact. Times are shown in UK time (the centres are in the UK);
the record itself holds UTC. Observation notes are read only for supervised families: a
supported family's record never shows one, whatever it holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Invalid, NotFound
from service.i18n import _
from service.localtime import local_time
from storage import recordformat as rf
from storage.children import open_children
from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import (
    Centre,
    ContactLevel,
    Family,
    FamilyKey,
    ObservationNote,
    RecordEvent,
    User,
)
from storage.record import ERASED, KeyRingPayloadSealer, open_payload

__all__ = [
    "KIND_GROUPS",
    "NOTE_PURPOSE",
    "UK",
    "FamilySummary",
    "Names",
    "Timeline",
    "TimelineEntry",
    "TimelineQuery",
    "describe",
    "family_summary",
    "family_timeline",
    "format_day",
    "format_moment",
    "group_of",
    "load_names",
    "note_texts",
    "open_payload",
    "parse_day",
    "uk_day_start",
]

UK: Final = ZoneInfo("Europe/London")
# The purpose the letterbox and calls engineers seal observation notes under.
NOTE_PURPOSE: Final = "observation-note"
TIMELINE_LIMIT: Final = 500

# Every event kind belongs to exactly one group; the timeline filters by group.
KIND_GROUPS: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "letters": (
        "Letters, replies and digital gifts",
        frozenset(
            {
                "item_submitted",
                "item_in_review",
                "item_moderated",
                "item_returned",
                "item_rejected",
                "item_approved",
                "item_delivered",
                "item_opened",
                "reply_submitted",
            }
        ),
    ),
    "gifts": (
        "Physical gifts",
        frozenset({"gift_logged", "gift_checked", "gift_handed_over", "gift_returned"}),
    ),
    "attendance": (
        "Attendance (opening sessions, in-centre visits)",
        frozenset(
            {"opening_session_started", "opening_session_ended", "visit_booked", "visit_attendance"}
        ),
    ),
    "calls": (
        "Video calls",
        frozenset(
            {
                "call_scheduled",
                "call_changed",
                "call_cancelled",
                "call_interpreter_booked",
                "call_interpreter_removed",
                "call_joined",
                "call_left",
                "call_admitted",
                "call_admission_lapsed",
                "call_paused",
                "call_resumed",
                "call_warned",
                "call_stop_requested",
                "call_ended",
                "call_missed",
            }
        ),
    ),
    "notes": ("Observation notes", frozenset({"observation_note_added"})),
    "family": (
        "Family, senders and referrer access",
        frozenset(
            {
                "family_created",
                "family_changed",
                "family_shredded",
                "retention_changed",
                "subject_access_started",
                "subject_access_span_decided",
                "subject_access_released",
                "sender_approved",
                "sender_removed",
                "referrer_access_granted",
                "referrer_access_revoked",
                "translator_assigned",
                "translator_removed",
            }
        ),
    ),
    "exports": ("Court exports", frozenset({"export_made", "export_downloaded"})),
    "reports": (
        "Supervised contact reports",
        frozenset({"report_written", "report_returned", "report_approved", "report_downloaded"}),
    ),
    "plan": ("Contact plan", frozenset({"plan_changed", "item_beyond_plan"})),
    "concerns": (
        "Safeguarding concerns",
        frozenset({"concern_raised", "concern_acknowledged", "concern_action_recorded"}),
    ),
}
_GROUP_OF: Final = {kind: group for group, (_, kinds) in KIND_GROUPS.items() for kind in kinds}

# Labels for the reasons the calls pages offer (service.calls); unknown values show as given.
_CALL_END_REASONS: Final = {
    "completed": "the call finished normally",
    "child_asked_to_stop": "the child asked to stop",
    "child_upset": "the child was upset",
    "inappropriate_conversation": "inappropriate conversation",
    "safety_concern": "a safety concern",
    "technical_problem": "technical problems",
    "parent_did_not_attend": "the parent did not attend",
    "window_ended": "the booked time was over",
    "media_node_lost": "the server running the call stopped",
}
_CALL_CANCEL_REASONS: Final = {
    "parent_unavailable": "the parent cannot attend",
    "child_unavailable": "the child cannot attend",
    "centre_unavailable": "the centre cannot host it",
    "booked_in_error": "booked in error",
    "contact_suspended": "contact is suspended",
}


def call_end_reason(payload: Mapping[str, Any]) -> str:
    """Why a call ended, in words (the court PDF's summary says it apart from the sentence)."""
    return _CALL_END_REASONS.get(str(payload.get("reason")), str(payload.get("reason", "")))


def call_cancel_reason(payload: Mapping[str, Any]) -> str:
    return _CALL_CANCEL_REASONS.get(str(payload.get("reason")), str(payload.get("reason", "")))


_DECISIONS: Final = {
    "approve": "approved",
    # Whether parts were blacked out is said from the counts, never from the decision's name.
    "approve_with_redactions": "approved",
    "confirm": "approval confirmed by a second moderator",
    "return": "returned to the sender",
    "reject": "rejected",
}


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def blacked_out_words(redactions: object) -> str:
    """ " with parts blacked out (2 passages of text, 1 area of a picture)", or "" when nothing
    was blacked out: the event holds counts, ``{"text_spans": n, "image_boxes": m}``."""
    spans = boxes = 0
    if isinstance(redactions, dict):
        found_spans, found_boxes = redactions.get("text_spans"), redactions.get("image_boxes")
        spans = found_spans if isinstance(found_spans, int) else 0
        boxes = found_boxes if isinstance(found_boxes, int) else 0
    elif isinstance(redactions, list):  # early events listed the spans themselves
        spans = len(redactions)
    parts = []
    if spans > 0:
        parts.append(_count(spans, "passage of text", "passages of text"))
    if boxes > 0:
        parts.append(_count(boxes, "area of a picture", "areas of pictures"))
    return f" with parts blacked out ({', '.join(parts)})" if parts else ""


_ROLES: Final = {
    "admin": "centre admin",
    "staff": "staff member",
    "supervisor": "supervisor",
    "parent": "parent",
    "referrer": "referrer",
    "interpreter": "interpreter",
    "translator": "translator",
    "system": "Letterbox (automatic)",
}


def group_of(kind: str) -> str:
    return _GROUP_OF.get(kind, "family")


# --- days and times ----------------------------------------------------------------------


def parse_day(text: str, field_name: str) -> date:
    """A calendar day written YYYY-MM-DD; anything else is `Invalid`, naming the field."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            _(
                "Please give the date as year-month-day, for example 2025-03-31 (got {text})."
            ).format(text=repr(text[:20])),
            field=field_name,
        ) from None


def uk_day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the UK, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=UK).astimezone(UTC)


def format_moment(moment: datetime, *, with_day: bool = True) -> str:
    local = moment.astimezone(UK)
    clock = f"{local:%H:%M} {local.tzname()}"
    if not with_day:
        return clock
    return f"{format_day(local.date())}, {clock}"


def format_day(day: date) -> str:
    """ "Mon 3 March 2025": day and month named in the current language (the court PDF's)."""
    return local_time(datetime.combine(day, time(12), tzinfo=UK), UK, "%a %-d %B %Y")


def _minutes(delta: timedelta) -> str:
    total = max(int(delta.total_seconds() + 30) // 60, 0)
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d} min"


# --- payloads, names and notes ----------------------------------------------------------


@dataclass
class Names:
    """Display names for the ids that events carry: users and the family's children."""

    users: dict[str, str] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)

    def person(self, user_id: Any, role: str | None = None) -> str:
        name = self.users.get(str(user_id)) if user_id else None
        label = _ROLES.get(role or "", role or "someone")
        if role == "system":
            return label
        if name:
            return f"{name} ({label})" if role else name
        return f"a {label}" if role else "someone"

    def child(self, child_id: Any) -> str:
        name = self.children.get(str(child_id)) if child_id else None
        return name or "the child"


async def load_names(
    session: AsyncSession,
    family_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID | str | None],
    keyring: KeyRing | None = None,
) -> Names:
    """The people's names, and with ``keyring`` the children's (opened with the family key;
    none once the family is shredded)."""
    ids = set()
    for value in user_ids:
        if value is None:
            continue
        try:
            ids.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    names = Names()
    for start in range(0, len(ids), 500):
        chunk = list(ids)[start : start + 500]
        rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(chunk)))
        names.users.update({str(uid): name for uid, name in rows.all()})
    if keyring is not None:
        children = await open_children(session, keyring, family_ids=[family_id])
        names.children.update({str(c.id): c.name for c in children})
    return names


def _user_ids_in(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return []
    return [
        str(payload[k])
        for k in ("user_id", "staff_id", "supervisor_id", "from_user_id", "first_moderator_id")
        if isinstance(payload.get(k), str)
    ]


async def note_texts(
    session: AsyncSession,
    keyring: KeyRing,
    family: Family,
    note_ids: Iterable[str],
) -> dict[str, tuple[str, uuid.UUID]]:
    """Observation note texts (and authors) by note id, for a supervised family only.

    A supported family gets nothing back, even if asked: its record shows no notes."""
    if family.contact_level is not ContactLevel.SUPERVISED:
        return {}
    wanted = []
    for value in note_ids:
        try:
            wanted.append(uuid.UUID(value))
        except ValueError:
            continue
    out: dict[str, tuple[str, uuid.UUID]] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.scalars(
            select(ObservationNote).where(
                ObservationNote.family_id == family.id,
                ObservationNote.id.in_(wanted[start : start + 500]),
            )
        )
        for note in rows:
            try:
                text = (
                    await keyring.open_for_family(
                        session, family.id, bytes(note.text_sealed), NOTE_PURPOSE
                    )
                ).decode("utf-8", errors="replace")
            except StorageError:
                text = ERASED
            out[str(note.id)] = (text, note.author_id)
    return out


# --- plain language ----------------------------------------------------------------------


def _quote(value: Any) -> str:
    text = str(value).strip()
    return f"“{text}”" if text else "(no text)"


def _when(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return format_moment(rf.parse_time(value))
    except rf.RecordFormatError:
        try:
            return format_moment(datetime.fromisoformat(value))
        except ValueError:
            return None


def _item_word(payload: Mapping[str, Any]) -> str:
    kind = payload.get("item_kind")
    return {"letter": "letter", "reply": "reply", "digital_gift": "digital gift"}.get(
        str(kind), "item"
    )


def _parts(payload: Mapping[str, Any]) -> str:
    parts = payload.get("parts")
    if not isinstance(parts, list) or not parts:
        return ""
    kinds = [p.get("kind") for p in parts if isinstance(p, dict)]
    images = sum(1 for k in kinds if k == "image")
    documents = sum(1 for k in kinds if k == "document")
    bits = []
    if images:
        bits.append(f"{images} photo{'s' if images != 1 else ''}")
    if documents:
        bits.append(f"{documents} document{'s' if documents != 1 else ''}")
    return f" with {' and '.join(bits)}" if bits else ""


# What each kind of family change reads as; an unknown one still reads as a sentence.
_FAMILY_CHANGES = {
    "settings": "The family's settings were changed by {actor}.",
    "child_added": "A child was added to the family by {actor}.",
    "child_changed": "A child's details were changed by {actor}.",
    "child_removed": "A child was removed from the family by {actor}.",
    "sensitive_term_added": "Sensitive term added, by {actor}.",
    "sensitive_term_removed": "Sensitive term removed, by {actor}.",
}


def describe(kind: str, payload: Mapping[str, Any], actor: str, names: Names) -> str:
    """One plain-language sentence for an event; ``actor`` is who caused it, already named."""
    p = payload
    match kind:
        case "family_created":
            level = str(p.get("contact_level", "")) or "unknown"
            return f"The family's record was opened ({level} contact) by {actor}."
        case "family_changed":
            sentence = _FAMILY_CHANGES.get(str(p.get("change")))
            if sentence is not None:
                return sentence.format(actor=actor)
            what = str(p.get("change", "details")).replace("_", " ")
            return f"The family's {what} changed, by {actor}."
        case "family_shredded":
            return "The family's content was permanently erased (its key was destroyed)."
        case "sender_approved":
            relation = p.get("relationship")
            relation_text = f" ({relation})" if isinstance(relation, str) else ""
            return (
                f"{names.person(p.get('user_id'))}{relation_text} was allowed to send, by {actor}."
            )
        case "sender_removed":
            return f"{names.person(p.get('user_id'))} was stopped from sending, by {actor}."
        case "referrer_access_granted":
            until = p.get("expires_at")
            until_text = f" until {str(until)[:10]}" if until else ""
            return f"{names.person(p.get('user_id'))} was given access to the exports{until_text}, by {actor}."
        case "referrer_access_revoked":
            return (
                f"{names.person(p.get('user_id'))}'s access to the exports was ended, by {actor}."
            )
        case "translator_assigned":
            who = names.person(p.get("user_id"), "translator")
            return f"{who} was given the moderation of this family's items (as a translator), by {actor}."
        case "translator_removed":
            who = names.person(p.get("user_id"), "translator")
            return f"{who}'s moderation of this family's items (as a translator) was ended, by {actor}."
        case "item_submitted":
            if p.get("direction") == "to_parent":
                return f"A {_item_word(p)} to the parent was handed in{_parts(p)}, by {actor}."
            return f"A {_item_word(p)} to the child was sent{_parts(p)} by {actor}."
        case "reply_submitted":
            # The reply is the child's; the staff member only typed it (or photographed it).
            child = names.child(p.get("child_id"))
            return f"Reply from {child}{_parts(p)}, typed by {actor}."
        case "item_in_review":
            return "It waited for a moderator (every item is checked before delivery)."
        case "item_moderated":
            decision = _DECISIONS.get(str(p.get("decision")), str(p.get("decision", "decided")))
            extra = blacked_out_words(p.get("redactions"))
            if p.get("awaiting_second_approval"):
                extra += "; waiting for a second moderator"
            return f"Moderated by {actor}: {decision}{extra}."
        case "item_approved":
            if p.get("confirms_decision_id"):
                return f"Approval confirmed by a second moderator, {actor}."
            return "Approved for delivery."
        case "item_delivered":
            return "Delivered: ready to be read."
        case "item_returned":
            return f"Returned to the sender by {actor}, with the message {_quote(p.get('message', ''))}"
        case "item_rejected":
            return f"Rejected by {actor}. Reason: {_quote(p.get('reason', ''))}"
        case "item_opened":
            child = names.child(p.get("child_id"))
            again = "" if p.get("first_opening", True) else " again"
            return f"Opened{again} by {child}, with {actor}."
        case "gift_logged":
            return f"A physical gift was received at the centre and logged by {actor}."
        case "gift_checked":
            return f"The gift was checked by {actor}."
        case "gift_handed_over":
            return f"The gift was handed to the child by {actor}."
        case "gift_returned":
            return f"The gift was returned, by {actor}."
        case "opening_session_started":
            child = names.child(p.get("child_id"))
            return f"{child} came to an opening session with {actor}."
        case "opening_session_ended":
            count = p.get("items_opened")
            opened = (
                f"; {count} item{'s' if count != 1 else ''} opened"
                if isinstance(count, int)
                else ""
            )
            length = ""
            start, end = p.get("started_at"), p.get("ended_at")
            if isinstance(start, str) and isinstance(end, str):
                try:
                    length = f" after {_minutes(rf.parse_time(end) - rf.parse_time(start))}"
                except rf.RecordFormatError:
                    length = ""
            return f"The opening session ended{length}{opened}."
        case "observation_note_added":
            return f"An observation note was written by {actor}."
        case "call_scheduled" | "call_changed":
            verb = "booked" if kind == "call_scheduled" else "moved"
            start, end = _when(p.get("starts_at")), _when(p.get("ends_at"))
            window = f" for {start} to {end.split(', ')[-1]}" if start and end else ""
            supervisor = p.get("supervisor_id")
            who = f", supervised by {names.person(supervisor)}" if supervisor else ""
            return f"A video call was {verb}{window}{who}, by {actor}."
        case "call_cancelled":
            return f"The call was cancelled by {actor}: {call_cancel_reason(p)}."
        case "call_interpreter_booked" | "call_interpreter_removed":
            who = names.person(p.get("interpreter_id"), "interpreter")
            if kind == "call_interpreter_booked":
                return f"{who} was booked to interpret on the call, by {actor}."
            return f"{who} was taken off the call as interpreter, by {actor}."
        case "call_joined" | "call_left":
            people = {
                "parent": "The parent",
                "child": "The child",
                "supervisor": "The supervisor",
                "interpreter": "The interpreter",
            }
            person = people.get(str(p.get("as")), "Someone")
            verb = "joined" if kind == "call_joined" else "left"
            return f"{person} {verb} the call — {actor}."
        case "call_admitted":
            return f"The parent was admitted from the waiting room by {actor}."
        case "call_admission_lapsed":
            why = {
                "parent_left": "the parent left the call",
                "parent_rejoined": "the parent joined again from another window",
            }.get(str(p.get("why")), "the parent's connection changed")
            return (
                f"The parent's admission lapsed because {why}: they wait for the supervisor "
                "again before reaching the child."
            )
        case "call_paused":
            return f"The call was paused by {actor}: the child could not see or hear the parent."
        case "call_resumed":
            return f"The call was resumed by {actor}."
        case "call_warned":
            return f"Warning shown to the parent, from {actor}: {_quote(p.get('text', ''))}"
        case "call_stop_requested":
            return f'The child asked to stop the call (pressed "I want to stop"), with {actor}.'
        case "call_ended":
            return f"The call was ended by {actor}: {call_end_reason(p)}."
        case "call_missed":
            return "The call was missed."
        case "report_written":
            again = "revised and sent" if p.get("revised") else "written and sent"
            return f"A supervised contact report was {again} to be checked, by {actor}."
        case "report_returned":
            return (
                f"The report was returned to its author by {actor}: {_quote(p.get('comments', ''))}"
            )
        case "report_approved":
            return f"The report was checked and approved by {actor}; SHA-256 {p.get('sha256', '')}."
        case "report_downloaded":
            return f"An approved report was downloaded by {actor}."
        case "visit_booked":
            what = {"session": "A contact session", "handover": "A handover"}.get(
                str(p.get("kind")), "A pre-visit"
            )
            return f"{what} at the centre was booked for {_when(p.get('planned_at')) or '?'}, by {actor}."
        case "visit_attendance":
            met = " The two adults were at the centre together." if p.get("adults_met") else ""
            return f"Arrival and departure times were recorded by {actor}.{met}"
        case "subject_access_started":
            return f"A subject access request was started by {actor}."
        case "subject_access_span_decided":
            what = "shown, with a reason," if p.get("shown") else "blacked out again"
            return f"A part of a subject access copy was {what} by {actor}."
        case "subject_access_released":
            return f"A subject access copy was reviewed and released by {actor}."
        case "retention_changed":
            hold = "; a legal hold is set" if p.get("legal_hold") else ""
            return f"How long the family's content is kept was changed by {actor}{hold}."
        case "plan_changed":
            return f"The contact plan was set or changed by {actor}."
        case "item_beyond_plan":
            return "Sent beyond what the contact plan allows: it waits for staff to decide."
        case "concern_raised":
            held = " The item was held back." if p.get("item_withheld") else ""
            return f"A safeguarding concern was raised by {actor}.{held}"
        case "concern_acknowledged":
            return f"The safeguarding concern was acknowledged by {actor}."
        case "concern_action_recorded":
            return f"The action taken on the safeguarding concern was recorded by {actor}."
        case "export_made":
            period = f"{p.get('first_day', '?')} to {p.get('last_day', '?')}"
            count = p.get("events")
            return f"A court export for {period} ({count} events) was made by {actor}."
        case "export_downloaded":
            file = {"pdf": "court PDF", "bundle": "verification bundle"}.get(
                str(p.get("file")), "export"
            )
            made = p.get("export_seq")
            return f"The {file} of export {made} was downloaded by {actor}."
    return f"{kind.replace('_', ' ').capitalize()} ({actor})."


# --- the timeline page ---------------------------------------------------------------------


@dataclass(frozen=True)
class FamilySummary:
    id: uuid.UUID
    case_reference: str
    contact_level: ContactLevel
    centre_name: str

    @property
    def supervised(self) -> bool:
        return self.contact_level is ContactLevel.SUPERVISED


async def family_summary(session: AsyncSession, family_id: uuid.UUID) -> tuple[Family, str]:
    row = (
        await session.execute(
            select(Family, Centre.name)
            .join(Centre, Centre.id == Family.centre_id)
            .where(Family.id == family_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound()
    return row[0], row[1]


@dataclass(frozen=True)
class TimelineQuery:
    """The page's filters: whole UK days (inclusive) and event groups (empty = all)."""

    first_day: date | None = None
    last_day: date | None = None
    groups: frozenset[str] = frozenset()

    @classmethod
    def from_params(cls, params: Mapping[str, str], groups: Sequence[str]) -> TimelineQuery:
        first = params.get("from", "").strip()
        last = params.get("to", "").strip()
        first_day = parse_day(first, "from") if first else None
        last_day = parse_day(last, "to") if last else None
        if first_day and last_day and last_day < first_day:
            raise Invalid("The end date is before the start date.", field="to")
        unknown = [g for g in groups if g not in KIND_GROUPS]
        if unknown:
            raise Invalid("Please choose kinds of event from the list.", field="kind")
        return cls(first_day, last_day, frozenset(groups))

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(k for g in self.groups for k in KIND_GROUPS[g][1])


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    family_seq: int
    at: datetime
    kind: str
    group: str
    actor_role: str
    actor: str
    text: str
    payload: Any
    note: str | None = None
    note_author: str | None = None

    @property
    def when(self) -> str:
        return format_moment(self.at)


@dataclass(frozen=True)
class Timeline:
    family: FamilySummary
    query: TimelineQuery
    entries: list[TimelineEntry]
    total: int
    truncated: bool


async def entries_for(
    session: AsyncSession,
    keyring: KeyRing,
    family: Family,
    events: Sequence[tuple[int, int, datetime, str | None, str, str, Any]],
) -> list[TimelineEntry]:
    """Timeline entries for events given as (seq, family_seq, at, actor_id, actor_role, kind,
    parsed payload): sealed values opened, names filled in, notes attached (supervised only)."""
    sealer = KeyRingPayloadSealer(keyring)
    # The key ring reads the family key with session.get, which hits the identity map only
    # while someone holds the row (the map is weak): holding it here saves a query per value.
    family_key_row = await session.get(FamilyKey, family.id)
    opened = [await open_payload(session, family.id, e[6], sealer) for e in events]
    user_ids: list[str | None] = [e[3] for e in events]
    for payload in opened:
        user_ids.extend(_user_ids_in(payload))
    names = await load_names(session, family.id, user_ids, keyring)
    note_ids = [
        str(p.get("note_id"))
        for e, p in zip(events, opened, strict=True)
        if e[5] == "observation_note_added" and isinstance(p, dict)
    ]
    notes = await note_texts(session, keyring, family, note_ids)
    note_authors = await load_names(session, family.id, [a for _, a in notes.values()])
    out = []
    for (seq, family_seq, at, actor_id, actor_role, kind, _sealed), payload in zip(
        events, opened, strict=True
    ):
        payload = payload if isinstance(payload, dict) else {}
        actor = names.person(actor_id, actor_role)
        note = notes.get(str(payload.get("note_id"))) if kind == "observation_note_added" else None
        out.append(
            TimelineEntry(
                seq=seq,
                family_seq=family_seq,
                at=at,
                kind=kind,
                group=group_of(kind),
                actor_role=actor_role,
                actor=actor,
                text=describe(kind, payload, actor, names),
                payload=payload,
                note=None if note is None else note[0],
                note_author=None if note is None else note_authors.person(note[1]),
            )
        )
    del family_key_row
    return out


async def family_timeline(
    session: AsyncSession,
    keyring: KeyRing,
    family_id: uuid.UUID,
    query: TimelineQuery,
    *,
    limit: int = TIMELINE_LIMIT,
) -> Timeline:
    """The family's events matching ``query``, oldest first, at most ``limit`` of them."""
    family, centre_name = await family_summary(session, family_id)
    conditions = [RecordEvent.family_id == family_id]
    if query.first_day is not None:
        conditions.append(RecordEvent.at >= uk_day_start(query.first_day))
    if query.last_day is not None:
        conditions.append(RecordEvent.at < uk_day_start(query.last_day + timedelta(days=1)))
    if query.groups:
        conditions.append(RecordEvent.kind.in_(sorted(query.kinds)))
    total = int(
        await session.scalar(select(func.count()).select_from(RecordEvent).where(*conditions)) or 0
    )
    rows = (
        await session.scalars(
            select(RecordEvent).where(*conditions).order_by(RecordEvent.family_seq).limit(limit)
        )
    ).all()
    events = [
        (
            r.seq,
            r.family_seq,
            r.at,
            None if r.actor_id is None else str(r.actor_id),
            r.actor_role,
            r.kind,
            rf.parse_canonical(r.payload),
        )
        for r in rows
    ]
    summary = FamilySummary(family.id, family.case_reference, family.contact_level, centre_name)
    entries = await entries_for(session, keyring, family, events)
    return Timeline(summary, query, entries, total, total > len(entries))
