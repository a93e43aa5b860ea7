"""The parent's conversation with each family: what they sent and the children's delivered
replies in one list, each sent item's own page (their words, the sanitised pictures, its
history with dates, the centre's message when it came back), each reply's page, and what a
returned letter's "Change and send again" form starts from.

Only a parent's own items and delivered replies are ever read; anything else answers like an
id that does not exist (``parent.visible_item``). Staff-only data (scanner hits, removed
metadata, moderators, reasons for not passing something on, why an item is held) never
leaves this module: statuses come from ``service.statuses``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import statuses
from service.errors import Conflict, NotFound
from service.http.rules import Actor
from service.i18n import N_, _
from service.letterbox.moderation import RETURN_PURPOSE
from service.letterbox.parent import visible_item
from service.localtime import local_time
from service.services import Services
from storage.children import child_names, open_children
from storage.keyring import KeyRing
from storage.models import (
    Centre,
    Channel,
    Direction,
    Family,
    FamilyStatus,
    Item,
    ItemKind,
    ItemOpening,
    ItemPart,
    ItemStatus,
    OpeningSession,
    PartKind,
    StoredObject,
)

# How many entries the home page lists per family; older ones are a tap away on the item.
CONVERSATION_LIMIT = 50
_DAY = "%-d %B %Y"
# A date format with a word of its own: the translator moves "at" (``_(_WHEN)`` at run time).
_WHEN = N_("%-d %B %Y at %H:%M")


@dataclass(frozen=True)
class ConversationEntry:
    item_id: uuid.UUID
    direction: str
    kind: str
    title: str
    """"Letter you sent" or "Reply from Mia"."""
    at: datetime
    at_text: str
    status: str
    status_text: str
    tone: str
    pictures: int
    url: str


@dataclass(frozen=True)
class HistoryStep:
    status: str
    words: str
    at: datetime
    at_text: str


@dataclass(frozen=True)
class Picture:
    part_id: uuid.UUID
    url: str
    download_url: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class SentItem:
    item_id: uuid.UUID
    family_id: uuid.UUID
    kind: str
    title: str
    sent_at: datetime
    sent_text: str
    status: str
    status_text: str
    status_meaning: str
    tone: str
    text: str
    pictures: list[Picture]
    history: list[HistoryStep]
    return_message: str | None
    may_resend: bool
    replaces_item_id: uuid.UUID | None
    replaced_by_item_id: uuid.UUID | None


@dataclass(frozen=True)
class Reply:
    item_id: uuid.UUID
    family_id: uuid.UUID
    child_name: str
    title: str
    sent_at: datetime
    sent_text: str
    text: str
    pictures: list[Picture] = field(default_factory=list)
    read_aloud: bool = False
    """The centre offers to read the words aloud with a voice on the parent's device."""


def _title(kind: ItemKind, direction: Direction, child: str | None) -> str:
    if direction is Direction.TO_PARENT:
        return _("Reply from {child}").format(child=child) if child else _("Reply from your child")
    return _("Digital gift you sent") if kind is ItemKind.DIGITAL_GIFT else _("Letter you sent")


def _opened_on(day: str) -> str:
    """The "Opened" status with its day, as one sentence a translator can reorder."""
    return _("Opened on {day}").format(day=day)


def item_url(item_id: uuid.UUID) -> str:
    return f"/letterbox/items/{item_id}"


async def family_conversation(
    services: Services, actor: Actor, family_id: uuid.UUID
) -> list[ConversationEntry]:
    """What the parent sent to this family and the children's delivered replies, newest
    first, in one list."""
    zone = services.settings.zone
    async with services.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Item)
                .where(
                    Item.family_id == family_id,
                    or_(
                        (Item.direction == Direction.TO_CHILD) & (Item.sender_id == actor.user_id),
                        (Item.direction == Direction.TO_PARENT)
                        & Item.status.in_([ItemStatus.APPROVED, ItemStatus.OPENED]),
                    ),
                )
                .order_by(Item.submitted_at.desc(), Item.id)
                .limit(CONVERSATION_LIMIT)
            )
        ).all()
        ids = [item.id for (item,) in rows]
        names = await child_names(session, services.keyring, (item.child_id for (item,) in rows))
        counts: dict[uuid.UUID, int] = {}
        if ids:
            for (item_id,) in (
                await session.execute(
                    select(ItemPart.item_id).where(
                        ItemPart.item_id.in_(ids), ItemPart.kind != PartKind.TEXT
                    )
                )
            ).all():
                counts[item_id] = counts.get(item_id, 0) + 1
    entries = []
    for (item,) in rows:
        child = names.get(item.child_id) if item.child_id else None
        wording = statuses.parent_words(item.status)
        code = statuses.parent_status(item.status)
        if item.direction is Direction.TO_PARENT:
            # A reply the parent can read: its own state is the child's, not theirs to follow.
            status_text, tone = statuses.REPLY_WORDS.words, statuses.REPLY_WORDS.tone
            code_text = "reply"
        else:
            status_text, tone, code_text = wording.words, wording.tone, code.value
            if code is statuses.ParentStatus.OPENED and item.opened_at is not None:
                status_text = _opened_on(local_time(item.opened_at, zone, _DAY))
        entries.append(
            ConversationEntry(
                item_id=item.id,
                direction=item.direction.value,
                kind=item.kind.value,
                title=_title(item.kind, item.direction, child),
                at=item.submitted_at,
                at_text=local_time(item.submitted_at, zone, _(_WHEN)),
                status=code_text,
                status_text=status_text,
                tone=tone,
                pictures=counts.get(item.id, 0),
                url=item_url(item.id),
            )
        )
    return entries


async def _opened_by(session: AsyncSession, keyring: KeyRing, item_id: uuid.UUID) -> str | None:
    child_id = await session.scalar(
        select(OpeningSession.child_id)
        .join(ItemOpening, ItemOpening.session_id == OpeningSession.id)
        .where(ItemOpening.item_id == item_id)
        .order_by(ItemOpening.opened_at)
        .limit(1)
    )
    return (await child_names(session, keyring, [child_id])).get(child_id) if child_id else None


async def _text_of(services: Services, session: AsyncSession, object_id: uuid.UUID) -> str:
    stored = await session.get(StoredObject, object_id)
    if stored is None:
        raise NotFound()
    return (await services.store.read_bytes(session, stored)).decode("utf-8")


async def _own_parts(
    services: Services, session: AsyncSession, item: Item
) -> tuple[str, list[Picture]]:
    """The parent's own words and the sanitised pictures of what they sent (never the
    original upload, never anything a moderator added)."""
    parts = (
        await session.scalars(
            select(ItemPart).where(ItemPart.item_id == item.id).order_by(ItemPart.position)
        )
    ).all()
    texts: list[str] = []
    pictures: list[Picture] = []
    for part in parts:
        if part.sanitised_object_id is None:
            continue
        if part.kind is PartKind.TEXT:
            texts.append(await _text_of(services, session, part.sanitised_object_id))
        else:
            pictures.append(
                Picture(
                    part.id,
                    f"/letterbox/items/{item.id}/pictures/{part.id}",
                    width=part.width,
                    height=part.height,
                )
            )
    return "\n\n".join(texts), pictures


def _history(item: Item, opened_by: str | None, services: Services) -> list[HistoryStep]:
    zone = services.settings.zone

    def step(code: statuses.ParentStatus, at: datetime, words: str | None = None) -> HistoryStep:
        return HistoryStep(
            code.value,
            words or statuses.PARENT_WORDS[code].words,
            at,
            local_time(at, zone, _(_WHEN)),
        )

    steps = [
        HistoryStep(
            "sent", _("Sent"), item.submitted_at, local_time(item.submitted_at, zone, _(_WHEN))
        ),
        step(statuses.ParentStatus.BEING_CHECKED, item.submitted_at),
    ]
    code = statuses.parent_status(item.status)
    decided = item.decided_at or item.submitted_at
    if code in (statuses.ParentStatus.APPROVED, statuses.ParentStatus.OPENED):
        steps.append(step(statuses.ParentStatus.APPROVED, decided))
    elif code is not statuses.ParentStatus.BEING_CHECKED:
        steps.append(step(code, decided))
    if code is statuses.ParentStatus.OPENED and item.opened_at is not None:
        by = _("Opened by {name}").format(name=opened_by) if opened_by else None
        steps.append(step(code, item.opened_at, by))
    return steps


async def sent_item(
    services: Services, actor: Actor, family_id: uuid.UUID, item_id: uuid.UUID
) -> SentItem:
    zone = services.settings.zone
    async with services.sessionmaker() as session:
        item = await visible_item(session, actor, family_id, item_id)
        if item.direction is not Direction.TO_CHILD:
            raise NotFound()
        text, pictures = await _own_parts(services, session, item)
        opened_by = await _opened_by(session, services.keyring, item.id) if item.opened_at else None
        message = None
        if item.status is ItemStatus.RETURNED and item.return_message_sealed is not None:
            message = (
                await services.keyring.open_for_family(
                    session, item.family_id, item.return_message_sealed, RETURN_PURPOSE
                )
            ).decode("utf-8")
        replaced_by = await session.scalar(
            select(Item.id).where(Item.replaces_item_id == item.id).limit(1)
        )
    code = statuses.parent_status(item.status)
    wording = statuses.PARENT_WORDS[code]
    status_text = wording.words
    if code is statuses.ParentStatus.OPENED and item.opened_at is not None:
        status_text = _opened_on(local_time(item.opened_at, zone, _DAY))
    return SentItem(
        item_id=item.id,
        family_id=item.family_id,
        kind=item.kind.value,
        title=_title(item.kind, item.direction, None),
        sent_at=item.submitted_at,
        sent_text=local_time(item.submitted_at, zone, _(_WHEN)),
        status=code.value,
        status_text=status_text,
        status_meaning=wording.meaning,
        tone=wording.tone,
        text=text,
        pictures=pictures,
        history=_history(item, opened_by, services),
        return_message=message,
        may_resend=code is statuses.ParentStatus.RETURNED and replaced_by is None,
        replaces_item_id=item.replaces_item_id,
        replaced_by_item_id=replaced_by,
    )


async def reply(
    services: Services, actor: Actor, family_id: uuid.UUID, item_id: uuid.UUID
) -> Reply:
    """A delivered reply: its delivered text and pictures, nothing else."""
    zone = services.settings.zone
    async with services.sessionmaker() as session:
        item = await visible_item(session, actor, family_id, item_id)
        if item.direction is not Direction.TO_PARENT:
            raise NotFound()
        names = await child_names(session, services.keyring, [item.child_id])
        text, parts = await delivered_parts_for(services, session, item.id)
        read_aloud = await session.scalar(
            select(Centre.read_aloud)
            .join(Family, Family.centre_id == Centre.id)
            .where(Family.id == item.family_id)
        )
    name = names.get(item.child_id, "") if item.child_id else ""
    return Reply(
        item_id=item.id,
        family_id=item.family_id,
        child_name=name,
        title=_title(item.kind, item.direction, name),
        sent_at=item.submitted_at,
        sent_text=local_time(item.submitted_at, zone, _(_WHEN)),
        text=text,
        pictures=[
            Picture(
                part.id,
                f"/api/items/{item.id}/parts/{part.id}/view",
                f"/api/items/{item.id}/parts/{part.id}/download",
                part.width,
                part.height,
            )
            for part in parts
            if part.kind is not PartKind.TEXT
        ],
        read_aloud=bool(read_aloud),
    )


async def delivered_parts_for(
    services: Services, session: AsyncSession, item_id: uuid.UUID
) -> tuple[str, list[ItemPart]]:
    # moderation.delivered_parts reads the vault through the app; the same through Services.
    parts = (
        await session.scalars(
            select(ItemPart).where(ItemPart.item_id == item_id).order_by(ItemPart.position)
        )
    ).all()
    texts = []
    delivered = []
    for part in parts:
        if part.delivered_object_id is None:
            continue
        delivered.append(part)
        if part.kind is PartKind.TEXT:
            texts.append(await _text_of(services, session, part.delivered_object_id))
    return "\n\n".join(texts), delivered


async def own_picture(
    services: Services, actor: Actor, family_id: uuid.UUID, item_id: uuid.UUID, part_id: uuid.UUID
) -> StoredObject:
    """The sanitised copy of a picture the parent sent themselves."""
    async with services.sessionmaker() as session:
        item = await visible_item(session, actor, family_id, item_id)
        part = await session.get(ItemPart, part_id)
        if (
            item.direction is not Direction.TO_CHILD
            or part is None
            or part.item_id != item.id
            or part.kind is PartKind.TEXT
            or part.sanitised_object_id is None
        ):
            raise NotFound()
        stored = await session.get(StoredObject, part.sanitised_object_id)
    if stored is None or not stored.media_type.startswith("image/"):
        raise NotFound()
    return stored


async def returned_item(
    session: AsyncSession, actor: Actor, family_id: uuid.UUID, item_id: uuid.UUID
) -> Item:
    """The returned item a new submission replaces: the parent's own, returned, in this
    family, and not already sent again."""
    item = await visible_item(session, actor, family_id, item_id)
    if item.direction is not Direction.TO_CHILD:
        raise NotFound()
    if item.status is not ItemStatus.RETURNED:
        raise Conflict(
            "You can only change and send again a letter the centre sent back to you.",
            code="not_returned",
        )
    again = await session.scalar(select(Item.id).where(Item.replaces_item_id == item.id).limit(1))
    if again is not None:
        raise Conflict(
            "You have already changed and sent this letter again.", code="already_resent"
        )
    return item


async def kept_pictures(
    services: Services, actor: Actor, family_id: uuid.UUID, item_id: uuid.UUID, keep: list[str]
) -> list[tuple[str, bytes]]:
    """The sanitised pictures of the returned item the parent chose to keep, as new uploads:
    they go through the whole intake again (scanner, sanitiser) like any picture."""
    wanted = set(keep)
    out: list[tuple[str, bytes]] = []
    async with services.sessionmaker() as session:
        item = await returned_item(session, actor, family_id, item_id)
        parts = (
            await session.scalars(
                select(ItemPart).where(ItemPart.item_id == item.id).order_by(ItemPart.position)
            )
        ).all()
        for part in parts:
            if str(part.id) not in wanted or part.kind is PartKind.TEXT:
                continue
            if part.sanitised_object_id is None:
                continue
            stored = await session.get(StoredObject, part.sanitised_object_id)
            if stored is None:
                continue
            extension = "png" if stored.media_type == "image/png" else "jpg"
            data = await services.store.read_bytes(session, stored)
            out.append((f"picture-{part.position}.{extension}", data))
    return out


@dataclass(frozen=True)
class WritePage:
    family_id: uuid.UUID
    children_text: str
    may_send: bool
    why_not: str | None
    """Why nothing can be sent to this family now, in plain words."""
    may_attach: bool
    text: str
    replaces: SentItem | None


async def write_page(
    services: Services, actor: Actor, family_id: uuid.UUID, replaces: uuid.UUID | None
) -> WritePage:
    """The writing form: what it may carry, and for "Change and send again" the returned
    letter's words and pictures with the centre's message."""
    async with services.sessionmaker() as session:
        family = await session.get(Family, family_id)
        if family is None:
            raise NotFound()
        names = [
            c.name for c in await open_children(session, services.keyring, family_ids=[family_id])
        ]
        if replaces is not None:
            await returned_item(session, actor, family_id, replaces)
    channels = set(family.channels or [])
    why_not = None
    if family.status is FamilyStatus.PAUSED:
        why_not = "Sending is paused for now. The centre will tell you when you can send again."
    elif family.status is FamilyStatus.CLOSED:
        why_not = "Contact through Letterbox has ended for your family. You cannot send any more."
    elif Channel.LETTERS.value not in channels:
        why_not = "Your family's plan from the centre has no letters in it."
    original = await sent_item(services, actor, family_id, replaces) if replaces else None
    return WritePage(
        family_id=family_id,
        children_text=" and ".join(names) if names else "your family",
        may_send=why_not is None,
        why_not=why_not,
        may_attach=Channel.PHOTOS.value in channels,
        text=original.text if original else "",
        replaces=original,
    )
