"""Letter text for a copy that leaves the centre (subject access), with other people's
personal data found by the scanner so it can be blacked out by default.

``held_text`` is the words the centre holds of an item: the delivered copy (the moderator's
redactions applied) when there is one, otherwise the sanitised text; ``child_observation_notes`` the notes staff wrote about a child's
sessions and calls. ``personal_spans`` points
at other people in a text: the names the caller knows (each with a label saying who they are,
matched as the scanner matches a family's sensitive terms: any distinctive word of a name,
plurals and one typing slip) and the contact details the scanner finds (e-mail addresses,
phone numbers, postcodes, addresses, social media, meeting places). The subject's own names
are never matched alone. ``black_out`` writes each span as the letterbox's one fixed block.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.letterbox.intake import sensitive_terms
from service.letterbox.opening import NOTE_PURPOSE
from service.letterbox.redaction import BLOCK, Span, redact_text
from service.letterbox.scanner import Category, category_label, scan
from service.services import Services
from storage.models import Call, ItemPart, ObservationNote, OpeningSession, PartKind, StoredObject

__all__ = [
    "BLACKED_OUT",
    "PersonalSpan",
    "black_out",
    "child_observation_notes",
    "family_sensitive_terms",
    "held_text",
    "personal_spans",
]

BLACKED_OUT = BLOCK


@dataclass(frozen=True)
class PersonalSpan:
    start: int
    end: int
    label: str
    """Who or what it is: "another parent", "staff", "phone number"…"""


async def held_text(services: Services, session: AsyncSession, item_id: uuid.UUID) -> str:
    """The words of an item's text parts, as delivered, or as sanitised when not delivered."""
    parts = (
        await session.scalars(
            select(ItemPart)
            .where(ItemPart.item_id == item_id, ItemPart.kind == PartKind.TEXT)
            .order_by(ItemPart.position)
        )
    ).all()
    texts = []
    for part in parts:
        object_id = part.delivered_object_id or part.sanitised_object_id
        stored = await session.get(StoredObject, object_id) if object_id is not None else None
        if stored is not None:
            texts.append((await services.store.read_bytes(session, stored)).decode("utf-8"))
    return "\n\n".join(texts)


async def family_sensitive_terms(
    services: Services, session: AsyncSession, family_id: uuid.UUID
) -> list[str]:
    """The family's sensitive terms (names never to use, school, street…), unsealed."""
    return await sensitive_terms(session, services.keyring, family_id)


async def child_observation_notes(
    services: Services, session: AsyncSession, family_id: uuid.UUID, child_id: uuid.UUID
) -> list[tuple[datetime, str]]:
    """The observation notes written at the child's opening sessions and calls, oldest
    first, unsealed (supervised families only hold any)."""
    notes = (
        await session.scalars(
            select(ObservationNote)
            .where(
                ObservationNote.family_id == family_id,
                or_(
                    ObservationNote.opening_session_id.in_(
                        select(OpeningSession.id).where(OpeningSession.child_id == child_id)
                    ),
                    ObservationNote.call_id.in_(select(Call.id).where(Call.child_id == child_id)),
                ),
            )
            .order_by(ObservationNote.written_at)
        )
    ).all()
    return [
        (
            note.written_at,
            (
                await services.keyring.open_for_family(
                    session, family_id, bytes(note.text_sealed), NOTE_PURPOSE
                )
            ).decode("utf-8", errors="replace"),
        )
        for note in notes
    ]


def personal_spans(
    text: str, people: Sequence[tuple[str, str]], own_names: Sequence[str] = ()
) -> list[PersonalSpan]:
    """Where ``text`` names one of ``people`` (``(name, label)``) or holds contact details.

    ``own_names`` are the words of the subject's own name: they never match alone."""
    names = [name for name, _ in people if name.strip()]
    hits = scan(text, names, first_names=list(own_names))
    found = []
    for hit in hits:
        if hit.category is Category.SENSITIVE_TERM:
            label = next(
                (
                    who
                    for name, who in people
                    if name.strip() and scan(hit.matched_text, [name], first_names=own_names)
                ),
                "another person",
            )
        else:
            label = category_label(hit.category)
        found.append(PersonalSpan(hit.start, hit.end, label))
    return found


def black_out(text: str, spans: Sequence[tuple[int, int]]) -> str:
    return redact_text(text, [Span(start, end) for start, end in spans if 0 <= start < end])
