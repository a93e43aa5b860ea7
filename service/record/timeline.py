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
from service.i18n import N_, _
from service.localtime import local_day
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
        N_("Letters, replies and digital gifts"),
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
        N_("Physical gifts"),
        frozenset({"gift_logged", "gift_checked", "gift_handed_over", "gift_returned"}),
    ),
    "attendance": (
        N_("Attendance (opening sessions, in-centre visits)"),
        frozenset(
            {"opening_session_started", "opening_session_ended", "visit_booked", "visit_attendance"}
        ),
    ),
    "calls": (
        N_("Video calls"),
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
    "notes": (N_("Observation notes"), frozenset({"observation_note_added"})),
    "family": (
        N_("Family, senders and referrer access"),
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
    "exports": (N_("Court exports"), frozenset({"export_made", "export_downloaded"})),
    "reports": (
        N_("Supervised contact reports"),
        frozenset({"report_written", "report_returned", "report_approved", "report_downloaded"}),
    ),
    "plan": (N_("Contact plan"), frozenset({"plan_changed", "item_beyond_plan"})),
    "concerns": (
        N_("Safeguarding concerns"),
        frozenset({"concern_raised", "concern_acknowledged", "concern_action_recorded"}),
    ),
}
_GROUP_OF: Final = {kind: group for group, (_label, kinds) in KIND_GROUPS.items() for kind in kinds}

# Labels for the reasons the calls pages offer (service.calls); unknown values show as given.
_CALL_END_REASONS: Final = {
    "completed": N_("the call finished normally"),
    "child_asked_to_stop": N_("the child asked to stop"),
    "child_upset": N_("the child was upset"),
    "inappropriate_conversation": N_("inappropriate conversation"),
    "safety_concern": N_("a safety concern"),
    "technical_problem": N_("technical problems"),
    "parent_did_not_attend": N_("the parent did not attend"),
    "window_ended": N_("the booked time was over"),
    "media_node_lost": N_("the server running the call stopped"),
}
_CALL_CANCEL_REASONS: Final = {
    "parent_unavailable": N_("the parent cannot attend"),
    "child_unavailable": N_("the child cannot attend"),
    "centre_unavailable": N_("the centre cannot host it"),
    "booked_in_error": N_("booked in error"),
    "contact_suspended": N_("contact is suspended"),
}


def call_end_reason(payload: Mapping[str, Any]) -> str:
    """Why a call ended, in words (the court PDF's summary says it apart from the sentence)."""
    return _reason(_CALL_END_REASONS, payload.get("reason"))


def call_cancel_reason(payload: Mapping[str, Any]) -> str:
    return _reason(_CALL_CANCEL_REASONS, payload.get("reason"))


_DECISIONS: Final = {
    "approve": N_("approved"),
    # Whether parts were blacked out is said from the counts, never from the decision's name.
    "approve_with_redactions": N_("approved"),
    "confirm": N_("approval confirmed by a second moderator"),
    "return": N_("returned to the sender"),
    "reject": N_("rejected"),
}


def _count(number: int, one: str, many: str) -> str:
    """``one`` (the phrase for 1) or ``many`` (with ``{n}``), in the reader's language."""
    return _(one) if number == 1 else _(many).format(n=number)


def _reason(reasons: Mapping[str, str], value: Any) -> str:
    """A known reason in the reader's language; an unknown one as it was recorded."""
    words = reasons.get(str(value))
    return _(words) if words is not None else str(value if value is not None else "")


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
        parts.append(_count(spans, N_("1 passage of text"), N_("{n} passages of text")))
    if boxes > 0:
        parts.append(_count(boxes, N_("1 area of a picture"), N_("{n} areas of pictures")))
    if not parts:
        return ""
    return _(" with parts blacked out ({parts})").format(parts=", ".join(parts))


_ROLES: Final = {
    "admin": N_("centre admin"),
    "staff": N_("staff member"),
    "supervisor": N_("supervisor"),
    "parent": N_("parent"),
    "referrer": N_("referrer"),
    "interpreter": N_("interpreter"),
    "translator": N_("translator"),
    "system": N_("Letterbox (automatic)"),
}
# Someone whose name is not known, by role: whole phrases ("an interpreter", never "a" + word).
_SOMEONE_AS: Final = {
    "admin": N_("a centre admin"),
    "staff": N_("a staff member"),
    "supervisor": N_("a supervisor"),
    "parent": N_("a parent"),
    "referrer": N_("a referrer"),
    "interpreter": N_("an interpreter"),
    "translator": N_("a translator"),
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
    """ "Thu 3 December 2026", the day and month named in the reader's language."""
    return local_day(day, "%a %-d %B %Y")


def _minutes(delta: timedelta) -> str:
    total = max(int(delta.total_seconds() + 30) // 60, 0)
    if total < 60:
        return _("{minutes} min").format(minutes=total)
    return _("{hours} h {minutes} min").format(hours=total // 60, minutes=f"{total % 60:02d}")


# --- payloads, names and notes ----------------------------------------------------------


@dataclass
class Names:
    """Display names for the ids that events carry: users and the family's children."""

    users: dict[str, str] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)

    def person(self, user_id: Any, role: str | None = None) -> str:
        name = self.users.get(str(user_id)) if user_id else None
        known = _ROLES.get(role or "")
        label = _(known) if known is not None else (role or _("someone"))
        if role == "system":
            return label
        if name:
            return _("{name} ({role})").format(name=name, role=label) if role else name
        if not role:
            return _("someone")
        someone = _SOMEONE_AS.get(role)
        return _(someone) if someone is not None else f"a {label}"

    def child(self, child_id: Any) -> str:
        name = self.children.get(str(child_id)) if child_id else None
        return name or _("the child")


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
    return f"“{text}”" if text else _("(no text)")


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


def _parts(payload: Mapping[str, Any]) -> str:
    """ " with 2 photos and 1 document", or "" for an item of words only."""
    parts = payload.get("parts")
    if not isinstance(parts, list) or not parts:
        return ""
    kinds = [p.get("kind") for p in parts if isinstance(p, dict)]
    images = sum(1 for k in kinds if k == "image")
    documents = sum(1 for k in kinds if k == "document")
    photos = _count(images, N_("1 photo"), N_("{n} photos")) if images else ""
    files = _count(documents, N_("1 document"), N_("{n} documents")) if documents else ""
    if photos and files:
        return _(" with {photos} and {documents}").format(photos=photos, documents=files)
    if photos or files:
        return _(" with {things}").format(things=photos or files)
    return ""


# What each kind of family change reads as; an unknown one still reads as a sentence.
_FAMILY_CHANGES = {
    "settings": N_("The family's settings were changed by {actor}."),
    "child_added": N_("A child was added to the family by {actor}."),
    "child_changed": N_("A child's details were changed by {actor}."),
    "child_removed": N_("A child was removed from the family by {actor}."),
    "sensitive_term_added": N_("Sensitive term added, by {actor}."),
    "sensitive_term_removed": N_("Sensitive term removed, by {actor}."),
}
_RECORD_OPENED: Final = {
    "supported": N_("The family's record was opened (supported contact) by {actor}."),
    "supervised": N_("The family's record was opened (supervised contact) by {actor}."),
}
# An item sent or handed in, by its kind: whole sentences, {parts} is " with 2 photos" or "".
_SENT_TO_CHILD: Final = {
    "letter": N_("A letter to the child was sent{parts} by {actor}."),
    "reply": N_("A reply to the child was sent{parts} by {actor}."),
    "digital_gift": N_("A digital gift to the child was sent{parts} by {actor}."),
}
_HANDED_IN_FOR_PARENT: Final = {
    "letter": N_("A letter to the parent was handed in{parts}, by {actor}."),
    "reply": N_("A reply to the parent was handed in{parts}, by {actor}."),
    "digital_gift": N_("A digital gift to the parent was handed in{parts}, by {actor}."),
}
# Who joined or left a call, as one sentence each.
_CALL_PRESENCE: Final = {
    ("parent", True): N_("The parent joined the call — {actor}."),
    ("parent", False): N_("The parent left the call — {actor}."),
    ("child", True): N_("The child joined the call — {actor}."),
    ("child", False): N_("The child left the call — {actor}."),
    ("supervisor", True): N_("The supervisor joined the call — {actor}."),
    ("supervisor", False): N_("The supervisor left the call — {actor}."),
    ("interpreter", True): N_("The interpreter joined the call — {actor}."),
    ("interpreter", False): N_("The interpreter left the call — {actor}."),
}
_ADMISSION_LAPSED: Final = {
    "parent_left": N_("the parent left the call"),
    "parent_rejoined": N_("the parent joined again from another window"),
}
_VISIT_BOOKED: Final = {
    "session": N_("A contact session at the centre was booked for {when}, by {actor}."),
    "handover": N_("A handover at the centre was booked for {when}, by {actor}."),
}
_EXPORT_FILES: Final = {
    "pdf": N_("The court PDF of export {made} was downloaded by {actor}."),
    "bundle": N_("The verification bundle of export {made} was downloaded by {actor}."),
}


def describe(kind: str, payload: Mapping[str, Any], actor: str, names: Names) -> str:
    """One plain-language sentence for an event, in the reader's language; ``actor`` is who
    caused it, already named. Each sentence is one message, so a translator can reorder it."""
    p = payload
    match kind:
        case "family_created":
            level = str(p.get("contact_level", "")) or "unknown"
            record_opened = _RECORD_OPENED.get(level)
            if record_opened is not None:
                return _(record_opened).format(actor=actor)
            return _("The family's record was opened ({level} contact) by {actor}.").format(
                level=level, actor=actor
            )
        case "family_changed":
            sentence = _FAMILY_CHANGES.get(str(p.get("change")))
            if sentence is not None:
                return _(sentence).format(actor=actor)
            what = str(p.get("change", "details")).replace("_", " ")
            return _("The family's {what} changed, by {actor}.").format(what=what, actor=actor)
        case "family_shredded":
            return _("The family's content was permanently erased (its key was destroyed).")
        case "sender_approved":
            person = names.person(p.get("user_id"))
            relation = p.get("relationship")
            if isinstance(relation, str):
                return _("{person} ({relation}) was allowed to send, by {actor}.").format(
                    person=person, relation=relation, actor=actor
                )
            return _("{person} was allowed to send, by {actor}.").format(person=person, actor=actor)
        case "sender_removed":
            return _("{person} was stopped from sending, by {actor}.").format(
                person=names.person(p.get("user_id")), actor=actor
            )
        case "referrer_access_granted":
            person = names.person(p.get("user_id"))
            until = p.get("expires_at")
            if until:
                return _(
                    "{person} was given access to the exports until {day}, by {actor}."
                ).format(person=person, day=str(until)[:10], actor=actor)
            return _("{person} was given access to the exports, by {actor}.").format(
                person=person, actor=actor
            )
        case "referrer_access_revoked":
            return _("{person}'s access to the exports was ended, by {actor}.").format(
                person=names.person(p.get("user_id")), actor=actor
            )
        case "translator_assigned":
            who = names.person(p.get("user_id"), "translator")
            return f"{who} was given the moderation of this family's items (as a translator), by {actor}."
        case "translator_removed":
            who = names.person(p.get("user_id"), "translator")
            return f"{who}'s moderation of this family's items (as a translator) was ended, by {actor}."
        case "item_submitted":
            item_kind = str(p.get("item_kind"))
            if p.get("direction") == "to_parent":
                sentence = _HANDED_IN_FOR_PARENT.get(item_kind) or N_(
                    "An item to the parent was handed in{parts}, by {actor}."
                )
            else:
                sentence = _SENT_TO_CHILD.get(item_kind) or N_(
                    "An item to the child was sent{parts} by {actor}."
                )
            return _(sentence).format(parts=_parts(p), actor=actor)
        case "reply_submitted":
            # The reply is the child's; the staff member only typed it (or photographed it).
            return _("Reply from {child}{parts}, typed by {actor}.").format(
                child=names.child(p.get("child_id")), parts=_parts(p), actor=actor
            )
        case "item_in_review":
            return _("It waited for a moderator (every item is checked before delivery).")
        case "item_moderated":
            decision = _reason(_DECISIONS, p.get("decision", "decided"))
            extra = blacked_out_words(p.get("redactions"))
            if p.get("awaiting_second_approval"):
                extra += _("; waiting for a second moderator")
            return _("Moderated by {actor}: {decision}{extra}.").format(
                actor=actor, decision=decision, extra=extra
            )
        case "item_approved":
            if p.get("confirms_decision_id"):
                return _("Approval confirmed by a second moderator, {actor}.").format(actor=actor)
            return _("Approved for delivery.")
        case "item_delivered":
            return _("Delivered: ready to be read.")
        case "item_returned":
            return _("Returned to the sender by {actor}, with the message {message}").format(
                actor=actor, message=_quote(p.get("message", ""))
            )
        case "item_rejected":
            return _("Rejected by {actor}. Reason: {reason}").format(
                actor=actor, reason=_quote(p.get("reason", ""))
            )
        case "item_opened":
            child = names.child(p.get("child_id"))
            if p.get("first_opening", True):
                return _("Opened by {child}, with {actor}.").format(child=child, actor=actor)
            return _("Opened again by {child}, with {actor}.").format(child=child, actor=actor)
        case "gift_logged":
            return _("A physical gift was received at the centre and logged by {actor}.").format(
                actor=actor
            )
        case "gift_checked":
            return _("The gift was checked by {actor}.").format(actor=actor)
        case "gift_handed_over":
            return _("The gift was handed to the child by {actor}.").format(actor=actor)
        case "gift_returned":
            return _("The gift was returned, by {actor}.").format(actor=actor)
        case "opening_session_started":
            return _("{child} came to an opening session with {actor}.").format(
                child=names.child(p.get("child_id")), actor=actor
            )
        case "opening_session_ended":
            count = p.get("items_opened")
            opened = (
                _count(count, N_("; 1 item opened"), N_("; {n} items opened"))
                if isinstance(count, int)
                else ""
            )
            length = ""
            start, end = p.get("started_at"), p.get("ended_at")
            if isinstance(start, str) and isinstance(end, str):
                try:
                    took = _minutes(rf.parse_time(end) - rf.parse_time(start))
                    length = _(" after {length}").format(length=took)
                except rf.RecordFormatError:
                    length = ""
            return _("The opening session ended{length}{opened}.").format(
                length=length, opened=opened
            )
        case "observation_note_added":
            return _("An observation note was written by {actor}.").format(actor=actor)
        case "call_scheduled" | "call_changed":
            start, end = _when(p.get("starts_at")), _when(p.get("ends_at"))
            window = (
                _(" for {start} to {end}").format(start=start, end=end.split(", ")[-1])
                if start and end
                else ""
            )
            supervisor = p.get("supervisor_id")
            who = (
                _(", supervised by {person}").format(person=names.person(supervisor))
                if supervisor
                else ""
            )
            sentence = (
                N_("A video call was booked{window}{who}, by {actor}.")
                if kind == "call_scheduled"
                else N_("A video call was moved{window}{who}, by {actor}.")
            )
            return _(sentence).format(window=window, who=who, actor=actor)
        case "call_cancelled":
            return _("The call was cancelled by {actor}: {reason}.").format(
                actor=actor, reason=_reason(_CALL_CANCEL_REASONS, p.get("reason", ""))
            )
        case "call_interpreter_booked" | "call_interpreter_removed":
            who = names.person(p.get("interpreter_id"), "interpreter")
            if kind == "call_interpreter_booked":
                return _("{who} was booked to interpret on the call, by {actor}.").format(
                    who=who, actor=actor
                )
            return _("{who} was taken off the call as interpreter, by {actor}.").format(
                who=who, actor=actor
            )
        case "call_joined" | "call_left":
            joined = kind == "call_joined"
            sentence = _CALL_PRESENCE.get((str(p.get("as")), joined))
            if sentence is None:
                sentence = (
                    N_("Someone joined the call — {actor}.")
                    if joined
                    else N_("Someone left the call — {actor}.")
                )
            return _(sentence).format(actor=actor)
        case "call_admitted":
            return _("The parent was admitted from the waiting room by {actor}.").format(
                actor=actor
            )
        case "call_admission_lapsed":
            why = _ADMISSION_LAPSED.get(str(p.get("why"))) or N_("the parent's connection changed")
            return _(
                "The parent's admission lapsed because {why}: they wait for the supervisor "
                "again before reaching the child."
            ).format(why=_(why))
        case "call_paused":
            return _(
                "The call was paused by {actor}: the child could not see or hear the parent."
            ).format(actor=actor)
        case "call_resumed":
            return _("The call was resumed by {actor}.").format(actor=actor)
        case "call_warned":
            return _("Warning shown to the parent, from {actor}: {text}").format(
                actor=actor, text=_quote(p.get("text", ""))
            )
        case "call_stop_requested":
            return _(
                'The child asked to stop the call (pressed "I want to stop"), with {actor}.'
            ).format(actor=actor)
        case "call_ended":
            return _("The call was ended by {actor}: {reason}.").format(
                actor=actor, reason=_reason(_CALL_END_REASONS, p.get("reason", ""))
            )
        case "call_missed":
            return _("The call was missed.")
        case "report_written":
            if p.get("revised"):
                return _(
                    "A supervised contact report was revised and sent to be checked, by {actor}."
                ).format(actor=actor)
            return _(
                "A supervised contact report was written and sent to be checked, by {actor}."
            ).format(actor=actor)
        case "report_returned":
            return _("The report was returned to its author by {actor}: {comments}").format(
                actor=actor, comments=_quote(p.get("comments", ""))
            )
        case "report_approved":
            return _("The report was checked and approved by {actor}; SHA-256 {sha256}.").format(
                actor=actor, sha256=p.get("sha256", "")
            )
        case "report_downloaded":
            return _("An approved report was downloaded by {actor}.").format(actor=actor)
        case "visit_booked":
            sentence = _VISIT_BOOKED.get(str(p.get("kind"))) or N_(
                "A pre-visit at the centre was booked for {when}, by {actor}."
            )
            return _(sentence).format(when=_when(p.get("planned_at")) or "?", actor=actor)
        case "visit_attendance":
            recorded = _("Arrival and departure times were recorded by {actor}.").format(
                actor=actor
            )
            if p.get("adults_met"):
                return recorded + _(" The two adults were at the centre together.")
            return recorded
        case "subject_access_started":
            return _("A subject access request was started by {actor}.").format(actor=actor)
        case "subject_access_span_decided":
            if p.get("shown"):
                return _(
                    "A part of a subject access copy was shown, with a reason, by {actor}."
                ).format(actor=actor)
            return _("A part of a subject access copy was blacked out again by {actor}.").format(
                actor=actor
            )
        case "subject_access_released":
            return _("A subject access copy was reviewed and released by {actor}.").format(
                actor=actor
            )
        case "retention_changed":
            if p.get("legal_hold"):
                return _(
                    "How long the family's content is kept was changed by {actor}; a legal "
                    "hold is set."
                ).format(actor=actor)
            return _("How long the family's content is kept was changed by {actor}.").format(
                actor=actor
            )
        case "plan_changed":
            return _("The contact plan was set or changed by {actor}.").format(actor=actor)
        case "item_beyond_plan":
            return _("Sent beyond what the contact plan allows: it waits for staff to decide.")
        case "concern_raised":
            raised = _("A safeguarding concern was raised by {actor}.").format(actor=actor)
            if p.get("item_withheld"):
                return raised + _(" The item was held back.")
            return raised
        case "concern_acknowledged":
            return _("The safeguarding concern was acknowledged by {actor}.").format(actor=actor)
        case "concern_action_recorded":
            return _(
                "The action taken on the safeguarding concern was recorded by {actor}."
            ).format(actor=actor)
        case "export_made":
            return _(
                "A court export for {first_day} to {last_day} ({count} events) was made by {actor}."
            ).format(
                first_day=p.get("first_day", "?"),
                last_day=p.get("last_day", "?"),
                count=p.get("events"),
                actor=actor,
            )
        case "export_downloaded":
            sentence = _EXPORT_FILES.get(str(p.get("file"))) or N_(
                "The export of export {made} was downloaded by {actor}."
            )
            return _(sentence).format(made=p.get("export_seq"), actor=actor)
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
    note_authors = await load_names(session, family.id, [a for _text, a in notes.values()])
    out = []
    for (seq, family_seq, at, actor_id, actor_role, kind, _raw), payload in zip(
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
