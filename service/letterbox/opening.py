"""Opening sessions: a staff member opens approved items with a child on a centre device.

The session binds a device (a random token in a cookie, only its hash kept) to one child. The
child view shows delivered copies only, one item at a time; every opening is recorded with the
time and the staff member. Leaving the child view needs the staff member's password, so a child
cannot wander into staff pages: ``devicelock`` sends every other request from the device back
to the child view while the session is live. Ending the session records the attendance times. Supervised
families may get observation notes; supported families cannot, by rule here and by the
database's constraint.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import confirm_staff_password
from service.appkeys import KEYRING, SETTINGS
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.http.access import Actor
from service.i18n import _
from service.letterbox.moderation import delivered_parts
from service.services import Services
from storage.children import open_child
from storage.keyring import KeyRing
from storage.models import (
    Child,
    ContactLevel,
    Direction,
    Family,
    Item,
    ItemOpening,
    ItemStatus,
    ObservationNote,
    OpeningSession,
    PartKind,
)

DELIVERED = frozenset({ItemStatus.APPROVED, ItemStatus.OPENED})
NOTE_PURPOSE = "observation-note"
MAX_NOTE_CHARS = 10_000


def device_cookie_name(secure: bool) -> str:
    return "__Host-letterbox-child" if secure else "letterbox-child"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class StartedSession:
    session_id: uuid.UUID
    device_token: str


async def start_session(
    app: web.Application, actor: Actor, family_id: uuid.UUID, child_id: uuid.UUID
) -> StartedSession:
    token = secrets.token_urlsafe(32)
    async with Services.of(app).transaction(actor) as work:
        child = await work.session.get(Child, child_id)
        if child is None or child.family_id != family_id:
            raise Invalid("Choose one of this family's children.", field="child_id")
        now = datetime.now(UTC)
        opening = OpeningSession(
            id=uuid.uuid4(),
            family_id=family_id,
            child_id=child_id,
            staff_id=actor.user_id,
            device_token_hash=token_hash(token),
            started_at=now,
        )
        work.session.add(opening)
        await work.session.flush()
        await work.record(
            family_id,
            "opening_session_started",
            {
                "session_id": opening.id,
                "child_id": child_id,
                "staff_id": actor.user_id,
                "started_at": now,
            },
        )
    return StartedSession(opening.id, token)


async def active_session(session: AsyncSession, session_id: uuid.UUID) -> OpeningSession:
    opening = await session.get(OpeningSession, session_id)
    if opening is None:
        raise NotFound()
    if opening.ended_at is not None:
        raise Conflict("This opening session has ended.", code="session_ended")
    return opening


def check_device(request: web.Request, opening: OpeningSession) -> None:
    """The child view only works on the device the session was started on."""
    settings = request.app[SETTINGS]
    token = request.cookies.get(device_cookie_name(settings.secure_cookies), "")
    if (
        opening.device_token_hash is None
        or not token
        or not secrets.compare_digest(token_hash(token), opening.device_token_hash)
    ):
        raise Forbidden(
            "This child view is not open on this device. Start an opening session here first.",
            code="wrong_device",
        )


def _for_child(opening: OpeningSession) -> Any:
    return (
        (Item.family_id == opening.family_id)
        & (Item.direction == Direction.TO_CHILD)
        & Item.status.in_(DELIVERED)
        & or_(Item.child_id.is_(None), Item.child_id == opening.child_id)
    )


async def child_items(session: AsyncSession, opening: OpeningSession) -> list[Item]:
    """Items for the child: not yet opened first (oldest first), then those opened before."""
    items = (
        await session.scalars(
            select(Item)
            .where(_for_child(opening))
            .order_by((Item.status == ItemStatus.OPENED), Item.submitted_at, Item.id)
        )
    ).all()
    return list(items)


async def child_item(session: AsyncSession, opening: OpeningSession, item_id: uuid.UUID) -> Item:
    item = await session.scalar(select(Item).where(Item.id == item_id, _for_child(opening)))
    if item is None:
        raise NotFound()
    return item


async def delivered_content(
    app: web.Application, session: AsyncSession, item: Item, url_base: str
) -> dict[str, Any]:
    """The delivered copy: redacted text and links to the delivered pictures. Nothing else."""
    text, parts = await delivered_parts(app, session, item.id)
    return {
        "item_id": str(item.id),
        "kind": item.kind.value,
        "text": text,
        "pictures": [
            {"part_id": str(p.id), "url": f"{url_base}/{p.id}"}
            for p in parts
            if p.kind is not PartKind.TEXT
        ],
    }


async def open_item(
    app: web.Application, actor: Actor, session_id: uuid.UUID, item_id: uuid.UUID
) -> None:
    async with Services.of(app).transaction(actor) as work:
        opening = await active_session(work.session, session_id)
        item = await child_item(work.session, opening, item_id)
        now = datetime.now(UTC)
        first = item.status is ItemStatus.APPROVED
        if first:
            item.status = ItemStatus.OPENED
            item.opened_at = now
        opened = ItemOpening(
            id=uuid.uuid4(),
            session_id=opening.id,
            item_id=item.id,
            staff_id=actor.user_id,
            opened_at=now,
        )
        work.session.add(opened)
        await work.session.flush()
        await work.record(
            opening.family_id,
            "item_opened",
            {
                "item_id": item.id,
                "session_id": opening.id,
                "child_id": opening.child_id,
                "staff_id": actor.user_id,
                "opening_id": opened.id,
                "first_opening": first,
            },
        )


async def leave_child_view(
    app: web.Application, actor: Actor, session_id: uuid.UUID, password: str
) -> None:
    """Only the staff member's password takes the device out of the child view.

    Guessing is slowed like sign-in (a growing delay per opening session), so a child at
    the device cannot simply keep trying."""
    await confirm_staff_password(Services.of(app), actor.user_id, f"leave:{session_id}", password)
    async with Services.of(app).transaction(actor) as work:
        opening = await work.session.get(OpeningSession, session_id)
        if opening is None:
            raise NotFound()
        # Unlocking the device is plumbing (exempt from the record); ending records attendance.
        opening.device_token_hash = None


async def end_session(app: web.Application, actor: Actor, session_id: uuid.UUID) -> dict[str, Any]:
    async with Services.of(app).transaction(actor) as work:
        opening = await active_session(work.session, session_id)
        now = datetime.now(UTC)
        opening.ended_at = now
        opening.device_token_hash = None
        opened = await work.session.scalar(
            select(func.count())
            .select_from(ItemOpening)
            .where(ItemOpening.session_id == opening.id)
        )
        await work.session.flush()
        await work.record(
            opening.family_id,
            "opening_session_ended",
            {
                "session_id": opening.id,
                "child_id": opening.child_id,
                "staff_id": opening.staff_id,
                "started_at": opening.started_at,
                "ended_at": now,
                "items_opened": int(opened or 0),
            },
        )
        return {
            "session_id": str(opening.id),
            "started_at": opening.started_at.isoformat(),
            "ended_at": now.isoformat(),
            "items_opened": int(opened or 0),
        }


class NotesNotAllowed(Forbidden):
    code = "notes_not_allowed"


async def add_observation_note(
    app: web.Application, actor: Actor, session_id: uuid.UUID, text: str
) -> uuid.UUID:
    text = text.strip()
    if not text:
        raise Invalid("Please write the note.", field="text")
    if len(text) > MAX_NOTE_CHARS:
        raise Invalid(
            _("A note may be at most {limit} characters.").format(limit=f"{MAX_NOTE_CHARS:,}"),
            field="text",
        )
    async with Services.of(app).transaction(actor) as work:
        opening = await work.session.get(OpeningSession, session_id)
        if opening is None:
            raise NotFound()
        family = await work.session.get(Family, opening.family_id)
        assert family is not None  # noqa: S101 - foreign key
        if family.contact_level is not ContactLevel.SUPERVISED:
            raise NotesNotAllowed(
                "Observation notes are kept only for supervised contact. This family has "
                "supported contact, where only the dates and times of attendance are recorded."
            )
        plaintext = text.encode("utf-8")
        note = ObservationNote(
            id=uuid.uuid4(),
            family_id=family.id,
            contact_level=family.contact_level,
            author_id=actor.user_id,
            opening_session_id=opening.id,
            text_sealed=await app[KEYRING].seal_for_family(
                work.session, family.id, plaintext, NOTE_PURPOSE
            ),
            written_at=datetime.now(UTC),
        )
        work.session.add(note)
        await work.session.flush()
        await work.record(
            family.id,
            "observation_note_added",
            {
                "note_id": note.id,
                "session_id": opening.id,
                "sha256": hashlib.sha256(plaintext).hexdigest(),
            },
        )
        return note.id


async def staff_session_view(
    session: AsyncSession, keyring: KeyRing, session_id: uuid.UUID
) -> dict[str, Any]:
    opening = await session.get(OpeningSession, session_id)
    if opening is None:
        raise NotFound()
    family = await session.get(Family, opening.family_id)
    child = await session.get(Child, opening.child_id)
    assert family is not None and child is not None  # noqa: S101 - foreign keys
    facts = await open_child(session, keyring, child)
    openings = (
        await session.scalars(
            select(ItemOpening)
            .where(ItemOpening.session_id == opening.id)
            .order_by(ItemOpening.opened_at)
        )
    ).all()
    return {
        "session": opening,
        "family": family,
        "child": facts,
        "openings": openings,
        "notes_allowed": family.contact_level is ContactLevel.SUPERVISED,
    }
