"""The parent's view: the status of what they sent, and the child's delivered replies.

A parent sees only their own items' statuses and the delivered copies of replies. Anything not
delivered, and anything of another family, answers exactly like an id that does not exist.
Nothing staff-only (scanner hits, removed metadata, reasons for rejection, moderators) leaves
this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime, tzinfo
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import statuses
from service.appkeys import KEYRING, SETTINGS
from service.errors import NotFound
from service.http.access import Actor
from service.i18n import _
from service.letterbox.gifts import gifts_for_parent
from service.letterbox.moderation import RETURN_PURPOSE, delivered_parts
from service.localtime import day_in_words
from storage.db import rows_connection
from storage.directread import DirectRead
from storage.models import Direction, Item, ItemKind, ItemPart, ItemStatus, PartKind

DELIVERED = (ItemStatus.APPROVED, ItemStatus.OPENED)

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "text/plain; charset=utf-8": "txt"}


class ItemFacts(Protocol):
    """What a parent's view of an item reads: an ``Item``, or a row of the overview query."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def family_id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> ItemKind: ...
    @property
    def direction(self) -> Direction: ...
    @property
    def status(self) -> ItemStatus: ...
    @property
    def submitted_at(self) -> datetime | None: ...
    @property
    def opened_at(self) -> datetime | None: ...
    @property
    def return_message_sealed(self) -> bytes | None: ...


def parent_status(item: ItemFacts, zone: tzinfo) -> tuple[statuses.ParentStatus, str]:
    """(code, words) a parent sees, from the one vocabulary (service.statuses)."""
    code = statuses.parent_status(item.status)
    words = statuses.PARENT_WORDS[code].words
    if code is statuses.ParentStatus.OPENED and item.opened_at is not None:
        words = _("Opened on {day}").format(day=day_in_words(item.opened_at, zone))
    return code, words


def _visible(actor: Actor) -> Any:
    return _visible_to(actor.user_id)


def _visible_to(user_id: Any) -> Any:
    """A parent's own items, and delivered replies. ``user_id``: a value or a bindparam."""
    return or_(
        (Item.direction == Direction.TO_CHILD) & (Item.sender_id == user_id),
        # Comparisons, not IN: an IN list is expanded anew at every execution.
        (Item.direction == Direction.TO_PARENT)
        & or_(*(Item.status == status for status in DELIVERED)),
    )


async def visible_item(
    session: AsyncSession, actor: Actor, family_id: uuid.UUID, item_id: uuid.UUID
) -> Item:
    item = await session.scalar(
        select(Item).where(Item.id == item_id, Item.family_id == family_id, _visible(actor))
    )
    if item is None:
        raise NotFound()
    return item


async def item_view(
    app: web.Application, session: AsyncSession, actor: Actor, item: ItemFacts
) -> dict[str, Any]:
    return await _with_contents(app, session, item, _item_words(item, app[SETTINGS].zone))


def _item_words(item: ItemFacts, zone: tzinfo) -> dict[str, Any]:
    """What a list of items shows of one: no decryption, so no await."""
    code, words = parent_status(item, zone)
    return {
        "item_id": str(item.id),
        # The members themselves: string enums, written to JSON as their values.
        "kind": item.kind,
        "direction": item.direction,
        "status": code,
        "status_text": words,
        "submitted_on": day_in_words(item.submitted_at, zone),
        "opened_on": day_in_words(item.opened_at, zone),
    }


def _has_contents(item: ItemFacts) -> bool:
    """Whether the view of ``item`` carries something sealed: a returned letter's message, or a
    delivered reply (a list skips the await for the rest)."""
    if item.direction is Direction.TO_CHILD:
        return item.status is ItemStatus.RETURNED and item.return_message_sealed is not None
    return True


async def _with_contents(
    app: web.Application, session: AsyncSession, item: ItemFacts, view: dict[str, Any]
) -> dict[str, Any]:
    if item.direction is Direction.TO_CHILD:
        if _has_contents(item) and item.return_message_sealed is not None:
            view["return_message"] = (
                await app[KEYRING].open_for_family(
                    session, item.family_id, item.return_message_sealed, RETURN_PURPOSE
                )
            ).decode("utf-8")
        return view
    # A delivered reply: its delivered copy, and nothing else.
    text, parts = await delivered_parts(app, session, item.id)
    view["text"] = text
    view["files"] = [
        {
            "part_id": str(part.id),
            "kind": part.kind.value,
            "download_url": f"/api/items/{item.id}/parts/{part.id}/download",
            "view_url": f"/api/items/{item.id}/parts/{part.id}/view"
            if part.kind is not PartKind.TEXT
            else None,
        }
        for part in parts
    ]
    return view


# Built once, with the family and the parent as parameters: every letterbox view runs it.
# Plain columns, not ORM objects: the view only reads them.
_OVERVIEW = DirectRead(
    select(
        Item.id,
        Item.family_id,
        Item.kind,
        Item.direction,
        Item.status,
        Item.submitted_at,
        Item.opened_at,
        Item.return_message_sealed,
    )
    .where(Item.family_id == bindparam("family_id"), _visible_to(bindparam("user_id")))
    .order_by(Item.submitted_at.desc(), Item.id)
)


async def overview(
    app: web.Application, session: AsyncSession, actor: Actor, family_id: uuid.UUID
) -> dict[str, Any]:
    # On the session's connection: plain rows, without the ORM's result machinery (on
    # PostgreSQL without SQLAlchemy's per-execution work: storage.directread).
    connection = await rows_connection(session)
    items = await _OVERVIEW.rows(connection, {"family_id": family_id, "user_id": actor.user_id})
    zone = app[SETTINGS].zone
    views = [(item, _item_words(item, zone)) for item in items]
    for item, view in views:
        if _has_contents(item):
            await _with_contents(app, session, item, view)
    sent = [view for item, view in views if item.direction is Direction.TO_CHILD]
    replies = [view for item, view in views if item.direction is Direction.TO_PARENT]
    return {
        "family_id": str(family_id),
        "items": sent,
        "replies": replies,
        "gifts": await gifts_for_parent(app, session, family_id, actor.user_id),
    }


async def delivered_part(
    session: AsyncSession,
    actor: Actor,
    family_id: uuid.UUID,
    item_id: uuid.UUID,
    part_id: uuid.UUID,
) -> tuple[ItemPart, str]:
    """A delivered part of a delivered reply, with a download file name."""
    item = await visible_item(session, actor, family_id, item_id)
    if item.direction is not Direction.TO_PARENT:
        raise NotFound()
    part = await session.get(ItemPart, part_id)
    if part is None or part.item_id != item.id or part.delivered_object_id is None:
        raise NotFound()
    extension = _EXTENSIONS.get(part.media_type, "bin")
    return part, f"reply-{item.submitted_at:%Y-%m-%d}-{part.position + 1}.{extension}"
